//! The executor of `tag_malicious_object`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/tag_malicious_object.rs`.

use mamoru_core::action::kinds::tag_malicious_object as this;

use aws_sdk_s3::types::{Tag, Tagging};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::json;

use this::{TAG_KEY, TAG_VALUE};
use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

/// S3 allows at most 10 tags on an object.
const MAX_TAGS: usize = 10;

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Object {
            bucket,
            key,
            version_id,
        } = &action.target
        else {
            return Outcome::wrong_target(action);
        };
        let client = clients.s3.get(&action.region);
        let what = format!("object {key} of bucket {bucket}");
        let read = client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .version_id(version_id)
            .send()
            .await;
        let tags = match read {
            Ok(out) => out.tag_set,
            Err(e) => {
                let code = e.as_service_error().and_then(|s| s.code());
                if matches!(code, Some("NoSuchKey" | "NoSuchBucket" | "NoSuchVersion")) {
                    return Outcome::not_found(action, &what);
                }
                return Outcome::failed(action, failure("s3:GetObjectTagging", e));
            }
        };
        let shown = |tags: &[Tag]| {
            json!(
                tags.iter()
                    .map(|t| json!({"Key": t.key(), "Value": t.value()}))
                    .collect::<Vec<_>>()
            )
        };
        let before = shown(&tags);
        if tags
            .iter()
            .any(|t| t.key() == TAG_KEY && t.value() == TAG_VALUE)
        {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("{what} is already tagged {TAG_KEY}={TAG_VALUE}"),
            )
            .with_state(Some(before.clone()), Some(before));
        }
        let mut new_tags: Vec<Tag> = tags.into_iter().filter(|t| t.key() != TAG_KEY).collect();
        if new_tags.len() >= MAX_TAGS {
            return Outcome::failed(
                action,
                crate::action::exec::Failure {
                    code: Some("TooManyTags".into()),
                    message: format!(
                        "{what} already has {MAX_TAGS} tags: none was replaced, nothing was changed"
                    ),
                    retryable: false,
                },
            );
        }
        let Ok(tag) = Tag::builder().key(TAG_KEY).value(TAG_VALUE).build() else {
            return Outcome::wrong_target(action);
        };
        new_tags.push(tag);
        let Ok(tagging) = Tagging::builder()
            .set_tag_set(Some(new_tags.clone()))
            .build()
        else {
            return Outcome::wrong_target(action);
        };
        match client
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .version_id(version_id)
            .tagging(tagging)
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("{what} is tagged {TAG_KEY}={TAG_VALUE}"),
            )
            .with_state(Some(before), Some(shown(&new_tags))),
            Err(e) => Outcome::failed(action, failure("s3:PutObjectTagging", e)),
        }
    }
}
