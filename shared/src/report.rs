//! The report of one event: the plan, the outcome of each action, and the mode. It is what the
//! notification carries, what the audit log records and what the functions return.

use serde::Serialize;

use crate::action::{Outcome, Status};
use crate::decide::Plan;
use crate::settings::Mode;

/// The version of the report's JSON layout.
pub const REPORT_SCHEMA: &str = "mamoru.report/1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// mamoru's version: crate version and git revision, fixed at build time.
    pub version: &'static str,
    pub mode: Mode,
    #[serde(flatten)]
    pub plan: Plan,
    pub outcomes: Vec<Outcome>,
    /// For a Security Hub finding: what mamoru wrote back to it ([`crate::writeback`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_back: Option<crate::writeback::WriteBackOutcome>,
    /// For a detection of the cloudtrail function: its import into Security Hub
    /// ([`crate::publish`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<crate::publish::PublishOutcome>,
}

impl Report {
    pub fn new(plan: Plan, outcomes: Vec<Outcome>, mode: Mode) -> Report {
        Report {
            schema: REPORT_SCHEMA,
            version: crate::VERSION,
            mode,
            plan,
            outcomes,
            write_back: None,
            published: None,
        }
    }

    pub fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.status == Status::Failed)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
