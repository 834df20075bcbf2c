//! `start_configuration_recorder`: `config:StartConfigurationRecorder` on the recorder a
//! StopConfigurationRecorder call named, in the call's region.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_configuration_recorder"
    }
    fn summary(&self) -> &'static str {
        "Start again the AWS Config recorder a StopConfigurationRecorder call named"
    }
    fn api(&self) -> &'static str {
        "config:StartConfigurationRecorder"
    }
    fn grants(&self) -> &'static [Grant] {
        // No resource type: every resource, held to the stack's region.
        const GRANTS: &[Grant] = &[Grant::anywhere_in_region(&[
            "config:StartConfigurationRecorder",
        ])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "recorder restarted",
            already: "recorder already recording",
            would: "would restart recorder",
            noun: "recorder restart",
            withheld: "restart the configuration recorder",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        Ok((
            c.aws_region.clone(),
            Target::Recorder {
                name: required(c, "configurationRecorderName")?,
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Recorder { name } => json!({ "ConfigurationRecorderName": name }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("restart {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "config.amazonaws.com", "StartConfigurationRecorder").then_some(true)
    }
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_config::operation::start_configuration_recorder::StartConfigurationRecorderError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use serde_json::json;

    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, Status, Target};

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            let Target::Recorder { name } = &action.target else {
                return Outcome::wrong_target(action);
            };
            let client = clients.config.get(&action.region);
            let res = client
                .start_configuration_recorder()
                .configuration_recorder_name(name)
                .send()
                .await;
            match res {
                Ok(_) => Outcome::new(
                    action,
                    Status::Done,
                    format!("configuration recorder {name} is recording"),
                )
                .with_state(None, Some(json!({"Recording": true}))),
                Err(SdkError::ServiceError(ctx)) => {
                    let err = ctx.into_err();
                    let hint = match &err {
                        StartConfigurationRecorderError::NoSuchConfigurationRecorderException(
                            _,
                        ) => " (the recorder was deleted)",
                        StartConfigurationRecorderError::NoAvailableDeliveryChannelException(_) => {
                            " (no delivery channel: it was deleted)"
                        }
                        _ => "",
                    };
                    let mut f = service_failure("config:StartConfigurationRecorder", &err);
                    f.message.push_str(hint);
                    Outcome::failed(action, f)
                }
                Err(other) => {
                    Outcome::failed(action, failure("config:StartConfigurationRecorder", other))
                }
            }
        }
    }
}
