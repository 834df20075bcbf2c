//! `enable_ebs_encryption_by_default`: `ec2:EnableEbsEncryptionByDefault` in the region and
//! account where a DisableEbsEncryptionByDefault call turned it off. Volumes created in between
//! stay unencrypted: the notification says so; the default KMS key is left as it is.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "enable_ebs_encryption_by_default"
    }
    fn summary(&self) -> &'static str {
        "Turn EBS encryption by default on again in the region where a DisableEbsEncryptionByDefault call turned it off"
    }
    fn api(&self) -> &'static str {
        "ec2:EnableEbsEncryptionByDefault"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["ec2:GetEbsEncryptionByDefault"]),
            Grant::anywhere_in_region(&["ec2:EnableEbsEncryptionByDefault"]),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "EBS encryption by default enabled",
            already: "EBS encryption by default already enabled",
            would: "would enable EBS encryption by default",
            noun: "EBS encryption by default re-enable",
            withheld: "turn EBS encryption by default on",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !call_is(c, "ec2.amazonaws.com", "DisableEbsEncryptionByDefault") {
            return Err(format!(
                "{} acts on DisableEbsEncryptionByDefault calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        Ok((c.aws_region.clone(), Target::EbsEncryptionByDefault))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::EbsEncryptionByDefault => json!({}),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("turn on {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "ec2.amazonaws.com", "EnableEbsEncryptionByDefault").then_some(true)
    }
}
