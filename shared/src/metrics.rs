//! Metrics in CloudWatch's Embedded Metric Format (EMF): JSON log lines written beside the audit
//! line, from which CloudWatch Logs extracts metrics. No API call: the lines go to stdout with
//! every other log line, and Lambda sends them to CloudWatch Logs.
//!
//! Per handled event:
//! - one *event* line: `Events` (by function and disposition, and by account),
//!   `NotificationFailures` (when a publish was attempted), `TimeToRemediate` (when an action
//!   was carried out: done or already done) and, when the publish failed, `Failures` with
//!   `ErrorClass=notification`;
//! - one *rule* line per matching rule: `RuleMatches` by rule id;
//! - one *action* line per planned action (its outcome) and per withheld action: `Actions` by
//!   action, status and mode, and by status alone; a failed one adds `Failures` by error class.
//!
//! An event that cannot be parsed gets one line: `Events` with disposition `error` and
//! `Failures` with `ErrorClass=bad_event`.
//!
//! [`METRICS`] and [`DIMENSIONS`] are the catalogue: the only metric names, units and dimension
//! sets the lines use (the builders read them from there), exported for the dashboard check
//! (`mamoru metrics`) and documented with the bound of every dimension's values.
//!
//! Specification: CloudWatch User Guide, "Specification: Embedded metric format".

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::action::{ActionKind, Status};
use crate::decide::{Disposition, Handler, RuleMode, RuleSet};
use crate::report::Report;
use crate::settings::{Mode, Settings};

/// The CloudWatch namespace of every metric mamoru writes.
pub const NAMESPACE: &str = "mamoru";

/// One metric of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Metric {
    pub name: &'static str,
    /// A CloudWatch unit (`Count`, `Seconds`).
    pub unit: &'static str,
    /// The dimension sets it is written under: each set is one metric in CloudWatch.
    pub dimensions: &'static [&'static [&'static str]],
    pub meaning: &'static str,
}

/// A dimension and the values it takes (its cardinality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Dimension {
    pub name: &'static str,
    pub values: &'static str,
}

pub const EVENTS: Metric = Metric {
    name: "Events",
    unit: "Count",
    dimensions: &[&["Function", "Disposition"], &["Account"]],
    meaning: "events handled, by function and disposition, and by the account that owns them",
};

pub const RULE_MATCHES: Metric = Metric {
    name: "RuleMatches",
    unit: "Count",
    dimensions: &[&["RuleId"]],
    meaning: "events each rule matched",
};

pub const ACTIONS: Metric = Metric {
    name: "Actions",
    unit: "Count",
    dimensions: &[&["Action", "Status", "Mode"], &["Status"]],
    meaning: "planned and withheld actions, by action, status and mode, and by status",
};

pub const FAILURES: Metric = Metric {
    name: "Failures",
    unit: "Count",
    dimensions: &[&["ErrorClass"]],
    meaning: "failures by error class: failed actions, failed publishes and rejected events",
};

pub const NOTIFICATION_FAILURES: Metric = Metric {
    name: "NotificationFailures",
    unit: "Count",
    dimensions: &[&["Function"]],
    meaning: "publish attempts to the alert topic that failed (0 for one that succeeded)",
};

pub const TIME_TO_REMEDIATE: Metric = Metric {
    name: "TimeToRemediate",
    unit: "Seconds",
    dimensions: &[&["Function"]],
    meaning: "from the event's own time to the outcome of its actions, for events whose actions were carried out (done or already done)",
};

/// Every metric mamoru writes.
pub const METRICS: [Metric; 6] = [
    EVENTS,
    RULE_MATCHES,
    ACTIONS,
    FAILURES,
    NOTIFICATION_FAILURES,
    TIME_TO_REMEDIATE,
];

/// Every dimension, with its values. None takes text from an event.
pub const DIMENSIONS: [Dimension; 8] = [
    Dimension {
        name: "Function",
        values: "guardduty, cloudtrail, config (unhandled for an event no function handles)",
    },
    Dimension {
        name: "Disposition",
        values: "remediate, notify, ignore, error",
    },
    Dimension {
        name: "Account",
        values: "the 12-digit account that owns the event (`unknown` otherwise): the accounts whose events reach mamoru",
    },
    Dimension {
        name: "RuleId",
        values: "the ids of the rules deployed (the built-in playbook and the deployment's rule files)",
    },
    Dimension {
        name: "Action",
        values: "the action kinds of the registry (`mamoru metrics` lists them)",
    },
    Dimension {
        name: "Status",
        values: "done, already_done, withheld, failed, would_do (dry-run or shadow), skipped",
    },
    Dimension {
        name: "Mode",
        values: "enforce, shadow, dry-run",
    },
    Dimension {
        name: "ErrorClass",
        values: "access_denied, not_found, throttled, unavailable, rejected, cannot_act, notification, bad_event",
    },
];

/// The statuses an action line reports.
pub const STATUSES: [&str; 6] = [
    "done",
    "already_done",
    "withheld",
    "failed",
    "would_do",
    "skipped",
];

/// The modes an action line reports.
pub const MODES: [&str; 3] = ["enforce", "shadow", "dry-run"];

/// The error classes of `Failures`.
pub const ERROR_CLASSES: [&str; 8] = [
    "access_denied",
    "not_found",
    "throttled",
    "unavailable",
    "rejected",
    "cannot_act",
    "notification",
    "bad_event",
];

/// The catalogue as JSON (what `mamoru metrics` prints).
pub fn catalogue() -> Value {
    json!({
        "namespace": NAMESPACE,
        "metrics": METRICS,
        "dimensions": DIMENSIONS,
        "values": {
            "Status": STATUSES,
            "Mode": MODES,
            "ErrorClass": ERROR_CLASSES,
            "Action": ActionKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>(),
        },
    })
}

/// Whether the notification of an event was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// No publish was attempted (nothing to notify, or no topic).
    NotAttempted,
    Published,
    Failed,
}

/// What the lines need besides the report: the rules (a withheld action's mode is its rule's)
/// and the settings (per-account modes).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub rules: &'a RuleSet,
    pub settings: &'a Settings,
}

impl<'a> Context<'a> {
    pub fn new(rules: &'a RuleSet, settings: &'a Settings) -> Context<'a> {
        Context { rules, settings }
    }
}

/// One EMF document: target members and one directive per metric written.
struct Doc {
    root: Map<String, Value>,
    directives: Vec<Value>,
}

impl Doc {
    fn new(now: DateTime<Utc>, kind: &str, event_id: &str) -> Doc {
        let mut root = Map::new();
        root.insert("level".into(), json!("INFO"));
        root.insert("target".into(), json!("mamoru::metrics"));
        root.insert("kind".into(), json!(kind));
        root.insert("event_id".into(), json!(crate::redact::text(event_id)));
        root.insert(
            "_aws".into(),
            json!({ "Timestamp": now.timestamp_millis(), "CloudWatchMetrics": [] }),
        );
        Doc {
            root,
            directives: Vec::new(),
        }
    }

    fn dim(mut self, name: &str, value: &str) -> Doc {
        self.root.insert(name.into(), json!(value));
        self
    }

    fn metric(mut self, metric: Metric, value: f64) -> Doc {
        self.root.insert(metric.name.into(), json!(value));
        self.directives.push(json!({
            "Namespace": NAMESPACE,
            "Dimensions": metric.dimensions,
            "Metrics": [{ "Name": metric.name, "Unit": metric.unit }],
        }));
        self
    }

    fn finish(mut self) -> Value {
        if let Some(Value::Object(aws)) = self.root.get_mut("_aws") {
            aws.insert("CloudWatchMetrics".into(), Value::Array(self.directives));
        }
        Value::Object(self.root)
    }
}

/// The account dimension: 12 digits, else `unknown`.
fn account(a: &str) -> &str {
    if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
        a
    } else {
        "unknown"
    }
}

fn disposition(d: Disposition) -> &'static str {
    match d {
        Disposition::Remediate => "remediate",
        Disposition::Notify => "notify",
        Disposition::Ignore => "ignore",
        Disposition::Error => "error",
    }
}

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Enforce => "enforce",
        Mode::DryRun => "dry-run",
    }
}

/// The class of a failed action, from the AWS error code and whether a retry could help. A
/// bounded set whatever the code says.
pub fn error_class(code: Option<&str>, retryable: Option<bool>) -> &'static str {
    let code = code.unwrap_or("");
    let has = |needle: &str| code.contains(needle);
    if has("AccessDenied") || has("Unauthorized") || has("AuthFailure") || has("Forbidden") {
        "access_denied"
    } else if has("NotFound") || has("NoSuch") {
        "not_found"
    } else if has("Throttl")
        || has("TooManyRequests")
        || has("RequestLimitExceeded")
        || code == "SlowDown"
    {
        "throttled"
    } else if code == "NoMemberRole" {
        "cannot_act"
    } else if retryable.unwrap_or(true) {
        "unavailable"
    } else {
        "rejected"
    }
}

/// The action dimension of a withheld action: a registry name, else `other`.
fn action_name(name: &str) -> &'static str {
    ActionKind::ALL
        .iter()
        .map(|k| k.name())
        .find(|n| *n == name)
        .unwrap_or("other")
}

/// Seconds from `time` (RFC 3339) to `now`, never negative.
fn seconds_since(time: Option<&str>, now: DateTime<Utc>) -> Option<f64> {
    let t = DateTime::parse_from_rfc3339(time?).ok()?;
    let ms = (now - t.with_timezone(&Utc)).num_milliseconds().max(0);
    #[allow(clippy::cast_precision_loss)] // milliseconds of a plausible delay fit an f64
    Some(ms as f64 / 1000.0)
}

/// The EMF lines for one handled event.
pub fn lines(
    report: &Report,
    ctx: Context<'_>,
    publish: Publish,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let plan = &report.plan;
    let function = plan.handler.name();
    let mut out = Vec::with_capacity(1 + plan.rule_ids.len() + plan.actions.len());

    let mut doc = Doc::new(now, "event", &plan.event_id)
        .dim("Function", function)
        .dim("Disposition", disposition(plan.disposition))
        .dim("Account", account(&plan.account))
        .metric(EVENTS, 1.0);
    match publish {
        Publish::NotAttempted => {}
        Publish::Published => doc = doc.metric(NOTIFICATION_FAILURES, 0.0),
        Publish::Failed => {
            doc = doc
                .metric(NOTIFICATION_FAILURES, 1.0)
                .dim("ErrorClass", "notification")
                .metric(FAILURES, 1.0);
        }
    }
    let carried_out = report
        .outcomes
        .iter()
        .any(|o| matches!(o.status, Status::Done | Status::AlreadyDone));
    if carried_out && let Some(secs) = seconds_since(plan.time.as_deref(), now) {
        doc = doc.metric(TIME_TO_REMEDIATE, secs);
    }
    out.push(doc.finish());

    for rule_id in &plan.rule_ids {
        out.push(
            Doc::new(now, "rule", &plan.event_id)
                .dim("Function", function)
                .dim("RuleId", rule_id)
                .metric(RULE_MATCHES, 1.0)
                .finish(),
        );
    }

    for (i, outcome) in report.outcomes.iter().enumerate() {
        // Outcomes follow the plan's actions one for one.
        let planned = plan
            .actions
            .get(i)
            .filter(|p| p.action.kind == outcome.action.kind);
        let m = match outcome.held {
            Some(hold) => hold.mode(),
            None => mode(ctx.settings.mode_for(&outcome.action.account)),
        };
        let mut doc = Doc::new(now, "action", &plan.event_id)
            .dim("Function", function)
            .dim("Action", outcome.action.kind.name())
            .dim("Status", outcome.status.name())
            .dim("Mode", m)
            .dim("RuleId", planned.map_or("", |p| p.rule_id.as_str()))
            .metric(ACTIONS, 1.0);
        if outcome.status == Status::Failed {
            doc = doc
                .dim(
                    "ErrorClass",
                    error_class(outcome.error_code.as_deref(), outcome.retryable),
                )
                .metric(FAILURES, 1.0);
        }
        out.push(doc.finish());
    }

    for w in &plan.withheld {
        let m = match ctx.rules.get(&w.rule_id).map(|r| r.mode) {
            Some(RuleMode::Shadow) => "shadow",
            _ => mode(ctx.settings.mode_for(&plan.account)),
        };
        out.push(
            Doc::new(now, "action", &plan.event_id)
                .dim("Function", function)
                .dim("Action", action_name(&w.action))
                .dim("Status", "withheld")
                .dim("Mode", m)
                .dim("RuleId", &w.rule_id)
                .metric(ACTIONS, 1.0)
                .finish(),
        );
    }
    out
}

/// The EMF line for an event that could not be parsed, in the function `handler` (`None`: the
/// CLI, which routes by detail-type).
pub fn rejected(handler: Option<Handler>, now: DateTime<Utc>) -> Value {
    Doc::new(now, "event", "")
        .dim("Function", handler.unwrap_or(Handler::Unhandled).name())
        .dim("Disposition", "error")
        .dim("Account", "unknown")
        .metric(EVENTS, 1.0)
        .dim("ErrorClass", "bad_event")
        .metric(FAILURES, 1.0)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_are_bounded_and_listed() {
        let codes = [
            (Some("AccessDenied"), Some(false), "access_denied"),
            (Some("AccessDeniedException"), Some(false), "access_denied"),
            (Some("UnauthorizedOperation"), Some(false), "access_denied"),
            (Some("NoSuchEntity"), Some(false), "not_found"),
            (Some("TrailNotFoundException"), Some(false), "not_found"),
            (Some("NotFound"), Some(false), "not_found"),
            (Some("ThrottlingException"), Some(true), "throttled"),
            (Some("RequestLimitExceeded"), Some(true), "throttled"),
            (Some("NoMemberRole"), Some(false), "cannot_act"),
            (Some("InternalFailure"), Some(true), "unavailable"),
            (None, None, "unavailable"),
            (Some("ValidationException"), Some(false), "rejected"),
            (Some("<script>\u{202e}"), Some(false), "rejected"),
        ];
        for (code, retryable, want) in codes {
            assert_eq!(error_class(code, retryable), want, "{code:?}");
            assert!(ERROR_CLASSES.contains(&want));
        }
    }

    #[test]
    fn time_to_remediate_is_from_the_event_time_and_never_negative() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T10:00:30.500Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(seconds_since(Some("2024-05-01T10:00:00Z"), now), Some(30.5));
        assert_eq!(seconds_since(Some("2024-05-01T10:01:00Z"), now), Some(0.0));
        assert_eq!(seconds_since(Some("yesterday"), now), None);
        assert_eq!(seconds_since(None, now), None);
    }

    #[test]
    fn accounts_other_than_twelve_digits_are_unknown() {
        assert_eq!(account("123456789012"), "123456789012");
        assert_eq!(account("12345678901"), "unknown");
        assert_eq!(account("12345678901a"), "unknown");
        assert_eq!(account(""), "unknown");
    }
}
