//! The executor of `deactivate_access_key`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/deactivate_access_key.rs`.

use mamoru_core::action::kinds::deactivate_access_key as this;

use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyError;
use aws_sdk_iam::types::StatusType;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::AccessKey {
            user_name: user,
            access_key_id: key,
        } = &action.target
        else {
            return Outcome::wrong_target(action);
        };
        // UpdateAccessKey is idempotent: an already Inactive key stays Inactive. No read
        // first, so the remediation is a single call.
        let res = clients
            .iam
            .update_access_key()
            .user_name(user)
            .access_key_id(key)
            .status(StatusType::Inactive)
            .send()
            .await;
        match res {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("access key {key} of {user} is Inactive"),
            )
            .with_state(None, Some(json!({"Status": "Inactive"}))),
            // Only a service error carries a code to match; timeouts and connection errors
            // are classified as they are.
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                UpdateAccessKeyError::NoSuchEntityException(_) => {
                    Outcome::not_found(action, &format!("access key {key} of IAM user {user}"))
                }
                other => {
                    Outcome::failed(action, service_failure("iam:UpdateAccessKey", &other))
                }
            },
            Err(other) => Outcome::failed(action, failure("iam:UpdateAccessKey", other)),
        }
    }
}
