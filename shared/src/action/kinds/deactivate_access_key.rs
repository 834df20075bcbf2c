//! `deactivate_access_key`: `iam:UpdateAccessKey` Status=Inactive on the one long-term (AKIA) key
//! a GuardDuty finding names. Never the user's other keys, never a delete.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, finding_key};
use crate::event::{CloudTrailCall, DT_GUARDDUTY_FINDING, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "deactivate_access_key"
    }
    fn summary(&self) -> &'static str {
        "Set the one long-term (AKIA…) key a finding names to Inactive"
    }
    fn api(&self) -> &'static str {
        "iam:UpdateAccessKey"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["iam:UpdateAccessKey"], &[Grant::IAM_USERS])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_GUARDDUTY_FINDING]
    }
    fn words(&self) -> Words {
        Words {
            done: "key deactivated",
            already: "key already inactive",
            would: "would deactivate key",
            noun: "key deactivation",
            withheld: "deactivate the access key",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::GuardDutyFinding(f) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let (key, user_name) = finding_key(f)?;
        let access_key_id = key
            .access_key_id
            .clone()
            .ok_or("the finding names no accessKeyId")?;
        if !access_key_id.starts_with("AKIA") {
            return Err(format!(
                "key {access_key_id} is not a long-term IAM user key (AKIA…)"
            ));
        }
        Ok((
            event.region.clone(),
            Target::AccessKey {
                user_name,
                access_key_id,
            },
        ))
    }
    /// An attack sequence: each long-term IAM user key it lists among its resources, by the
    /// same rule (AKIA only, that key only).
    fn bind_all(&self, event: &Event) -> Vec<Result<(String, Target), String>> {
        use crate::action::sequence_targets as seq;
        match seq::of(event) {
            Some((f, s)) => seq::or_none(seq::access_keys(f, s), "long-term IAM user key")
                .into_iter()
                .map(|t| t.map(|t| (event.region.clone(), t)))
                .collect(),
            None => vec![self.bind(event)],
        }
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => json!({"UserName": user_name, "AccessKeyId": access_key_id, "Status": "Inactive"}),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("deactivate {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "iam.amazonaws.com", "UpdateAccessKey")
            .then(|| call.request_str("status") == Some("Inactive"))
    }
}
