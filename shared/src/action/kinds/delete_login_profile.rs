//! `delete_login_profile` (opt-in): `iam:DeleteLoginProfile` of the IAM user a
//! CreateLoginProfile or UpdateLoginProfile call gave a console password, when the caller was
//! another principal, in the call's account. The user keeps its access keys, policies and groups;
//! only console sign-in goes (an administrator sets a new password with CreateLoginProfile).

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::decide::facts::other_user;
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "delete_login_profile"
    }
    fn summary(&self) -> &'static str {
        "Delete the console password a CreateLoginProfile or UpdateLoginProfile call set for another IAM user (opt-in)"
    }
    fn api(&self) -> &'static str {
        "iam:DeleteLoginProfile"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &["iam:GetUser", "iam:GetLoginProfile", "iam:DeleteLoginProfile"],
            &[Grant::IAM_USERS],
        )];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "console password deleted",
            already: "no console password left",
            would: "would delete console password",
            noun: "console password deletion",
            withheld: "delete the user's console password",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !(call_is(c, "iam.amazonaws.com", "CreateLoginProfile")
            || call_is(c, "iam.amazonaws.com", "UpdateLoginProfile"))
        {
            return Err(format!(
                "{} acts on CreateLoginProfile and UpdateLoginProfile calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        let user_name = required(c, "userName")?;
        if other_user(c).is_none() {
            return Err("the password is the caller's own".into());
        }
        Ok((c.aws_region.clone(), Target::User { user_name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::User { user_name } => json!({ "UserName": user_name }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("delete the console password of {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "iam.amazonaws.com", "DeleteLoginProfile").then_some(true)
    }
}
