//! The rule format: what a TOML rule file holds, as serde reads it (no validation: that is
//! [`super::compile`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::RuleMode;

// The file format (deserialized as written, then compiled).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    #[serde(default)]
    pub(super) rule: Vec<Spanned<RuleDef>>,
    #[serde(default)]
    pub(super) case: Vec<Spanned<crate::decide::cases::CaseDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleDef {
    pub(super) id: String,
    pub(super) description: String,
    #[serde(default)]
    pub(super) mode: RuleMode,
    #[serde(rename = "match")]
    pub(super) matcher: MatchDef,
    #[serde(default)]
    pub(super) response: ResponseDef,
    #[serde(default)]
    pub(super) exceptions: ExceptionsDef,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MatchDef {
    #[serde(default)]
    pub(super) source: Vec<String>,
    #[serde(default)]
    pub(super) detail_type: Vec<String>,
    #[serde(default)]
    pub(super) finding_type: Vec<String>,
    #[serde(default)]
    pub(super) event_source: Vec<String>,
    #[serde(default)]
    pub(super) event_name: Vec<String>,
    #[serde(default)]
    pub(super) severity: Option<RangeDef>,
    #[serde(default)]
    pub(super) principal_type: Vec<String>,
    #[serde(default)]
    pub(super) principal_arn: Vec<String>,
    #[serde(default)]
    pub(super) account: Vec<String>,
    #[serde(default)]
    pub(super) region: Vec<String>,
    #[serde(default)]
    pub(super) call: Option<CallOutcome>,
    #[serde(default)]
    pub(super) signal: Vec<String>,
    #[serde(default)]
    pub(super) field: Vec<FieldDef>,
    /// At least one of these must hold (where `field` needs all).
    #[serde(default)]
    pub(super) any_field: Vec<FieldDef>,
    /// Sigma rule ids (with or without `sigma:`): the event matched one of them.
    #[serde(default)]
    pub(super) sigma: Vec<String>,
    /// The calls are read-only management events (`detail.readOnly` is true): EventBridge
    /// delivers them only to a rule in the state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`,
    /// which the stack creates with `ReadOnlyEvents=on` ([`super::routing::Routes`]).
    #[serde(default)]
    pub(super) read_only: bool,
    /// A windowed threshold: the rule matches only on the event that brings the count (of
    /// events, or of distinct values) to `count` within the window, per `by`.
    #[serde(default)]
    pub(super) threshold: Option<ThresholdDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ThresholdDef {
    pub(super) count: u64,
    /// A field path: count the distinct values it takes, not the events.
    #[serde(default)]
    pub(super) distinct: Option<String>,
    /// `30s`, `10m`, `1h`: at most a day.
    pub(super) window: String,
    /// `principal` (the default), `account`, or a field path.
    #[serde(default)]
    pub(super) by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeDef {
    #[serde(default)]
    pub(super) min: Option<f64>,
    #[serde(default)]
    pub(super) max: Option<f64>,
}

/// Whether the CloudTrail call behind the event succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallOutcome {
    Succeeded,
    Failed,
    Any,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldDef {
    pub(super) path: String,
    #[serde(default)]
    pub(super) equals: Option<toml::Value>,
    #[serde(default)]
    pub(super) one_of: Option<Vec<toml::Value>>,
    #[serde(default)]
    pub(super) prefix: Option<String>,
    #[serde(default)]
    pub(super) glob: Option<String>,
    #[serde(default)]
    pub(super) cidr: Option<String>,
    #[serde(default)]
    pub(super) exists: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResponseDef {
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) severity: Option<SeverityDef>,
    #[serde(default)]
    pub(super) severity_floor: Option<String>,
    #[serde(default = "yes")]
    pub(super) notify: bool,
    #[serde(default)]
    pub(super) actions: Vec<ActionDef>,
    #[serde(default)]
    pub(super) runbook: Option<String>,
    /// `false`: the rule's actions do not count against the remediation budgets (actions that
    /// are always safe to repeat, such as restarting a trail).
    #[serde(default = "yes")]
    pub(super) budget: bool,
}

impl Default for ResponseDef {
    fn default() -> Self {
        ResponseDef {
            title: None,
            severity: None,
            severity_floor: None,
            notify: true,
            actions: Vec::new(),
            runbook: None,
            budget: true,
        }
    }
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum SeverityDef {
    Score(f64),
    Band(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionDef {
    pub(super) action: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExceptionsDef {
    #[serde(default)]
    pub(super) principals: Vec<String>,
    #[serde(default)]
    pub(super) accounts: Vec<String>,
    #[serde(default)]
    pub(super) source_ips: Vec<String>,
    #[serde(default)]
    pub(super) resource_tags: BTreeMap<String, String>,
}
