//! The pipeline every function runs: parse, decide, act, notify, audit.
//!
//! A `Responder` is built once per container (settings, rules, SDK clients) and handles many
//! events.

use std::sync::Arc;
use std::time::Instant;

use crate::action::port::{Publish, Remediate};
use crate::action::{Hold, Outcome, Status};
use crate::decide::{Disposition, Handler, Planned, RuleSet, decide};
use crate::event::{Event, ParseError};
use crate::notify::{NotifyError, render};
use crate::report::Report;
use crate::settings::{Mode, Settings};

/// Why handling an event failed. Every variant makes the function return an error, so Lambda
/// retries the event and, once retries are exhausted, sends it to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event is not a valid event of its detail-type. Retrying will not help; the error
    /// sends it to the DLQ instead of dropping it.
    #[error("bad event: {0}")]
    Parse(#[from] ParseError),
    /// At least one action failed. The notification went out and says so.
    #[error("{failed} of {total} remediation actions failed: {first}")]
    ActionsFailed {
        failed: usize,
        total: usize,
        first: String,
        report: Box<Report>,
    },
    /// The notification could not be published.
    #[error("{0}")]
    Notify(#[source] NotifyError, Box<Report>),
}

impl HandleError {
    /// Whether a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            HandleError::Parse(_) => false,
            HandleError::ActionsFailed { report, .. } => {
                report.failed().any(|o| o.retryable.unwrap_or(true))
            }
            HandleError::Notify(..) => true,
        }
    }

    /// The report, when the event got as far as a plan.
    pub fn report(&self) -> Option<&Report> {
        match self {
            HandleError::Parse(_) => None,
            HandleError::ActionsFailed { report, .. } | HandleError::Notify(_, report) => {
                Some(report)
            }
        }
    }
}

/// Whether a planned action runs, decided in one place: a shadow rule never executes; otherwise
/// the mode of the account that owns the resource decides.
pub fn hold(planned: &Planned, settings: &Settings) -> Option<Hold> {
    if planned.shadow {
        Some(Hold::Shadow)
    } else if settings.mode_for(&planned.action.account) == Mode::DryRun {
        Some(if settings.mode == Mode::DryRun {
            Hold::DryRun
        } else {
            Hold::AccountDryRun
        })
    } else {
        None
    }
}

pub struct Responder {
    handler: Option<Handler>,
    settings: Settings,
    rules: RuleSet,
    actor: Option<Arc<dyn Remediate>>,
    notifier: Option<Arc<dyn Publish>>,
}

impl Responder {
    /// `handler`: the function this responder serves (`None` routes by detail-type).
    /// `actor`/`notifier`: the side effects (the AWS ones, or in-memory ones in tests); `None`
    /// to plan only (local replay without AWS).
    pub fn new(
        handler: Option<Handler>,
        settings: Settings,
        rules: RuleSet,
        actor: Option<Arc<dyn Remediate>>,
        notifier: Option<Arc<dyn Publish>>,
    ) -> Responder {
        Responder {
            handler,
            settings,
            rules,
            actor,
            notifier,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Handles one event given as JSON text.
    pub async fn handle_json(&self, text: &str) -> Result<Report, HandleError> {
        let started = Instant::now();
        let event = match Event::from_json(text) {
            Ok(e) => e,
            Err(err) => {
                tracing::error!(
                    error = %crate::redact::text(&err.to_string()),
                    field = err.field().unwrap_or(""),
                    bytes = text.len(),
                    "event rejected: it will be retried and then kept in the dead-letter queue"
                );
                crate::audit::record_rejected(self.handler);
                return Err(err.into());
            }
        };
        self.handle_event(&event, started).await
    }

    /// Handles one parsed event.
    pub async fn handle_event(
        &self,
        event: &Event,
        started: Instant,
    ) -> Result<Report, HandleError> {
        let plan = decide(event, self.handler, &self.rules, &self.settings);
        let mut outcomes = Vec::with_capacity(plan.actions.len());
        for planned in &plan.actions {
            let outcome = match hold(planned, &self.settings) {
                Some(h) => Outcome::held(
                    &planned.action,
                    h,
                    match h {
                        Hold::Shadow => format!(
                            "shadow rule {}: would {}",
                            planned.rule_id,
                            planned.action.describe()
                        ),
                        Hold::DryRun => format!("dry-run: would {}", planned.action.describe()),
                        Hold::AccountDryRun => format!(
                            "dry-run in account {}: would {}",
                            planned.action.account,
                            planned.action.describe()
                        ),
                    },
                ),
                None => match &self.actor {
                    Some(actor) => actor.remediate(&plan.event_id, &planned.action).await,
                    None => Outcome::new(
                        &planned.action,
                        Status::Skipped,
                        "no AWS access in this run: planned only",
                    ),
                },
            };
            if outcome.status == Status::Failed {
                tracing::error!(
                    event_id = %plan.event_id,
                    action = outcome.action.kind.name(),
                    api = outcome.action.kind.api(),
                    region = %outcome.action.region,
                    error_code = outcome.error_code.as_deref().unwrap_or(""),
                    retryable = outcome.retryable.unwrap_or(true),
                    error = %outcome.message,
                    "remediation failed"
                );
            }
            outcomes.push(outcome);
        }
        let report = Report::new(plan, outcomes, self.settings.mode);

        let mut notify_error = None;
        let mut message_id = None;
        if report.plan.notify
            && report.plan.disposition != Disposition::Ignore
            && let Some(notifier) = &self.notifier
        {
            let message = render(&report);
            match notifier.publish(&message).await {
                Ok(id) => message_id = Some(id),
                Err(e) => {
                    tracing::error!(event_id = %report.plan.event_id, error = %e, "notification failed");
                    notify_error = Some(e);
                }
            }
        }
        crate::audit::record_with_metrics(
            &report,
            crate::metrics::Context::new(&self.rules, &self.settings),
            message_id.as_deref(),
            notify_error.is_some(),
            started.elapsed(),
        );

        if let Some(e) = notify_error {
            return Err(HandleError::Notify(e, Box::new(report)));
        }
        let failed: Vec<&Outcome> = report.failed().collect();
        if let Some(first) = failed.first() {
            return Err(HandleError::ActionsFailed {
                failed: failed.len(),
                total: report.outcomes.len(),
                first: first.message.clone(),
                report: Box::new(report.clone()),
            });
        }
        Ok(report)
    }
}
