//! The executor of `quarantine_user`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/quarantine_user.rs`.

use mamoru_core::action::kinds::quarantine_user as this;

use aws_sdk_iam::operation::put_user_policy::PutUserPolicyError;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, QUARANTINE_POLICY, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::User { user_name: user } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "MamoruQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]
        });
        match clients
            .iam
            .put_user_policy()
            .user_name(user)
            .policy_name(QUARANTINE_POLICY)
            .policy_document(policy.to_string())
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!(
                    "IAM user {user} is quarantined by the inline policy {QUARANTINE_POLICY}"
                ),
            )
            .with_state(None, Some(json!({"PolicyName": QUARANTINE_POLICY}))),
            // A user that does not exist in this account is a failure naming the account,
            // as for the role and the key.
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                PutUserPolicyError::NoSuchEntityException(_) => {
                    Outcome::not_found(action, &format!("IAM user {user}"))
                }
                other => Outcome::failed(action, service_failure("iam:PutUserPolicy", &other)),
            },
            Err(e) => Outcome::failed(action, failure("iam:PutUserPolicy", e)),
        }
    }
}
