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
