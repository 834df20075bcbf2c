//! The pure decision engine: `(event, rules, settings) -> Plan`. No I/O, no clock.

pub mod cases;
pub mod details;
pub mod facts;
pub mod refs;
pub mod resource;
pub mod routing;
pub mod rules;
pub mod severity;
pub mod sigma;
pub mod template;

use serde::Serialize;

pub use facts::{Principal, Signal};
pub use refs::Refs;
pub use resource::Resource;
pub use rules::{Match, Rule, RuleError, RuleMode, RuleSet, SeveritySpec, Subject};
pub use severity::{Band, Severity};

use crate::action::Action;
use crate::event::{
    DT_CLOUDTRAIL_CALL, DT_CONFIG_COMPLIANCE_CHANGE, DT_CONFIG_ITEM_CHANGE, DT_CONSOLE_SIGN_IN,
    DT_GUARDDUTY_FINDING, DT_MALWARE_OBJECT_SCAN_RESULT, DT_MALWARE_POST_SCAN_ACTION_FAILED,
    DT_RUNTIME_PROTECTION_UNHEALTHY, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED,
    DT_SECURITYHUB_V2, Event, EventKind,
};
use crate::settings::Settings;

/// Which function handles an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Handler {
    Guardduty,
    Cloudtrail,
    Config,
    Securityhub,
    Unhandled,
}

impl Handler {
    /// The function that handles a detail-type.
    pub fn for_detail_type(detail_type: &str) -> Handler {
        match detail_type {
            DT_GUARDDUTY_FINDING
            | DT_MALWARE_OBJECT_SCAN_RESULT
            | DT_RUNTIME_PROTECTION_UNHEALTHY
            | DT_MALWARE_POST_SCAN_ACTION_FAILED => Handler::Guardduty,
            DT_CLOUDTRAIL_CALL | DT_CONSOLE_SIGN_IN => Handler::Cloudtrail,
            DT_CONFIG_ITEM_CHANGE | DT_CONFIG_COMPLIANCE_CHANGE => Handler::Config,
            DT_SECURITYHUB_IMPORTED | DT_SECURITYHUB_CUSTOM_ACTION | DT_SECURITYHUB_V2 => {
                Handler::Securityhub
            }
            _ => Handler::Unhandled,
        }
    }

    /// The detail-types this function handles.
    pub fn detail_types(self) -> &'static [&'static str] {
        match self {
            Handler::Guardduty => &[
                DT_GUARDDUTY_FINDING,
                DT_MALWARE_OBJECT_SCAN_RESULT,
                DT_RUNTIME_PROTECTION_UNHEALTHY,
                DT_MALWARE_POST_SCAN_ACTION_FAILED,
            ],
            Handler::Cloudtrail => &[DT_CLOUDTRAIL_CALL, DT_CONSOLE_SIGN_IN],
            Handler::Config => &[DT_CONFIG_ITEM_CHANGE, DT_CONFIG_COMPLIANCE_CHANGE],
            Handler::Securityhub => &[
                DT_SECURITYHUB_IMPORTED,
                DT_SECURITYHUB_CUSTOM_ACTION,
                DT_SECURITYHUB_V2,
            ],
            Handler::Unhandled => &[],
        }
    }

    /// The functions, in the order the stack lists them.
    pub const FUNCTIONS: [Handler; 4] = [
        Handler::Guardduty,
        Handler::Cloudtrail,
        Handler::Config,
        Handler::Securityhub,
    ];

    /// The function named `name` ([`Handler::name`]), among [`Handler::FUNCTIONS`].
    pub fn from_name(name: &str) -> Option<Handler> {
        Handler::FUNCTIONS.into_iter().find(|h| h.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Handler::Guardduty => "guardduty",
            Handler::Cloudtrail => "cloudtrail",
            Handler::Config => "config",
            Handler::Securityhub => "securityhub",
            Handler::Unhandled => "unhandled",
        }
    }
}

/// What mamoru does with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// At least one action runs (or, in dry-run, would run).
    Remediate,
    /// Notify only.
    Notify,
    /// Nothing to do: no notification, no action.
    Ignore,
    /// The event could not be parsed (CLI reports only; functions return an error).
    Error,
}

/// A planned action and the rule that asked for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planned {
    #[serde(flatten)]
    pub action: Action,
    pub rule_id: String,
    /// From a rule in shadow mode: reported as "would have", never executed.
    pub shadow: bool,
    /// From a rule that takes it out of the remediation budgets (`response.budget = false`):
    /// an action that is always safe to repeat, such as restarting a trail.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unbudgeted: bool,
}

/// An action a rule asked for that mamoru will not take, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Withheld {
    pub action: String,
    pub rule_id: String,
    pub reason: String,
}

/// The decision for one event: what it means and what to do. Data only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub event_id: String,
    pub handler: Handler,
    pub event_kind: String,
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub disposition: Disposition,
    pub severity: Severity,
    /// A short headline: what happened.
    pub title: String,
    /// Why this disposition, in a sentence or two.
    pub reason: String,
    pub rule_ids: Vec<String>,
    pub actions: Vec<Planned>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// Whether a notification goes out.
    pub notify: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// The resource the event is about (trail, key, detector, group…), typed: notifications
    /// format it with [`Resource::label`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// What the event says happened, in its own words (a finding's description, a compliance
    /// transition, the changed properties of a configuration item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runbook: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    /// Identifiers the event names (finding, CloudTrail record, trail, IAM user), for links.
    #[serde(skip_serializing_if = "Refs::is_empty")]
    pub refs: Refs,
    /// What the alert names beyond the principal and the resource (an attack sequence's
    /// signals and resources, a runtime finding's process, …), one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<details::Detail>,
    /// Threshold rules the event matched that have not (yet) reached their threshold: the
    /// responder counts the event towards each ([`crate::state::Store::tally`]) and decides
    /// again with those that it brought to their threshold ([`decide_crossed`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<Pending>,
}

/// One count a threshold rule asks of the state store for this event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pending {
    pub rule_id: String,
    /// What the rule counts by (a principal's ARN, an account, a field's value).
    pub by: String,
    /// The distinct values this event adds (each element of a list; none: the rule counts
    /// events).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    pub count: u64,
    /// The window's length in seconds, and its text (`10m`).
    pub window: i64,
    pub window_text: String,
    /// What is counted, for people: `distinct detail.requestParameters.secretId` or `calls`.
    pub counted: String,
    /// The event time (Unix seconds), when the event has one: the window it falls in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl Pending {
    fn of(rule: &rules::Rule, t: &rules::Threshold, s: &Subject<'_>) -> Pending {
        let text = |v: Option<serde_json::Value>| match v {
            Some(serde_json::Value::String(v)) => v,
            Some(serde_json::Value::Null) | None => "(none)".to_string(),
            Some(v) => v.to_string(),
        };
        let by = match &t.by {
            // A role's sessions count as the role: the session name is the caller's to choose,
            // and a new one per call must not start a new count.
            rules::By::Principal => s
                .principal
                .as_ref()
                .and_then(|p| p.issuer_arn.clone().or_else(|| p.arn.clone()))
                .unwrap_or_else(|| "(unknown principal)".to_string()),
            rules::By::Account => s.event.owner_account().to_string(),
            rules::By::Field(p) => text(s.field(p)),
        };
        Pending {
            rule_id: rule.id.clone(),
            by,
            members: match t.distinct.as_ref().map(|p| s.field(p)) {
                None => Vec::new(),
                Some(Some(serde_json::Value::Array(items))) if !items.is_empty() => {
                    items.into_iter().map(|v| text(Some(v))).collect()
                }
                Some(v) => vec![text(v)],
            },
            count: t.count,
            window: t.window,
            window_text: t.window_text(),
            counted: t.distinct.as_ref().map_or_else(
                || "calls".to_string(),
                |p| format!("distinct {}", p.join(".")),
            ),
            at: s
                .event
                .time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp()),
        }
    }
}

impl Plan {
    /// Masks secrets in every text the plan took from the event, so that nothing downstream
    /// (notification, audit log, CLI) can leak them. Action parameters are identifiers AWS
    /// accepted and are kept as they are.
    fn mask_secrets(&mut self) {
        use crate::redact::text_in_place;
        for s in [&mut self.title, &mut self.reason, &mut self.event_kind] {
            text_in_place(s);
        }
        for s in [&mut self.description, &mut self.time]
            .into_iter()
            .flatten()
        {
            text_in_place(s);
        }
        for s in self.resource.iter_mut().flat_map(Resource::texts_mut) {
            text_in_place(s);
        }
        if let Some(p) = &mut self.principal {
            for s in [
                &mut p.kind,
                &mut p.arn,
                &mut p.issuer_arn,
                &mut p.name,
                &mut p.access_key_id,
                &mut p.source_ip,
                &mut p.user_agent,
            ]
            .into_iter()
            .flatten()
            {
                text_in_place(s);
            }
        }
        for w in &mut self.withheld {
            text_in_place(&mut w.reason);
        }
        for d in &mut self.details {
            text_in_place(&mut d.value);
        }
    }

    fn base(event: &Event, handler: Handler) -> Plan {
        Plan {
            event_id: event.id.clone(),
            handler,
            event_kind: event.kind_name(),
            detail_type: event.detail_type.clone(),
            source: event.source.clone(),
            account: event.owner_account().to_string(),
            region: event.region.clone(),
            time: event.time.clone(),
            disposition: Disposition::Ignore,
            severity: Severity::default(),
            title: String::new(),
            reason: String::new(),
            rule_ids: Vec::new(),
            actions: Vec::new(),
            withheld: Vec::new(),
            notify: false,
            principal: None,
            resource: Resource::of(event),
            description: description_of(event),
            runbook: Vec::new(),
            signals: Vec::new(),
            refs: Refs::of(event),
            details: details::details_of(event),
            thresholds: Vec::new(),
        }
    }

    fn ignore(mut self, reason: impl Into<String>) -> Plan {
        self.disposition = Disposition::Ignore;
        self.notify = false;
        self.reason = reason.into();
        self
    }
}

/// What the event says happened, for people.
fn description_of(event: &Event) -> Option<String> {
    match &event.kind {
        EventKind::GuardDutyFinding(f) => f
            .sequence()
            .and_then(|s| s.description.clone())
            .or_else(|| f.description.clone())
            .or_else(|| f.title.clone()),
        EventKind::GuardDutyService(s) => Some(match s.as_ref() {
            crate::event::ServiceEvent::ObjectScanResult(r) => format!(
                "Malware Protection for S3 scanned an object: {}",
                r.scan_result_details.scan_result_status
            ),
            crate::event::ServiceEvent::RuntimeProtectionHealth(h) => format!(
                "Runtime Monitoring coverage is {}",
                h.current_status.as_deref().unwrap_or("unknown")
            ),
            crate::event::ServiceEvent::PostScanActionFailed(_) => {
                "Malware Protection for S3 could not complete an action on an object it scanned"
                    .to_string()
            }
        }),
        EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c) => {
            let mut s = format!("{} called {}", c.event_source, c.event_name);
            // What the call set: for changes (UpdateTrail, PutEventSelectors, …) this is what
            // changed. Bounded; secrets are masked with the rest of the plan.
            if let serde_json::Value::Object(params) = &c.request_parameters
                && !params.is_empty()
            {
                // Mask by member name before the value becomes text (a password member
                // cannot be recognised once it is part of a string).
                let mut shown = serde_json::Value::Object(params.clone());
                crate::redact::value(&mut shown);
                let mut text = shown.to_string();
                if text.len() > 400 {
                    let mut cut = 397;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                    text.push_str("...");
                }
                s.push_str(" with ");
                s.push_str(&text);
            }
            if let Some(code) = &c.error_code {
                s.push_str(&format!("; it failed with {code}"));
            }
            Some(s)
        }
        EventKind::ConfigComplianceChange(c) => Some(format!(
            "Config rule {} changed from {} to {} for {} {}",
            c.config_rule_name,
            c.old_compliance().unwrap_or("(none)"),
            c.new_compliance(),
            c.evaluated_resource_type().unwrap_or("resource"),
            c.evaluated_resource_id().unwrap_or("?")
        )),
        EventKind::ConfigItemChange(c) => {
            let changed: Vec<&str> = c
                .configuration_item_diff
                .iter()
                .flat_map(|d| d.changed_properties.keys())
                .map(String::as_str)
                .take(10)
                .collect();
            let kind = c
                .configuration_item_diff
                .as_ref()
                .and_then(|d| d.change_type.as_deref())
                .unwrap_or("change");
            Some(if changed.is_empty() {
                format!("configuration item {kind}")
            } else {
                format!("configuration item {kind}: {}", changed.join(", "))
            })
        }
        EventKind::SecurityHub(sh) => {
            let f = sh.finding()?;
            let what = f.description.clone().or_else(|| f.title.clone())?;
            Some(match f.remediation_url() {
                Some(url) => format!("{what} Remediation: {url}"),
                None => what,
            })
        }
        EventKind::SecurityHubOcsf(sh) => {
            let f = sh.finding()?;
            let info = &f.finding_info;
            let what = info.desc.clone().or_else(|| info.title.clone())?;
            Some(match f.remediation_url() {
                Some(url) => format!("{what} Remediation: {url}"),
                None => what,
            })
        }
        EventKind::Unhandled => None,
    }
}

/// Decides what an event means and what to do about it.
///
/// `handler` is the function deciding: an event of a detail-type it does not handle is
/// `unhandled` and ignored. Pass `None` to route by detail-type (the CLI does).
pub fn decide(
    event: &Event,
    handler: Option<Handler>,
    rules: &RuleSet,
    settings: &Settings,
) -> Plan {
    decide_crossed(event, handler, rules, settings, &[])
}

/// [`decide`], with the threshold rules in `crossed` taken as reached by this event: they match
/// like any rule. Every other threshold rule that matches the event is left out of the decision
/// and listed in [`Plan::thresholds`], to be counted.
pub fn decide_crossed(
    event: &Event,
    handler: Option<Handler>,
    rules: &RuleSet,
    settings: &Settings,
    crossed: &[String],
) -> Plan {
    let mut plan = decide_unmasked(event, handler, rules, settings, crossed);
    plan.mask_secrets();
    plan
}

fn decide_unmasked(
    event: &Event,
    handler: Option<Handler>,
    rules: &RuleSet,
    settings: &Settings,
    crossed: &[String],
) -> Plan {
    let routed = Handler::for_detail_type(&event.detail_type);
    let handler = match handler {
        Some(h) if h == routed => h,
        Some(h) => {
            return Plan::base(event, Handler::Unhandled).ignore(format!(
                "detail-type `{}` is not handled by the {} function",
                event.detail_type,
                h.name()
            ));
        }
        None => routed,
    };
    let mut plan = Plan::base(event, handler);
    if handler == Handler::Unhandled || matches!(event.kind, EventKind::Unhandled) {
        return plan.ignore(format!(
            "detail-type `{}` is not handled",
            event.detail_type
        ));
    }

    // Only the AWS services' own events: a GuardDuty finding comes from aws.guardduty, a Config
    // event from aws.config, a CloudTrail record from an aws.* source (EventBridge refuses
    // PutEvents with an aws.* source, so these cannot be forged by a caller of PutEvents).
    let expected_source = match event.detail_type.as_str() {
        DT_GUARDDUTY_FINDING
        | DT_MALWARE_OBJECT_SCAN_RESULT
        | DT_RUNTIME_PROTECTION_UNHEALTHY
        | DT_MALWARE_POST_SCAN_ACTION_FAILED => event.source == "aws.guardduty",
        DT_CONFIG_ITEM_CHANGE | DT_CONFIG_COMPLIANCE_CHANGE => event.source == "aws.config",
        DT_SECURITYHUB_IMPORTED | DT_SECURITYHUB_CUSTOM_ACTION | DT_SECURITYHUB_V2 => {
            event.source == "aws.securityhub"
        }
        _ => event.source.starts_with("aws."),
    };
    if !expected_source {
        return plan.ignore(format!(
            "source `{}` is not the AWS source of `{}` events: refused",
            event.source, event.detail_type
        ));
    }

    let mut subject = Subject::new(event);
    subject.sigma = rules.sigma_matches(event);
    if let Some(call) = event.cloudtrail()
        && facts::names_own_resource(call, &settings.self_resources)
    {
        subject.signals.push(Signal::OwnResource);
    }
    if let Some(call) = event.cloudtrail()
        && facts::added_shares(call).is_some_and(|s| {
            s.accounts
                .iter()
                .any(|a| !settings.is_trusted_account(a, event.owner_account()))
        })
    {
        subject.signals.push(Signal::SharedOutside);
    }
    if let Some(call) = event.cloudtrail()
        && facts::trusted_principals(call).is_some_and(|t| {
            t.conditional_everyone
                || t.accounts
                    .iter()
                    .any(|a| !settings.is_trusted_account(a, event.owner_account()))
        })
    {
        subject.signals.push(Signal::TrustsOutside);
    }
    if let Some(call) = event.cloudtrail()
        && facts::bucket_grants(call).is_some_and(|g| {
            g.conditional_public
                || g.accounts
                    .iter()
                    .any(|a| !settings.is_trusted_account(a, event.owner_account()))
        })
    {
        subject.signals.push(Signal::BucketSharedOutside);
    }
    plan.principal = subject.principal.clone();
    plan.signals = subject.signals.clone();

    // Guards no rule can lift. Only the restoring calls mamoru's own actions make are ignored
    // when its roles make them; anything else made with those roles is a stolen session until
    // shown otherwise, and is decided like any call, then raised to Critical below.
    let made_by_self = self_role(event, settings);
    if let Some(role) = made_by_self
        && event
            .cloudtrail()
            .is_some_and(crate::action::is_restoring_call)
    {
        return plan.ignore(format!(
            "the call is one of mamoru's own restoring calls, made with its role {role}"
        ));
    }
    let finding = match &event.kind {
        EventKind::GuardDutyFinding(f) => Some(f.as_ref()),
        _ => None,
    };
    if finding.is_some_and(|f| f.service.archived) {
        return plan.ignore("the finding is archived");
    }
    let approved = match &event.kind {
        EventKind::SecurityHub(sh) => match securityhub_guard(event, sh, settings) {
            Ok(approved) => approved,
            Err(reason) => return plan.ignore(reason),
        },
        EventKind::SecurityHubOcsf(sh) => match ocsf_guard(sh) {
            Ok(()) => false,
            Err(reason) => return plan.ignore(reason),
        },
        _ => false,
    };

    // Rules.
    let mut severity: Option<Severity> = None;
    let mut floor: Option<Band> = None;
    let mut titles = Vec::new();
    let mut runbooks = Vec::new();
    let mut excepted = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut threshold_reasons: Vec<String> = Vec::new();
    for rule in rules.candidates(event, &subject.sigma) {
        match rule.matches(&subject) {
            Match::No => continue,
            Match::Excepted => {
                excepted.push(rule.id.clone());
                continue;
            }
            Match::Yes => {}
        }
        if let Some(t) = &rule.threshold {
            if crossed.contains(&rule.id) {
                let p = Pending::of(rule, t, &subject);
                threshold_reasons.push(format!(
                    "{} {} by {} within {} (rule {})",
                    p.count, p.counted, p.by, p.window_text, rule.id
                ));
            } else {
                plan.thresholds.push(Pending::of(rule, t, &subject));
                continue;
            }
        }
        plan.rule_ids.push(rule.id.clone());
        plan.notify |= rule.notify;
        let s = match rule.severity {
            SeveritySpec::FromEvent => rules::event_severity(event),
            SeveritySpec::Fixed(s) => s,
        };
        severity = Some(severity.map_or(s, |cur| cur.max(s)));
        if let Some(f) = rule.severity_floor {
            floor = Some(floor.map_or(f, |cur| cur.max(f)));
        }
        if let Some(t) = &rule.title_template {
            titles.push((s.score, t));
        }
        if let Some(r) = &rule.runbook_template {
            runbooks.push(r);
        }
        for kind in &rule.actions {
            for bound in kind.bind_all(event) {
                match bound.and_then(|action| kind.scope(action, settings)) {
                    Ok(action) => candidates.push(Candidate {
                        planned: Planned {
                            action,
                            rule_id: rule.id.clone(),
                            shadow: rule.mode == RuleMode::Shadow,
                            unbudgeted: !rule.budget,
                        },
                        own_min: rule.severity_min(),
                    }),
                    Err(why) => plan.withheld.push(Withheld {
                        action: kind.name().to_string(),
                        rule_id: rule.id.clone(),
                        reason: why,
                    }),
                }
            }
        }
    }
    if plan.rule_ids.is_empty() {
        let reason = if excepted.is_empty() {
            "no rule matched".to_string()
        } else {
            format!("an exception applies (rules {})", excepted.join(", "))
        };
        return plan.ignore(reason);
    }
    let mut sev = severity.unwrap_or_default();
    if let Some(f) = floor {
        sev = sev.at_least(f);
    }
    // The most severe rule's title names the event; ties go to the most specific (latest) rule.
    // Placeholders are filled with the final severity.
    titles.sort_by(|a, b| a.0.total_cmp(&b.0));
    let final_severity = match finding {
        Some(f) if f.is_sample() => Severity::from_band(Band::Info),
        _ => sev,
    };
    let resource = plan.resource.as_ref().map(Resource::label);
    plan.title = titles
        .pop()
        .map(|t| t.1.render(&subject, resource.as_deref(), final_severity))
        .unwrap_or_else(|| event.kind_name());
    for r in runbooks {
        let text = r.render(&subject, resource.as_deref(), final_severity);
        if !plan.runbook.contains(&text) {
            plan.runbook.push(text);
        }
    }
    let mut reasons = vec![format!("matched {}", plan.rule_ids.join(", "))];
    for t in threshold_reasons {
        reasons.push(format!("threshold reached by this event: {t}"));
    }
    if let Some(role) = made_by_self {
        sev = sev.at_least(Band::Critical);
        plan.title = format!("Made with mamoru's role: {}", plan.title);
        reasons.push(format!(
            "made with mamoru's role {role}, which only restores controls: investigate the role"
        ));
        plan.runbook.insert(
            0,
            format!(
                "This call was made with mamoru's own role {role}, which should only ever restore \
                 controls. Treat its sessions as stolen: find where they came from (CloudTrail, \
                 sourceIPAddress, the function's logs), revoke them, and redeploy the stack."
            ),
        );
    }

    // Guards that withhold remediation but keep the notification.
    let withhold = withhold_reason(event, finding);
    if finding.is_some_and(|f| f.is_sample()) {
        sev = Severity::from_band(Band::Info);
        plan.title = format!("Sample finding: {}", plan.title);
    }
    let mut withheld_now = Vec::new();
    for c in candidates {
        let why = withhold
            .clone()
            .or_else(|| settings.out_of_scope(&c.planned.action.account))
            .or_else(|| protected_target(&c.planned.action, &subject, settings))
            .or_else(|| {
                // A finding below the remediation threshold notifies only, unless the rule asking
                // for the action set its own severity bound (it matched, so the bound holds).
                let f = finding?;
                (c.own_min.is_none() && f.severity < settings.min_remediation_severity).then(|| {
                    format!(
                        "severity {:.1} is below MAMORU_MIN_REMEDIATION_SEVERITY {:.1}",
                        f.severity, settings.min_remediation_severity
                    )
                })
            });
        match why {
            Some(reason) => withheld_now.push(Withheld {
                action: c.planned.action.kind.name().to_string(),
                rule_id: c.planned.rule_id,
                reason,
            }),
            None => match plan
                .actions
                .iter_mut()
                .find(|p| p.action == c.planned.action)
            {
                // The same action from several rules runs once; enforce beats shadow.
                Some(existing) => existing.shadow &= c.planned.shadow,
                None => plan.actions.push(c.planned),
            },
        }
    }
    // An action another rule still takes is not reported as withheld.
    withheld_now.retain(|w| {
        !plan
            .actions
            .iter()
            .any(|p| p.action.kind.name() == w.action)
    });
    let mut why_withheld: Vec<String> = withhold.iter().cloned().collect();
    why_withheld.extend(withheld_now.iter().map(|w| w.reason.clone()));
    why_withheld.dedup();
    for w in why_withheld {
        reasons.push(format!("remediation withheld: {w}"));
    }
    plan.withheld.extend(withheld_now);
    if approved && plan.actions.iter().any(|a| a.shadow) {
        // A person chose mamoru's custom action on this finding in Security Hub: its opt-in
        // actions run once, as the mode of the owning account allows.
        for a in &mut plan.actions {
            a.shadow = false;
        }
        reasons.push(
            "approved in Security Hub with mamoru's custom action: opt-in actions run".to_string(),
        );
    }
    plan.severity = sev;
    plan.disposition = if plan.actions.iter().any(|a| !a.shadow) {
        Disposition::Remediate
    } else if plan.notify {
        Disposition::Notify
    } else {
        Disposition::Ignore
    };
    if plan.actions.iter().any(|a| a.shadow) {
        reasons.push("shadow-mode actions are reported, not executed".to_string());
    }
    plan.reason = reasons.join("; ");
    plan
}

/// The guards of the new Security Hub's (OCSF) events no rule can lift: one finding per decision;
/// findings suppressed, resolved, archived or deleted are not acted on again. mamoru's own
/// write-back coming back is recognised by the responder from what it recorded writing, as for
/// ASFF.
fn ocsf_guard(sh: &crate::event::OcsfEvent) -> Result<(), String> {
    let Some(f) = sh.finding() else {
        return Err(format!(
            "the event carries {} findings: each is decided on its own (the securityhub function splits them)",
            sh.findings.len()
        ));
    };
    if let Some(status) = f.closed() {
        return Err(format!("the finding's status is {status}"));
    }
    Ok(())
}

/// The guards of Security Hub events no rule can lift: one finding per decision; findings
/// resolved, suppressed or archived are not acted on again; mamoru's own published detections
/// ([`crate::publish::is_own_finding`]) are not decided again. `Ok(true)` when the event is
/// mamoru's custom action, which approves the finding's opt-in actions.
fn securityhub_guard(
    event: &Event,
    sh: &crate::event::SecurityHubEvent,
    settings: &Settings,
) -> Result<bool, String> {
    use crate::event::securityhub::ACTION_TARGET_ID;
    let Some(f) = sh.finding() else {
        return Err(format!(
            "the event carries {} findings: each is decided on its own (the securityhub function splits them)",
            sh.findings.len()
        ));
    };
    if f.archived() {
        return Err("the finding is archived".to_string());
    }
    // mamoru's own detection, imported by the cloudtrail function: the call was decided,
    // notified and acted on when it happened. Recognised by the product and the owning account
    // (the stack's own: only its principals can import there) and mamoru's generator.
    if let Some(hub) = settings.hub_account.as_deref()
        && crate::publish::is_own_finding(f, hub)
    {
        return Err(
            "the finding is mamoru's own detection, published to Security Hub by its cloudtrail function (default product of the stack's account): already decided and notified when the call happened"
                .to_string(),
        );
    }
    if event.detail_type == DT_SECURITYHUB_CUSTOM_ACTION {
        // Only mamoru's own action target approves; another custom action is not a request to
        // mamoru. The ARN's account and region are the hub's, not checked here.
        let ours = event.resources.iter().any(|r| {
            r.starts_with("arn:")
                && r.rsplit_once(":action/custom/")
                    .is_some_and(|(_, id)| id == ACTION_TARGET_ID)
        });
        if !ours {
            return Err(format!(
                "custom action is not mamoru's ({ACTION_TARGET_ID}): not a request to mamoru"
            ));
        }
        return Ok(true);
    }
    if let Some(s @ ("RESOLVED" | "SUPPRESSED")) = f.workflow_status() {
        return Err(format!("the finding's workflow status is {s}"));
    }
    // mamoru's own write-back coming back is recognised by the responder from what it recorded
    // writing (crate::writeback::echo_key), never from the note: anyone allowed
    // BatchUpdateFindings can write a note naming mamoru.
    Ok(false)
}

/// An action a matching rule asks for, before the guards.
struct Candidate {
    planned: Planned,
    /// The asking rule's own lower severity bound, if it set one.
    own_min: Option<f64>,
}

/// Whether a function's decisions can use mamoru's own role ARNs (`Settings::self_role_arns`).
/// The self-call guard ([`self_role`]) reads the caller of CloudTrail-delivered events only, so
/// only the function handling those needs to learn its own role at start-up (one
/// `sts:GetCallerIdentity`); the others skip that call.
pub fn uses_self_roles(handler: Handler) -> bool {
    handler
        .detail_types()
        .iter()
        .any(|dt| matches!(*dt, DT_CLOUDTRAIL_CALL | DT_CONSOLE_SIGN_IN))
}

/// The role ARN, when the event was made by mamoru itself. Only CloudTrail-delivered events
/// name their caller: keep [`uses_self_roles`] in step if that changes.
fn self_role<'s>(event: &Event, settings: &'s Settings) -> Option<&'s str> {
    let call = event.cloudtrail()?;
    let issuer = call
        .user_identity
        .session_context
        .session_issuer
        .arn
        .as_deref()?;
    if let Some(own) = settings
        .self_role_arns
        .iter()
        .find(|r| crate::settings::same_role(r, issuer))
    {
        return Some(own.as_str());
    }
    // The member role mamoru assumes in the organization's accounts: `role/mamoru/<name>` in
    // any account (the StackSet creates it in every member; the name is then taken there).
    let member = settings.member_role_name.as_deref()?;
    let parts: Vec<&str> = issuer.splitn(6, ':').collect();
    (parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5] == format!("role/mamoru/{member}"))
    .then_some("the organization's member role")
}

fn withhold_reason(event: &Event, finding: Option<&crate::event::Finding>) -> Option<String> {
    if finding.is_some_and(|f| f.is_sample()) {
        return Some("this is a sample finding".to_string());
    }
    if let Some(call) = event.cloudtrail()
        && !call.succeeded()
    {
        return Some(format!(
            "the call failed ({}): nothing changed",
            call.error_code.as_deref().unwrap_or("error")
        ));
    }
    None
}

/// Protection means "never act against this principal": an action on the principal itself (its
/// key, its sessions, its policies) is withheld; restoring a control it changed is not.
fn protected_target(action: &Action, subject: &Subject<'_>, settings: &Settings) -> Option<String> {
    use crate::action::Target;
    if settings.protected_principals.is_empty()
        || !matches!(
            action.target,
            Target::AccessKey { .. } | Target::User { .. } | Target::Role { .. }
        )
    {
        return None;
    }
    // The principal the action acts on, by its own ARN (paths do not count in the comparison):
    // an attack sequence names its users and roles only as resources, not as the finding's
    // principal.
    let partition = crate::notify::links::partition_of_region(&action.region);
    let own = match &action.target {
        Target::AccessKey { user_name, .. } | Target::User { user_name } => {
            format!("arn:{partition}:iam::{}:user/{user_name}", action.account)
        }
        Target::Role { role_name } => {
            format!("arn:{partition}:iam::{}:role/{role_name}", action.account)
        }
        _ => String::new(),
    };
    if settings.is_protected(&own) {
        return Some(format!(
            "principal {own} is protected (MAMORU_PROTECTED_PRINCIPALS)"
        ));
    }
    let p = subject.principal.as_ref()?;
    let arn = p.arns().find(|a| settings.is_protected(a))?;
    Some(format!(
        "principal {arn} is protected (MAMORU_PROTECTED_PRINCIPALS)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_counts_a_roles_sessions_as_the_role() {
        // GIVEN the published GetPasswordData record (an assumed-role session), twice, each
        // with a session name of the caller's choosing
        let text =
            include_str!("../../../tests/fixtures/events/aws.volume/ct-get-password-data.json");
        let rules = RuleSet::builtin().unwrap();
        let by = |session: &str| {
            let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
            let arn = format!(
                "arn:aws:sts::123456789012:assumed-role/stratus-red-team-ec2-get-password-data-role/{session}"
            );
            v["detail"]["userIdentity"]["arn"] = arn.into();
            let event = Event::from_json(&v.to_string()).unwrap();
            let plan = decide(&event, None, &rules, &Settings::default());
            let p = plan
                .thresholds
                .iter()
                .find(|p| p.rule_id == "volume-ec2-password-data")
                .unwrap()
                .clone();
            (p.by, p.members)
        };
        // THEN both count under the role, each with its instance
        let (a, members) = by("session-1");
        let (b, _) = by("session-2");
        assert_eq!(
            a,
            "arn:aws:iam::123456789012:role/stratus-red-team-ec2-get-password-data-role"
        );
        assert_eq!(a, b);
        assert_eq!(members, vec!["i-aq9pmsueolxr81r5".to_string()]);
    }

    #[test]
    fn only_the_cloudtrail_function_uses_its_own_role() {
        assert!(uses_self_roles(Handler::Cloudtrail));
        assert!(!uses_self_roles(Handler::Guardduty));
        assert!(!uses_self_roles(Handler::Config));
        assert!(!uses_self_roles(Handler::Securityhub));
        assert!(!uses_self_roles(Handler::Unhandled));
    }

    use crate::event::securityhub::fixture_event as securityhub_event;

    fn plan_of(event: &Event) -> Plan {
        let rules = RuleSet::builtin().unwrap();
        decide(
            event,
            Some(Handler::Securityhub),
            &rules,
            &Settings::default(),
        )
    }

    #[test]
    fn only_mamorus_custom_action_approves_the_findings_opt_in_actions() {
        // mamoru's action target: the shadow revoke is approved.
        let ours = plan_of(&securityhub_event(
            "custom-action-ec2-13-ssh-world.json",
            |_| {},
        ));
        assert_eq!(ours.disposition, Disposition::Remediate, "{}", ours.reason);
        assert!(ours.actions.iter().all(|a| !a.shadow), "{:?}", ours.actions);
        // Another custom action on the same finding is not a request to mamoru.
        for arn in [
            "arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToChat",
            "arn:aws:securityhub:us-east-1:123456789012:action/custom/MamoruRemediateX",
            "MamoruRemediate",
        ] {
            let theirs = plan_of(&securityhub_event(
                "custom-action-ec2-13-ssh-world.json",
                |v| v["resources"] = serde_json::json!([arn]),
            ));
            assert_eq!(theirs.disposition, Disposition::Ignore, "{arn}");
            assert!(theirs.actions.is_empty(), "{arn}");
        }
        // The same finding imported keeps its action in shadow.
        let imported = plan_of(&securityhub_event("imported-ec2-13-ssh-world.json", |_| {}));
        assert!(
            imported.actions.iter().all(|a| a.shadow),
            "{:?}",
            imported.actions
        );
        // An archived finding is not acted on, approved or not.
        let archived = plan_of(&securityhub_event(
            "custom-action-ec2-13-ssh-world.json",
            |v| v["detail"]["findings"][0]["RecordState"] = "ARCHIVED".into(),
        ));
        assert_eq!(archived.disposition, Disposition::Ignore);
    }

    #[test]
    fn a_security_hub_finding_is_decided_in_its_own_account_and_region() {
        // The custom action arrives in the hub (123456789012, us-east-1); the finding is about
        // another account and region: the action goes there.
        let event = securityhub_event("custom-action-ec2-13-ssh-world.json", |v| {
            let f = &mut v["detail"]["findings"][0];
            let text = f.to_string().replace("us-east-1", "eu-west-1");
            *f = serde_json::from_str(&text).unwrap();
        });
        let plan = plan_of(&event);
        assert_eq!(plan.account, "111122223333");
        assert_eq!(plan.region, "eu-west-1");
        let a = &plan.actions[0].action;
        assert_eq!(
            (a.account.as_str(), a.region.as_str()),
            ("111122223333", "eu-west-1")
        );
        // A group ARN of another account than the finding's is refused, not acted on.
        let event = securityhub_event("custom-action-ec2-13-ssh-world.json", |v| {
            v["detail"]["findings"][0]["Resources"][0]["Id"] =
                "arn:aws:ec2:us-east-1:444455556666:security-group/sg-47dddc34c51b4be58".into();
        });
        let plan = plan_of(&event);
        assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        assert!(
            plan.withheld
                .iter()
                .any(|w| w.reason.contains("444455556666")),
            "{:?}",
            plan.withheld
        );
    }

    #[test]
    fn a_finding_another_product_imports_under_a_control_id_triggers_nothing() {
        // A product other than Security Hub itself naming a control id: no control rule matches.
        let event = securityhub_event("imported-ec2-13-ssh-world.json", |v| {
            v["detail"]["findings"][0]["ProductArn"] =
                "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default".into();
        });
        let plan = plan_of(&event);
        assert_eq!(plan.disposition, Disposition::Ignore, "{}", plan.reason);
        assert!(plan.actions.is_empty());
    }
}
