//! What infra must route to each function and grant it, derived from the rules: one source of
//! truth for the EventBridge patterns and the IAM roles (both checked against infra/ by tests).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Handler, RuleSet};

/// The IAM permissions each function's actions need, sorted.
pub fn permissions(rules: &RuleSet) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut out: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for h in Handler::FUNCTIONS {
        out.insert(h.name(), BTreeSet::new());
    }
    for rule in rules.rules() {
        for dt in rule.detail_types() {
            let handler = Handler::for_detail_type(dt);
            if handler == Handler::Unhandled {
                continue;
            }
            let set = out.entry(handler.name()).or_default();
            for kind in &rule.actions {
                set.extend(kind.permissions());
            }
        }
    }
    for set in out.values_mut() {
        set.extend(STATE_GRANT.actions);
    }
    if let Some(set) = out.get_mut(Handler::Securityhub.name()) {
        set.extend(crate::writeback::GRANT.actions);
    }
    if let Some(set) = out.get_mut(crate::publish::PUBLISHER.name()) {
        set.extend(crate::publish::GRANT.actions);
    }
    if let Some(set) = out.get_mut(crate::lookup::LOOKER.name()) {
        set.extend(crate::lookup::GRANT.actions);
    }
    out
}

/// What every function needs of the state table ([`crate::state`]): conditional updates, on
/// the stack's table only, on its own keys only (`dynamodb:LeadingKeys`,
/// [`crate::state::leading_keys`]). Not an action's grant: it is the same for every function.
pub const STATE_GRANT: crate::action::Grant = crate::action::Grant {
    actions: &["dynamodb:UpdateItem"],
    resources: &[
        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${StateTable}",
    ],
    condition: crate::action::Condition::None,
};

/// The name `mamoru permissions --grants` gives the state grant's condition: its
/// `leading_keys` are the only key patterns the function may write.
pub const LEADING_KEYS: &str = "leading_keys";

/// The permissions each function needs only for containment actions
/// ([`crate::action::ActionKind::is_containment`]): infra/ grants them only with
/// `Containment=on`. Every other permission of [`permissions`] is always granted.
pub fn containment_permissions(rules: &RuleSet) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut always: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    let mut contain: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for h in Handler::FUNCTIONS {
        always.insert(h.name(), BTreeSet::new());
        contain.insert(h.name(), BTreeSet::new());
    }
    for rule in rules.rules() {
        for dt in rule.detail_types() {
            let handler = Handler::for_detail_type(dt);
            if handler == Handler::Unhandled {
                continue;
            }
            for kind in &rule.actions {
                let set = if kind.is_containment() {
                    contain.entry(handler.name()).or_default()
                } else {
                    always.entry(handler.name()).or_default()
                };
                set.extend(kind.permissions());
            }
        }
    }
    for (h, set) in contain.iter_mut() {
        if let Some(a) = always.get(h) {
            set.retain(|p| !a.contains(p));
        }
    }
    contain
}

/// One statement a function's role needs: IAM actions on resources (the template's `Fn::Sub`
/// form), under a condition, for the actions named in `by`. Containment statements are granted
/// only with `Containment=on`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Statement {
    pub action: &'static str,
    pub resources: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<&'static str>,
    /// With the [`LEADING_KEYS`] condition: the key patterns the statement allows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leading_keys: Vec<String>,
    pub containment: bool,
    /// The template condition the statement is granted under, beside containment (a stack
    /// parameter that turns a feature on: `PublishFindingsOn`); `None`: always.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<&'static str>,
    pub by: BTreeSet<&'static str>,
}

/// The grants each function's actions declare, resource scopes and conditions included, one
/// entry per (IAM action, resources, condition): the statements infra/ must hold, exactly.
/// An IAM action granted by a non-containment action is never containment-only.
pub fn grants(rules: &RuleSet) -> BTreeMap<&'static str, Vec<Statement>> {
    type Key = (&'static str, Vec<&'static str>, Option<&'static str>);
    let mut per: BTreeMap<&'static str, BTreeMap<Key, Statement>> = BTreeMap::new();
    for h in Handler::FUNCTIONS {
        per.insert(h.name(), BTreeMap::new());
    }
    for rule in rules.rules() {
        for dt in rule.detail_types() {
            let handler = Handler::for_detail_type(dt);
            if handler == Handler::Unhandled {
                continue;
            }
            let map = per.entry(handler.name()).or_default();
            for kind in &rule.actions {
                for g in kind.def().grants() {
                    let condition = match g.condition {
                        crate::action::Condition::None => None,
                        crate::action::Condition::StackRegion => Some("stack_region"),
                        crate::action::Condition::DomainsRegion => Some("domains_region"),
                    };
                    for action in g.actions {
                        let key = (*action, g.resources.to_vec(), condition);
                        let st = map.entry(key).or_insert_with(|| Statement {
                            action,
                            resources: g.resources.to_vec(),
                            condition,
                            leading_keys: Vec::new(),
                            containment: true,
                            when: None,
                            by: BTreeSet::new(),
                        });
                        st.containment &= kind.is_containment();
                        st.by.insert(kind.name());
                    }
                }
            }
        }
    }
    per.into_iter()
        .map(|(h, m)| {
            let mut v: Vec<Statement> = m.into_values().collect();
            for action in STATE_GRANT.actions {
                v.push(Statement {
                    action,
                    resources: STATE_GRANT.resources.to_vec(),
                    condition: Some(LEADING_KEYS),
                    leading_keys: crate::state::leading_keys(h),
                    containment: false,
                    when: None,
                    by: BTreeSet::from(["state"]),
                });
            }
            // The securityhub function writes back to the findings it decides, in its own hub.
            if h == Handler::Securityhub.name() {
                for action in crate::writeback::GRANT.actions {
                    v.push(Statement {
                        action,
                        resources: crate::writeback::GRANT.resources.to_vec(),
                        condition: None,
                        leading_keys: Vec::new(),
                        containment: false,
                        when: None,
                        by: BTreeSet::from(["write_back"]),
                    });
                }
            }
            // The cloudtrail function imports its detections into its own account's default
            // product, when the stack parameter PublishFindings is on.
            if h == crate::publish::PUBLISHER.name() {
                for action in crate::publish::GRANT.actions {
                    v.push(Statement {
                        action,
                        resources: crate::publish::GRANT.resources.to_vec(),
                        condition: None,
                        leading_keys: Vec::new(),
                        containment: false,
                        when: Some(crate::publish::PARAMETER_CONDITION),
                        by: BTreeSet::from(["publish_findings"]),
                    });
                }
            }
            // The cloudtrail function looks up whether a deleted KMS key or log group was a
            // trail's or a flow log's, in the account that owns it (the member role's too).
            if h == crate::lookup::LOOKER.name() {
                for action in crate::lookup::GRANT.actions {
                    v.push(Statement {
                        action,
                        resources: crate::lookup::GRANT.resources.to_vec(),
                        condition: None,
                        leading_keys: Vec::new(),
                        containment: false,
                        when: None,
                        by: BTreeSet::from([crate::lookup::BY]),
                    });
                }
            }
            // An IAM action any non-containment action needs is always granted.
            let always: BTreeSet<&str> = v
                .iter()
                .filter(|s| !s.containment)
                .map(|s| s.action)
                .collect();
            for s in &mut v {
                if always.contains(s.action) {
                    s.containment = false;
                }
            }
            (h, v)
        })
        .collect()
}

/// The events a function's rules can react to.
#[derive(Debug, Default, Serialize)]
pub struct Routes {
    pub detail_types: BTreeSet<String>,
    /// For CloudTrail-delivered events: eventSource -> eventNames (`*` when a rule takes any).
    pub cloudtrail_calls: BTreeMap<String, BTreeSet<String>>,
    /// Sigma rules (`sigma:<id>`) that select on other fields than eventSource and eventName:
    /// only a route of every CloudTrail call reaches them, which the routes above do not give.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub needs_broad_route: BTreeSet<String>,
    /// Read-only calls (rules with `match.read_only`): eventSource -> eventNames. EventBridge
    /// delivers them only to a rule in the state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`,
    /// which the stack creates only with `ReadOnlyEvents=on`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub read_only_calls: BTreeMap<String, BTreeSet<String>>,
}

pub fn routes(rules: &RuleSet) -> BTreeMap<&'static str, Routes> {
    let mut out: BTreeMap<&'static str, Routes> = BTreeMap::new();
    for rule in rules.rules() {
        for dt in rule.detail_types() {
            let handler = Handler::for_detail_type(dt);
            if handler == Handler::Unhandled {
                continue;
            }
            let r = out.entry(handler.name()).or_default();
            r.detail_types.insert(dt.clone());
            if handler == Handler::Cloudtrail
                && dt == crate::event::DT_CLOUDTRAIL_CALL
                && let Some(route) = &rule.sigma_route
            {
                match route {
                    super::sigma::Route::Calls(pairs) => {
                        for (src, name) in pairs {
                            r.cloudtrail_calls
                                .entry(src.clone())
                                .or_default()
                                .insert(name.clone());
                        }
                    }
                    super::sigma::Route::Broad => {
                        r.needs_broad_route.insert(rule.id.clone());
                    }
                }
            } else if handler == Handler::Cloudtrail && dt == crate::event::DT_CLOUDTRAIL_CALL {
                let sources: Vec<String> = if rule.event_sources().is_empty() {
                    vec!["*".to_string()]
                } else {
                    rule.event_sources().to_vec()
                };
                let calls = if rule.read_only {
                    &mut r.read_only_calls
                } else {
                    &mut r.cloudtrail_calls
                };
                for src in sources {
                    let names = calls.entry(src).or_default();
                    if rule.event_names().is_empty() {
                        names.insert("*".to_string());
                    } else {
                        names.extend(rule.event_names());
                    }
                }
            }
        }
    }
    out
}
