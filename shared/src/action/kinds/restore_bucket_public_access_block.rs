//! `restore_bucket_public_access_block` (containment, opt-in): `s3:PutPublicAccessBlock` with all
//! four settings on, on the bucket a finding names (GuardDuty, or a Security Hub finding's
//! `AwsS3Bucket` resource).

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, securityhub_finding};
use crate::event::{
    CloudTrailCall, DT_GUARDDUTY_FINDING, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED,
    Event, EventKind,
};

pub struct Def;

const SETTINGS: [&str; 4] = [
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
];

/// The four Block Public Access settings, all on (a bucket's, or an account's).
pub fn all_four_on() -> Value {
    json!({
        "BlockPublicAcls": true, "IgnorePublicAcls": true,
        "BlockPublicPolicy": true, "RestrictPublicBuckets": true
    })
}

/// Whether a CloudTrail call's `PublicAccessBlockConfiguration` turns all four settings on.
pub(crate) fn turns_all_four_on(call: &CloudTrailCall) -> bool {
    call.request_parameters
        .get("PublicAccessBlockConfiguration")
        .is_some_and(|c| {
            SETTINGS
                .iter()
                .all(|k| c.get(*k).and_then(Value::as_bool) == Some(true))
        })
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "restore_bucket_public_access_block"
    }
    fn summary(&self) -> &'static str {
        "Turn on all four Block Public Access settings of the bucket a finding names (GuardDuty, Security Hub S3.8; containment)"
    }
    fn api(&self) -> &'static str {
        "s3:PutPublicAccessBlock"
    }
    fn grants(&self) -> &'static [Grant] {
        // The operation PutPublicAccessBlock is authorised by this IAM action.
        const GRANTS: &[Grant] = &[Grant::on(
            &["s3:PutBucketPublicAccessBlock"],
            &[Grant::BUCKETS],
        )];
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[
            DT_GUARDDUTY_FINDING,
            DT_SECURITYHUB_IMPORTED,
            DT_SECURITYHUB_CUSTOM_ACTION,
        ]
    }
    fn words(&self) -> Words {
        Words {
            done: "public access blocked",
            already: "public access already blocked",
            would: "would block public access",
            noun: "public access block",
            withheld: "restore the bucket's public access block",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        if let EventKind::SecurityHub(_) = &event.kind {
            let f = securityhub_finding(event).ok_or("the event carries no single finding")?;
            let r = f
                .resource("AwsS3Bucket")
                .ok_or("the finding names no S3 bucket (AwsS3Bucket)")?;
            let name = r
                .id
                .as_deref()
                .and_then(|id| id.strip_prefix("arn:aws:s3:::").or_else(|| id.split_once(":s3:::").map(|(_, n)| n)))
                .filter(|n| !n.is_empty() && !n.contains('/'))
                .ok_or("the finding's bucket is not an S3 bucket ARN")?;
            let region = r
                .region
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| event.region.clone());
            return Ok((
                region,
                Target::Bucket {
                    name: name.to_string(),
                },
            ));
        }
        let EventKind::GuardDutyFinding(f) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let name = f
            .resource
            .s3_bucket_details
            .first()
            .and_then(|b| b.name.clone())
            .filter(|n| !n.is_empty())
            .ok_or("the finding names no S3 bucket")?;
        Ok((event.region.clone(), Target::Bucket { name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Bucket { name } => json!({
                "Bucket": name,
                "PublicAccessBlockConfiguration": all_four_on(),
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("block all public access to {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "s3.amazonaws.com", "PutBucketPublicAccessBlock")
            .then(|| turns_all_four_on(call))
    }
}
