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

    /// The status as the JSON document and the metrics name it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::AlreadyDone => "already_done",
            Status::WouldDo => "would_do",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// Why a planned action was not executed. Decided in one place (the responder's gate) and only
/// read by the notifications, the audit and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The rule that planned it is in shadow mode (whatever the deployment's mode).
    Shadow,
    /// The deployment runs in dry-run.
    DryRun,
    /// The deployment enforces, but not in this account (`MAMORU_ACCOUNT_MODES`).
    AccountDryRun,
}

impl Hold {
    /// A word for the Subject: `would restart (shadow)`.
    pub fn word(self) -> &'static str {
        match self {
            Hold::Shadow => "shadow",
            Hold::DryRun | Hold::AccountDryRun => "dry-run",
        }
    }

    /// The status for the body: `not executed (shadow rule)`.
    pub fn not_executed(self) -> &'static str {
        match self {
            Hold::Shadow => "not executed (shadow rule)",
            Hold::DryRun => "not executed (dry-run)",
            Hold::AccountDryRun => "not executed (dry-run in this account)",
        }
    }

    /// The mode the metrics record.
    pub fn mode(self) -> &'static str {
        match self {
            Hold::Shadow => "shadow",
            Hold::DryRun | Hold::AccountDryRun => "dry-run",
        }
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
    /// For `WouldDo`: why it was not executed.
    #[serde(skip)]
    pub held: Option<Hold>,
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
            held: None,
        }
    }

    /// A planned action that was not executed, and why.
    pub fn held(action: &Action, hold: Hold, message: impl Into<String>) -> Outcome {
        Outcome {
            held: Some(hold),
            ..Outcome::new(action, Status::WouldDo, message)
        }
    }

    /// The status for people, in the body: `done`, `not executed (dry-run)`, `FAILED`.
    pub fn status_text(&self) -> &'static str {
        match self.status {
            Status::Done => "done",
            Status::AlreadyDone => "already done",
            Status::WouldDo => self.held.map_or("not executed", Hold::not_executed),
            Status::Skipped => "skipped",
            Status::Failed => "FAILED",
        }
    }
}

impl Outcome {
    pub fn failed(action: &Action, failure: Failure) -> Outcome {
        Outcome {
            retryable: Some(failure.retryable),
            error_code: failure.code,
            // AWS error messages are free text: mask anything secret-shaped they echo back.
            ..Outcome::new(
                action,
                Status::Failed,
                crate::redact::text(&failure.message),
            )
        }
    }
}

impl Outcome {
    /// The resource the event named does not exist in the account it was looked for in: a
    /// failure to act, never "already done" (in an organization it usually means mamoru looked
    /// in the wrong account).
    pub fn not_found(action: &Action, what: &str) -> Outcome {
        Outcome {
            retryable: Some(false),
            error_code: Some("NotFound".into()),
            ..Outcome::new(
                action,
                Status::Failed,
                format!(
                    "{what} was not found in account {} ({}): nothing was changed",
                    action.account, action.region
                ),
            )
        }
    }

    /// The action was bound to a resource of another kind than its executor acts on: a bug,
    /// reported as a failure rather than a panic.
    pub fn wrong_target(action: &Action) -> Outcome {
        Outcome {
            retryable: Some(false),
            error_code: Some("WrongTarget".into()),
            ..Outcome::new(
                action,
                Status::Failed,
                format!(
                    "{} cannot act on {}: nothing was changed",
                    action.kind.name(),
                    action.resource()
                ),
            )
        }
    }

    /// Records the state an action read before acting and the state after.
    pub fn with_state(self, before: Option<Value>, after: Option<Value>) -> Outcome {
        Outcome {
            before,
            after,
            ..self
        }
    }
}

/// A failed AWS call, classified (by the executors in the `mamoru` crate).
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: Option<String>,
    pub message: String,
    pub retryable: bool,
}
