//! `deactivate_created_key` (opt-in): `iam:UpdateAccessKey` Status=Inactive on the access key a
//! CreateAccessKey call made for another IAM user (the key ID from the call's response, the user
//! from its request), in the call's account. That key only: the user's other keys stay, and the
//! key is not deleted (the user or an administrator can turn it on again).

use serde_json::Value;

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::decide::facts::other_user;
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "deactivate_created_key"
    }
    fn summary(&self) -> &'static str {
        "Set to Inactive the access key a CreateAccessKey call made for another IAM user (opt-in)"
    }
    fn api(&self) -> &'static str {
        "iam:UpdateAccessKey"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["iam:UpdateAccessKey"], &[Grant::IAM_USERS])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "new key deactivated",
            already: "new key already inactive",
            would: "would deactivate new key",
            noun: "key deactivation",
            withheld: "deactivate the new access key",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !call_is(c, "iam.amazonaws.com", "CreateAccessKey") {
            return Err(format!(
                "{} acts on CreateAccessKey calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        let user_name = required(c, "userName")?;
        if other_user(c).is_none() {
            return Err("the key is the caller's own".into());
        }
        // `get` by member rather than `pointer`, which builds a string for each step.
        let key = c.response_elements.get("accessKey");
        let access_key_id = key
            .and_then(|k| k.get("accessKeyId"))
            .and_then(Value::as_str)
            .ok_or("responseElements.accessKey.accessKeyId is missing")?;
        // The response names the user the key belongs to: it must be the one the request named.
        if let Some(owner) = key
            .and_then(|k| k.get("userName"))
            .and_then(Value::as_str)
            && owner != user_name
        {
            return Err(format!(
                "the response's key belongs to {owner}, not {user_name}"
            ));
        }
        if !access_key_id.starts_with("AKIA")
            || access_key_id.len() > 128
            || !access_key_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(format!(
                "key {access_key_id} is not a long-term IAM user key (AKIA…)"
            ));
        }
        Ok((
            c.aws_region.clone(),
            Target::AccessKey {
                user_name,
                access_key_id: access_key_id.to_string(),
            },
        ))
    }
    /// The same request as `deactivate_access_key`'s.
    fn params(&self, target: &Target) -> Value {
        super::deactivate_access_key::Def.params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!("deactivate the new {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        super::deactivate_access_key::Def.restores(call)
    }
}
