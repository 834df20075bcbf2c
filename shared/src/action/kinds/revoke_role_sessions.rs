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
