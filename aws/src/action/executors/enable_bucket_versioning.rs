//! The executor of `enable_bucket_versioning`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/enable_bucket_versioning.rs`.

use mamoru_core::action::kinds::enable_bucket_versioning as this;

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

impl Execute for this::Def {
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
