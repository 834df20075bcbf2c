//! The executor of `start_logging`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/start_logging.rs`.

use mamoru_core::action::kinds::start_logging as this;

use aws_sdk_cloudtrail::operation::start_logging::StartLoggingError;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target, trail_name};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Trail { name } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.cloudtrail.get(&action.region);
        start_trail(&client, action, name).await
    }
}

/// StartLogging on one trail. Idempotent: a trail that is already logging stays logging.
pub(crate) async fn start_trail(
    client: &aws_sdk_cloudtrail::Client,
    action: &Action,
    name: &str,
) -> Outcome {
    match client.start_logging().name(name).send().await {
        Ok(_) => Outcome::new(
            action,
            Status::Done,
            format!("trail {} is logging", trail_name(name)),
        )
        .with_state(None, Some(json!({"IsLogging": true}))),
        Err(SdkError::ServiceError(ctx)) => {
            let err = ctx.into_err();
            let hint = match &err {
                StartLoggingError::TrailNotFoundException(_) => " (the trail was deleted)",
                _ => "",
            };
            let mut f = service_failure("cloudtrail:StartLogging", &err);
            f.message.push_str(hint);
            Outcome::failed(action, f)
        }
        Err(other) => Outcome::failed(action, failure("cloudtrail:StartLogging", other)),
    }
}
