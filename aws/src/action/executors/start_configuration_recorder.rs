//! The executor of `start_configuration_recorder`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/start_configuration_recorder.rs`.

use mamoru_core::action::kinds::start_configuration_recorder as this;

use aws_sdk_config::operation::start_configuration_recorder::StartConfigurationRecorderError;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
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
