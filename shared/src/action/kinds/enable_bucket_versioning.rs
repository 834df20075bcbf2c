//! `enable_bucket_versioning`: `s3:PutBucketVersioning` with `Status` `Enabled` on the bucket a
//! PutBucketVersioning call suspended, in the call's region and account. Only the status: MFA
//! Delete is never sent. Changing the versioning of a bucket whose MFA Delete is enabled needs the
//! root user's MFA device in the request, which no role has: such a bucket fails with "needs a
//! person" and is left as it is.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

/// A bucket name as S3 allows it: 3 to 63 lowercase letters, digits, dots and hyphens.
fn bucket_name_ok(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// The `Status` a PutBucketVersioning record's `VersioningConfiguration` sets.
fn status(call: &CloudTrailCall) -> Option<&str> {
    call.request_parameters
        .get("VersioningConfiguration")
        .and_then(|c| c.get("Status"))
        .and_then(Value::as_str)
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "enable_bucket_versioning"
    }
    fn summary(&self) -> &'static str {
        "Turn versioning on again on the S3 bucket a PutBucketVersioning call suspended (MFA Delete is never touched: a bucket with it enabled needs a person)"
    }
    fn api(&self) -> &'static str {
        "s3:PutBucketVersioning"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
            &[Grant::BUCKETS],
        )];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "bucket versioning enabled",
            already: "bucket versioning already enabled",
            would: "would enable bucket versioning",
            noun: "bucket versioning re-enable",
            withheld: "turn the bucket's versioning on again",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !call_is(c, "s3.amazonaws.com", "PutBucketVersioning") {
            return Err(format!(
                "{} acts on PutBucketVersioning calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        if status(c) != Some("Suspended") {
            return Err(
                "requestParameters.VersioningConfiguration.Status is not Suspended".to_string(),
            );
        }
        let name = required(c, "bucketName")?;
        if !bucket_name_ok(&name) {
            return Err("requestParameters.bucketName is not an S3 bucket name".to_string());
        }
        Ok((c.aws_region.clone(), Target::Bucket { name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Bucket { name } => json!({
                "Bucket": name,
                "VersioningConfiguration": {"Status": "Enabled"}
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("turn versioning on again on {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "s3.amazonaws.com", "PutBucketVersioning")
            .then(|| status(call) == Some("Enabled"))
    }
}
