//! Notifications: one message per event, rendered from the plan and the outcomes (what happened,
//! not only what was intended), and delivered through SNS with `MessageStructure=json`, so that
//! each protocol gets its own version:
//!
//! | protocol | receives |
//! |---|---|
//! | `email` (and `default`: any other protocol) | the text for people |
//! | `sqs`, `lambda` | the `mamoru.notification/1` JSON document (docs/notification-schema.md) |
//! | `https` | an AWS Chatbot custom notification (Slack, Microsoft Teams) |
//!
//! Message attributes (`severity`, `severity_score`, `event_kind`, `disposition`, `account`,
//! `region`) let subscriptions filter.

mod chatbot;
mod clean;
mod detail_links;
mod document;
pub mod links;
mod phrase;
mod render;
mod text;

pub use document::NOTIFICATION_SCHEMA;
pub use links::Links;
pub use render::{
    MESSAGE_BUDGET, Message, PROTOCOLS, SNS_MAX_BYTES, SUBJECT_MAX, attributes, outcome,
    outcome_phrase, render, sanitize_subject, subject,
};

/// A notification that could not be delivered. Always retryable from the caller's view: the
/// event is retried and nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sns:Publish to {topic} failed: {message}")]
pub struct NotifyError {
    pub topic: String,
    pub message: String,
}
