//! The executor of `delete_login_profile`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/delete_login_profile.rs`.

use mamoru_core::action::kinds::delete_login_profile as this;

use aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfileError;
use aws_sdk_iam::operation::get_login_profile::GetLoginProfileError;
use aws_sdk_iam::operation::get_user::GetUserError;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    /// Reads the user, then its login profile. A user that does not exist is a failure; a
    /// user without a console password is "already done".
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::User { user_name: user } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let none = json!({"LoginProfile": false});
        match clients.iam.get_user().user_name(user).send().await {
            Ok(_) => {}
            Err(SdkError::ServiceError(ctx)) => {
                return match ctx.into_err() {
                    GetUserError::NoSuchEntityException(_) => {
                        Outcome::not_found(action, &format!("IAM user {user}"))
                    }
                    other => Outcome::failed(action, service_failure("iam:GetUser", &other)),
                };
            }
            Err(other) => return Outcome::failed(action, failure("iam:GetUser", other)),
        }
        match clients.iam.get_login_profile().user_name(user).send().await {
            Ok(_) => {}
            Err(SdkError::ServiceError(ctx)) => {
                return match ctx.into_err() {
                    GetLoginProfileError::NoSuchEntityException(_) => Outcome::new(
                        action,
                        Status::AlreadyDone,
                        format!("IAM user {user} has no console password"),
                    )
                    .with_state(Some(none.clone()), Some(none)),
                    other => Outcome::failed(
                        action,
                        service_failure("iam:GetLoginProfile", &other),
                    ),
                };
            }
            Err(other) => {
                return Outcome::failed(action, failure("iam:GetLoginProfile", other));
            }
        }
        let before = Some(json!({"LoginProfile": true}));
        match clients.iam.delete_login_profile().user_name(user).send().await {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("console password of IAM user {user} deleted; its keys and policies kept"),
            )
            .with_state(before, Some(none)),
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                // Gone between the read and the delete: someone else removed it.
                DeleteLoginProfileError::NoSuchEntityException(_) => Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!("IAM user {user} has no console password"),
                )
                .with_state(before, Some(none)),
                other => Outcome::failed(
                    action,
                    service_failure("iam:DeleteLoginProfile", &other),
                )
                .with_state(before, None),
            },
            Err(other) => Outcome::failed(action, failure("iam:DeleteLoginProfile", other))
                .with_state(before, None),
        }
    }
}
