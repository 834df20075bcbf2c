//! `quarantine_user` (containment, opt-in): `iam:PutUserPolicy` with the deny-all inline policy
//! mamoru-quarantine on the IAM user a finding names, in addition to the key deactivation.

use serde_json::{Value, json};

use crate::action::{
    Action, ActionDef, Grant, QUARANTINE_POLICY, Target, Words, call_is, denies_only, finding_key,
};
use crate::event::{CloudTrailCall, DT_GUARDDUTY_FINDING, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "quarantine_user"
    }
    fn summary(&self) -> &'static str {
        "Put a deny-all inline policy on the IAM user a finding names (containment)"
    }
    fn api(&self) -> &'static str {
        "iam:PutUserPolicy"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["iam:PutUserPolicy"], &[Grant::IAM_USERS])];
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_GUARDDUTY_FINDING]
    }
    fn words(&self) -> Words {
        Words {
            done: "user quarantined",
            already: "user already quarantined",
            would: "would quarantine user",
            noun: "user quarantine",
            withheld: "quarantine the IAM user",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::GuardDutyFinding(f) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let (key, user_name) = finding_key(f)?;
        if key.user_type.as_deref() != Some("IAMUser") {
            return Err("the finding's principal is not an IAM user".into());
        }
        Ok((event.region.clone(), Target::User { user_name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::User { user_name } => json!({
                "UserName": user_name,
                "PolicyName": QUARANTINE_POLICY,
                "PolicyDocument": "Deny * on *"
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("quarantine {} (deny all)", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "iam.amazonaws.com", "PutUserPolicy").then(|| {
            call.request_str("policyName") == Some(QUARANTINE_POLICY)
                && denies_only(call.request_str("policyDocument"))
        })
    }
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_iam::operation::put_user_policy::PutUserPolicyError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use serde_json::json;

    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, QUARANTINE_POLICY, Status, Target};

    impl Execute for super::Def {
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
}
