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

#[cfg(feature = "aws")]
use aws_sdk_sns::types::MessageAttributeValue;

/// A notification that could not be delivered. Always retryable from the caller's view: the
/// event is retried and nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sns:Publish to {topic} failed: {message}")]
pub struct NotifyError {
    pub topic: String,
    pub message: String,
}

/// Publishes notifications to the topic. Built once per container.
#[cfg(feature = "aws")]
pub struct Notifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

#[cfg(feature = "aws")]
impl Notifier {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: String) -> Notifier {
        Notifier {
            client: aws_sdk_sns::Client::new(sdk),
            topic_arn,
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publishes the message; returns the SNS message id.
    pub async fn publish(&self, message: &Message) -> Result<String, NotifyError> {
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&message.subject)
            .message_structure("json")
            .message(message.sns_message());
        for (name, (data_type, value)) in &message.attributes {
            let attr = MessageAttributeValue::builder()
                .data_type(*data_type)
                .string_value(value)
                .build()
                .map_err(|e| NotifyError {
                    topic: self.topic_arn.clone(),
                    message: format!("attribute {name}: {e}"),
                })?;
            req = req.message_attributes(name.clone(), attr);
        }
        match req.send().await {
            Ok(out) => Ok(out.message_id.unwrap_or_default()),
            Err(err) => {
                use aws_smithy_types::error::metadata::ProvideErrorMetadata;
                let message = match err.code() {
                    Some(code) => format!("{code}: {}", err.message().unwrap_or("no message")),
                    None => format!(
                        "{}",
                        aws_smithy_types::error::display::DisplayErrorContext(&err)
                    ),
                };
                Err(NotifyError {
                    topic: self.topic_arn.clone(),
                    message,
                })
            }
        }
    }
}
