//! `restore_account_public_access_block` (containment, opt-in): `s3control:PutPublicAccessBlock`
//! with all four settings on, for the account a Security Hub S3.1 finding names (its `AwsAccount`
//! resource, which must be the finding's own `AwsAccountId`). The account's setting is read
//! before (none set is the state to fix, not an error) and after.

use serde_json::{Value, json};

use super::restore_bucket_public_access_block::{all_four_on, turns_all_four_on};
use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, securityhub_finding};
use crate::event::{
    CloudTrailCall, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, Event, EventKind,
};

pub struct Def;

/// The prefix of an `AwsAccount` resource's `Id` in ASFF (`AWS::::Account:111122223333`).
const ACCOUNT_ID_PREFIX: &str = "AWS::::Account:";

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "restore_account_public_access_block"
    }
    fn summary(&self) -> &'static str {
        "Turn on all four Block Public Access settings of the account a finding names (Security Hub S3.1; containment)"
    }
    fn api(&self) -> &'static str {
        "s3control:PutPublicAccessBlock"
    }
    fn grants(&self) -> &'static [Grant] {
        // The S3 Control operations GetPublicAccessBlock and PutPublicAccessBlock are authorised
        // by these IAM actions, which have no resource type.
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["s3:GetAccountPublicAccessBlock"]),
            Grant::anywhere_in_region(&["s3:PutAccountPublicAccessBlock"]),
        ];
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_SECURITYHUB_IMPORTED, DT_SECURITYHUB_CUSTOM_ACTION]
    }
    fn words(&self) -> Words {
        Words {
            done: "account public access blocked",
            already: "account public access already blocked",
            would: "would block the account's public access",
            noun: "account public access block",
            withheld: "restore the account's public access block",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::SecurityHub(_) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let f = securityhub_finding(event).ok_or("the event carries no single finding")?;
        let r = f
            .resource("AwsAccount")
            .ok_or("the finding names no account (Resources[].Type AwsAccount)")?;
        let id = r.id.as_deref().unwrap_or_default();
        let account = id
            .strip_prefix(ACCOUNT_ID_PREFIX)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                format!("the finding's AwsAccount resource Id `{id}` is not `{ACCOUNT_ID_PREFIX}<12 digits>`")
            })?;
        if account != f.aws_account_id {
            return Err(format!(
                "the finding's AwsAccount resource is account {account}, not the finding's AwsAccountId {}",
                f.aws_account_id
            ));
        }
        Ok((event.region.clone(), Target::AccountPublicAccessBlock))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::AccountPublicAccessBlock => {
                json!({ "PublicAccessBlockConfiguration": all_four_on() })
            }
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("turn on all four settings of {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        // CloudTrail records the S3 Control call under s3.amazonaws.com; its parameters are
        // read as those of the bucket call (no published record of it was found).
        call_is(call, "s3.amazonaws.com", "PutAccountPublicAccessBlock")
            .then(|| turns_all_four_on(call))
    }
}
