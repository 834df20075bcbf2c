//! The executor of `revoke_role_sessions`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/revoke_role_sessions.rs`.

use mamoru_core::action::kinds::revoke_role_sessions as this;

use aws_sdk_iam::operation::put_role_policy::PutRolePolicyError;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, REVOKE_SESSIONS_POLICY, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Role { role_name: role } = &action.target else {
            return Outcome::wrong_target(action);
        };
        // Sessions issued before this instant are denied everything; new sessions (after the
        // credentials are rotated or the instance is cleaned) work again.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}
            }]
        });
        match clients
            .iam
            .put_role_policy()
            .role_name(role)
            .policy_name(REVOKE_SESSIONS_POLICY)
            .policy_document(policy.to_string())
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("sessions of role {role} issued before {now} are revoked"),
            )
            .with_state(
                None,
                Some(
                    json!({"PolicyName": REVOKE_SESSIONS_POLICY, "TokenIssueTimeBefore": now}),
                ),
            ),
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                PutRolePolicyError::NoSuchEntityException(_) => {
                    Outcome::not_found(action, &format!("IAM role {role}"))
                }
                other => Outcome::failed(action, service_failure("iam:PutRolePolicy", &other)),
            },
            Err(e) => Outcome::failed(action, failure("iam:PutRolePolicy", e)),
        }
    }
}
