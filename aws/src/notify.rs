//! Notifications: rendering is in the core (`mamoru_core::notify`); this adds their delivery
//! through SNS.

pub use mamoru_core::notify::*;

use aws_sdk_sns::types::MessageAttributeValue;

/// Publishes notifications to the topic. Built once per container.
pub struct Notifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

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
