//! `revoke_role_sessions` (containment, opt-in): `iam:PutRolePolicy` AWSRevokeOlderSessions on
//! the role whose session credentials a finding names: every session issued before now is
//! denied everything. New sessions work again.

use serde_json::{Value, json};

use crate::action::{
    Action, ActionDef, Grant, REVOKE_SESSIONS_POLICY, Target, Words, call_is, denies_only,
    finding_key,
};
use crate::event::{CloudTrailCall, DT_GUARDDUTY_FINDING, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "revoke_role_sessions"
    }
    fn summary(&self) -> &'static str {
        "Deny everything to the sessions of the role a finding names issued until now (containment)"
    }
    fn api(&self) -> &'static str {
        "iam:PutRolePolicy"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["iam:PutRolePolicy"], &[Grant::IAM_ROLES])];
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
            done: "role sessions revoked",
            already: "role sessions already revoked",
            would: "would revoke role sessions",
            noun: "session revocation",
            withheld: "revoke the role's older sessions",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::GuardDutyFinding(f) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let (key, user_name) = finding_key(f)?;
        if key.user_type.as_deref() != Some("AssumedRole") {
            return Err("the finding's principal is not an assumed role".into());
        }
        // For an AssumedRole principal, GuardDuty's userName is the role name.
        Ok((
            event.region.clone(),
            Target::Role {
                role_name: user_name,
            },
        ))
    }
    /// An attack sequence: each role whose session key it lists among its resources.
    fn bind_all(&self, event: &Event) -> Vec<Result<(String, Target), String>> {
        use crate::action::sequence_targets as seq;
        match seq::of(event) {
            Some((f, s)) => seq::or_none(seq::roles(f, s), "session key of an assumed role")
                .into_iter()
                .map(|t| t.map(|t| (event.region.clone(), t)))
                .collect(),
            None => vec![self.bind(event)],
        }
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Role { role_name } => json!({
                "RoleName": role_name,
                "PolicyName": REVOKE_SESSIONS_POLICY,
                "PolicyDocument": "Deny * on * when aws:TokenIssueTime is before the time of the revocation"
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "revoke the sessions of {} issued until now",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "iam.amazonaws.com", "PutRolePolicy").then(|| {
            call.request_str("policyName") == Some(REVOKE_SESSIONS_POLICY)
                && denies_only(call.request_str("policyDocument"))
        })
    }
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_iam::operation::put_role_policy::PutRolePolicyError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use serde_json::json;

    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, REVOKE_SESSIONS_POLICY, Status, Target};

    impl Execute for super::Def {
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
}
