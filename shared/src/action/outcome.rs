//! The outcome of an action: pure data, as notified and audited.

use serde::Serialize;
use serde_json::Value;

use super::Action;

/// What happened to one planned action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The call was made and changed the resource.
    Done,
    /// The resource was already in the desired state (success).
    AlreadyDone,
    /// Dry-run or shadow mode: the action would have run.
    WouldDo,
    /// Not attempted (the reason says why).
    Skipped,
    /// The call failed; the error says why.
    Failed,
}

impl Status {
    pub fn is_success(self) -> bool {
        !matches!(self, Status::Failed)
    }
}

/// The result of one action, as notified and audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub action: Action,
    pub status: Status,
    /// A sentence for people: what was done, or the error.
    pub message: String,
    /// For failures: whether a retry could succeed (throttling, timeouts, 5xx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// The error code AWS returned, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// State the action read before acting, when it read any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// State after acting, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl Outcome {
    pub fn new(action: &Action, status: Status, message: impl Into<String>) -> Outcome {
        Outcome {
            action: action.clone(),
            status,
            message: message.into(),
            retryable: None,
            error_code: None,
            before: None,
            after: None,
        }
    }
}
