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

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_s3::types::{
        BucketVersioningStatus, MfaDeleteStatus, VersioningConfiguration,
    };
    use serde_json::{Value, json};

    use crate::action::exec::{Clients, Execute, Failure, failure};
    use crate::action::{Action, Outcome, Status, Target};

    /// The versioning status and MFA Delete of a bucket, as GetBucketVersioning answers (both
    /// absent on a bucket whose versioning was never set).
    struct State {
        status: Option<BucketVersioningStatus>,
        mfa_delete: Option<MfaDeleteStatus>,
    }

    impl State {
        fn json(&self) -> Value {
            json!({
                "Status": self.status.as_ref().map(|s| s.as_str()),
                "MFADelete": self.mfa_delete.as_ref().map(|s| s.as_str()),
            })
        }
    }

    async fn read(client: &aws_sdk_s3::Client, action: &Action, bucket: &str) -> Result<State, Outcome> {
        match client.get_bucket_versioning().bucket(bucket).send().await {
            Ok(out) => Ok(State {
                status: out.status,
                mfa_delete: out.mfa_delete,
            }),
            Err(err) => {
                // `failure` keeps the service's error code: a missing bucket is "not found".
                let f: Failure = failure("s3:GetBucketVersioning", err);
                Err(if f.code.as_deref() == Some("NoSuchBucket") {
                    Outcome::not_found(action, &format!("S3 bucket {bucket}"))
                } else {
                    Outcome::failed(action, f)
                })
            }
        }
    }

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            let Target::Bucket { name: bucket } = &action.target else {
                return Outcome::wrong_target(action);
            };
            let client = clients.s3.get(&action.region);
            let before = match read(&client, action, bucket).await {
                Ok(s) => s,
                Err(o) => return o,
            };
            if before.status == Some(BucketVersioningStatus::Enabled) {
                return Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!("bucket {bucket} already has versioning enabled"),
                )
                .with_state(Some(before.json()), Some(before.json()));
            }
            if before.mfa_delete == Some(MfaDeleteStatus::Enabled) {
                // Any change to the versioning of such a bucket must carry the root user's MFA
                // device and code (the x-amz-mfa header): a person has to make it.
                return Outcome {
                    retryable: Some(false),
                    error_code: Some("NeedsPerson".into()),
                    ..Outcome::new(
                        action,
                        Status::Failed,
                        format!(
                            "bucket {bucket} has MFA Delete enabled: turning versioning on again needs the root user's MFA device, so a person must do it; nothing was changed"
                        ),
                    )
                }
                .with_state(Some(before.json()), Some(before.json()));
            }
            let config = VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build();
            if let Err(err) = client
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(config)
                .send()
                .await
            {
                return Outcome::failed(action, failure("s3:PutBucketVersioning", err))
                    .with_state(Some(before.json()), None);
            }
            let after = match read(&client, action, bucket).await {
                Ok(s) => s,
                Err(o) => return o.with_state(Some(before.json()), None),
            };
            if after.status != Some(BucketVersioningStatus::Enabled) {
                return Outcome {
                    retryable: Some(true),
                    error_code: Some("NotApplied".into()),
                    ..Outcome::new(
                        action,
                        Status::Failed,
                        format!(
                            "bucket {bucket}: PutBucketVersioning succeeded but versioning reads back as {}",
                            after.status.as_ref().map_or("unset", |s| s.as_str())
                        ),
                    )
                }
                .with_state(Some(before.json()), Some(after.json()));
            }
            Outcome::new(
                action,
                Status::Done,
                format!(
                    "bucket {bucket} has versioning enabled again: objects overwritten or deleted while it was suspended have no earlier version"
                ),
            )
            .with_state(Some(before.json()), Some(after.json()))
        }
    }
}
