//! Evaluating rules: what an event offers the matcher ([`Subject`]), and each condition of a
//! compiled rule held against it.

use std::cell::OnceCell;

use serde_json::Value;

use super::*;
use crate::event::{Members, field_in, value_at};

/// What the matcher needs from an event, computed once per event.
pub struct Subject<'a> {
    pub event: &'a Event,
    pub principal: Option<Principal>,
    pub signals: Vec<Signal>,
    /// The ids of the Sigma rules the event matched ([`RuleSet::sigma_matches`]).
    pub sigma: Vec<String>,
    /// The detail's members, scanned on the first field-path lookup and shared by the others.
    detail: OnceCell<Option<Members<'a>>>,
}

impl<'a> Subject<'a> {
    pub fn new(event: &'a Event) -> Subject<'a> {
        Subject {
            event,
            principal: Principal::of(event),
            signals: crate::decide::facts::signals(event),
            sigma: Vec::new(),
            detail: OnceCell::new(),
        }
    }

    /// A field of the detail, read without parsing the whole detail.
    fn detail_field<S: AsRef<str>>(&self, path: &[S]) -> Option<Value> {
        if path.is_empty() {
            return Some(self.event.detail_value().clone());
        }
        // Most conditions read fields the typed event already holds.
        if let Some(found) = self.event.modelled_field(path) {
            return found;
        }
        let members = self.detail.get_or_init(|| self.event.detail_members());
        field_in(members.as_deref()?, path)
    }

    pub(crate) fn field(&self, path: &[String]) -> Option<Value> {
        let e = self.event;
        let (first, rest) = path.split_first()?;
        let root = match first.as_str() {
            "detail" => return self.detail_field(rest),
            "id" => Value::String(e.id.clone()),
            "source" => Value::String(e.source.clone()),
            "detail-type" => Value::String(e.detail_type.clone()),
            "account" => Value::String(e.account.clone()),
            "region" => Value::String(e.region.clone()),
            "time" => e.time.clone().map(Value::String)?,
            "resources" => Value::Array(e.resources.iter().cloned().map(Value::String).collect()),
            _ => return None,
        };
        value_at(&root, rest).cloned()
    }

    /// The resource tags the event carries (Config items, GuardDuty instance details).
    fn tags(&self) -> Vec<(String, String)> {
        match &self.event.kind {
            EventKind::ConfigItemChange(c) => match &c.configuration_item.tags {
                Value::Object(m) => m
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect(),
                _ => Vec::new(),
            },
            EventKind::GuardDutyFinding(_) => self
                .detail_field(&["resource", "instanceDetails", "tags"])
                .as_ref()
                .and_then(Value::as_array)
                .map(|tags| {
                    tags.iter()
                        .filter_map(|t| {
                            Some((
                                t.get("key")?.as_str()?.to_string(),
                                t.get("value")?.as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl FieldCond {
    fn holds(&self, subject: &Subject<'_>) -> bool {
        let value = subject.field(&self.path);
        let value = match (&self.op, value) {
            (FieldOp::Exists(want), v) => return v.is_some_and(|v| !v.is_null()) == *want,
            (_, None) => return false,
            (_, Some(v)) => v,
        };
        // A condition on a list holds when it holds for any element.
        if let Value::Array(items) = &value
            && !matches!(self.op, FieldOp::Equals(Value::Array(_)))
        {
            return items.iter().any(|v| self.holds_on(v));
        }
        self.holds_on(&value)
    }

    fn holds_on(&self, v: &Value) -> bool {
        match &self.op {
            FieldOp::Equals(want) => values_equal(v, want),
            FieldOp::OneOf(wants) => wants.iter().any(|w| values_equal(v, w)),
            FieldOp::Prefix(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            FieldOp::Glob(g) => v.as_str().is_some_and(|s| g.matches(s)),
            FieldOp::Cidr(net) => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(&ip)),
            FieldOp::Exists(_) => true,
        }
    }
}

/// The event's own severity: a finding's score, else Medium.
pub fn event_severity(event: &Event) -> Severity {
    match &event.kind {
        EventKind::GuardDutyFinding(f) => Severity::from_score(f.severity),
        EventKind::SecurityHub(sh) => sh
            .finding()
            .map_or(Severity::from_band(Band::Medium), |f| f.severity()),
        EventKind::SecurityHubOcsf(sh) => sh
            .finding()
            .map_or(Severity::from_band(Band::Medium), |f| f.severity()),
        _ => Severity::from_band(Band::Medium),
    }
}

pub(super) fn in_list(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
}

impl Rule {
    pub fn matches(&self, s: &Subject<'_>) -> Match {
        if !self.matcher.matches(s) {
            return Match::No;
        }
        if self.exceptions.applies(s) {
            return Match::Excepted;
        }
        Match::Yes
    }

    /// The detail-types this rule is limited to (empty: any).
    pub fn detail_types(&self) -> &[String] {
        &self.matcher.detail_type
    }

    /// The lower severity bound the rule sets for itself, if any. A rule with its own bound
    /// decides remediation for itself instead of MAMORU_MIN_REMEDIATION_SEVERITY.
    pub fn severity_min(&self) -> Option<f64> {
        self.matcher.severity_min
    }

    /// The CloudTrail eventSources this rule is limited to (empty: any).
    /// Whether the rule matches less than every event of its detail-types and event sources
    /// (a condition beyond them, or an exception). A rule that does not can only be shown
    /// not matching by an event of another kind.
    pub fn narrows_its_kind(&self) -> bool {
        let m = &self.matcher;
        let e = &self.exceptions;
        !(m.finding_type.is_empty()
            && m.event_name.is_empty()
            && m.severity_min.is_none()
            && m.severity_max.is_none()
            && m.principal_type.is_empty()
            && m.principal_arn.is_empty()
            && m.account.is_empty()
            && m.region.is_empty()
            && m.call.is_none()
            && m.signal.is_empty()
            && m.field.is_empty()
            && m.any_field.is_empty()
            && m.sigma.is_empty()
            && e.principals.is_empty()
            && e.accounts.is_empty()
            && e.source_ips.is_empty()
            && e.resource_tags.is_empty())
    }

    pub fn event_sources(&self) -> &[String] {
        &self.matcher.event_source
    }

    /// The CloudTrail eventName patterns this rule is limited to (empty: any). A trailing `*`
    /// is a prefix (Lambda's eventNames carry an API version suffix).
    pub fn event_names(&self) -> Vec<String> {
        self.matcher
            .event_name
            .iter()
            .map(|g| g.as_str().to_string())
            .collect()
    }
}

impl Matcher {
    fn matches(&self, s: &Subject<'_>) -> bool {
        // First: a rule attached to Sigma matches (each loaded Sigma rule is one) is decided by
        // the list the event already has, before anything costlier.
        if !self.sigma.is_empty() && !self.sigma.iter().any(|id| s.sigma.contains(id)) {
            return false;
        }
        let e = s.event;
        let ct = e.cloudtrail();
        let finding = match &e.kind {
            EventKind::GuardDutyFinding(f) => Some(f),
            _ => None,
        };
        if !in_list(&self.source, Some(&e.source))
            || !in_list(&self.detail_type, Some(&e.detail_type))
            || !in_list(&self.account, Some(&e.account))
            || !in_list(&self.region, Some(&e.region))
            || !in_list(&self.event_source, ct.map(|c| c.event_source.as_str()))
        {
            return false;
        }
        if !self.event_name.is_empty()
            && !ct.is_some_and(|c| any_glob(&self.event_name, &c.event_name))
        {
            return false;
        }
        if !self.finding_type.is_empty()
            && !finding.is_some_and(|f| any_glob(&self.finding_type, &f.finding_type))
        {
            return false;
        }
        if self.severity_min.is_some() || self.severity_max.is_some() {
            let score = event_severity(e).score;
            if self.severity_min.is_some_and(|m| score < m)
                || self.severity_max.is_some_and(|m| score > m)
            {
                return false;
            }
        }
        let principal = s.principal.as_ref();
        if !in_list(
            &self.principal_type,
            principal.and_then(|p| p.kind.as_deref()),
        ) {
            return false;
        }
        if !self.principal_arn.is_empty()
            && !principal.is_some_and(|p| p.arns().any(|a| any_glob(&self.principal_arn, a)))
        {
            return false;
        }
        match self.call {
            None | Some(CallOutcome::Any) => {}
            Some(want) => {
                let Some(c) = ct else { return false };
                let ok = c.succeeded();
                if (want == CallOutcome::Succeeded) != ok {
                    return false;
                }
            }
        }
        if !self.signal.is_empty() && !self.signal.iter().any(|sig| s.signals.contains(sig)) {
            return false;
        }
        self.field.iter().all(|f| f.holds(s))
            && (self.any_field.is_empty() || self.any_field.iter().any(|f| f.holds(s)))
    }
}

impl Exceptions {
    fn applies(&self, s: &Subject<'_>) -> bool {
        let p = s.principal.as_ref();
        if !self.principals.is_empty()
            && p.is_some_and(|p| p.arns().any(|a| any_glob(&self.principals, a)))
        {
            return true;
        }
        if self.accounts.contains(&s.event.account) {
            return true;
        }
        if !self.source_ips.is_empty() {
            let ip = p
                .and_then(|p| p.source_ip.as_deref())
                .and_then(|ip| ip.parse::<IpAddr>().ok());
            if ip.is_some_and(|ip| self.source_ips.iter().any(|n| n.contains(&ip))) {
                return true;
            }
        }
        if !self.resource_tags.is_empty() {
            let tags = s.tags();
            if self
                .resource_tags
                .iter()
                .any(|(k, v)| tags.iter().any(|(tk, tv)| tk == k && (v == "*" || tv == v)))
            {
                return true;
            }
        }
        false
    }
}
