//! The executor of `restore_bucket_public_access_block`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/restore_bucket_public_access_block.rs`.

use mamoru_core::action::kinds::restore_bucket_public_access_block as this;

use aws_sdk_s3::types::PublicAccessBlockConfiguration;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Bucket { name: bucket } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.s3.get(&action.region);
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        match client
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(config)
            .send()
            .await
        {
            Ok(_) => Outcome::new(action, Status::Done, format!("bucket {bucket} blocks all public access"))
                .with_state(None, Some(this::all_four_on())),
            Err(e) => Outcome::failed(action, failure("s3:PutPublicAccessBlock", e)),
        }
    }
}
