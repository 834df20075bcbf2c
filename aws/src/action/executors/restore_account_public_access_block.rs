//! The executor of `restore_account_public_access_block`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/restore_account_public_access_block.rs`.

use mamoru_core::action::kinds::restore_account_public_access_block as this;

use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

/// The four settings as read: all `null` when the account has none set.
fn state(c: Option<&PublicAccessBlockConfiguration>) -> Value {
    json!({
        "BlockPublicAcls": c.and_then(|c| c.block_public_acls()),
        "IgnorePublicAcls": c.and_then(|c| c.ignore_public_acls()),
        "BlockPublicPolicy": c.and_then(|c| c.block_public_policy()),
        "RestrictPublicBuckets": c.and_then(|c| c.restrict_public_buckets()),
    })
}

fn all_on(c: Option<&PublicAccessBlockConfiguration>) -> bool {
    c.is_some_and(|c| {
        [
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets(),
        ]
        .iter()
        .all(|s| *s == Some(true))
    })
}

/// The account's setting: `Ok(None)` when none is set (NoSuchPublicAccessBlockConfiguration).
async fn read(
    client: &aws_sdk_s3control::Client,
    account: &str,
) -> Result<Option<PublicAccessBlockConfiguration>, crate::action::exec::Failure> {
    match client
        .get_public_access_block()
        .account_id(account)
        .send()
        .await
    {
        Ok(out) => Ok(out.public_access_block_configuration),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_public_access_block_configuration()) =>
        {
            Ok(None)
        }
        Err(err) => Err(failure("s3control:GetPublicAccessBlock", err)),
    }
}

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::AccountPublicAccessBlock = &action.target else {
            return Outcome::wrong_target(action);
        };
        let account = action.account.as_str();
        let client = clients.s3control.get(&action.region);
        let before = match read(&client, account).await {
            Ok(c) => c,
            Err(f) => return Outcome::failed(action, f),
        };
        if all_on(before.as_ref()) {
            let s = state(before.as_ref());
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("account {account} already blocks all public access"),
            )
            .with_state(Some(s.clone()), Some(s));
        }
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        if let Err(err) = client
            .put_public_access_block()
            .account_id(account)
            .public_access_block_configuration(config)
            .send()
            .await
        {
            return Outcome::failed(action, failure("s3control:PutPublicAccessBlock", err));
        }
        let after = match read(&client, account).await {
            Ok(c) => c,
            Err(f) => return Outcome::failed(action, f),
        };
        if !all_on(after.as_ref()) {
            return Outcome::failed(
                action,
                crate::action::exec::Failure {
                    code: Some("NotApplied".into()),
                    message: format!(
                        "account {account}'s public access block was put, but reads back as {}",
                        state(after.as_ref())
                    ),
                    retryable: true,
                },
            )
            .with_state(Some(state(before.as_ref())), Some(state(after.as_ref())));
        }
        Outcome::new(
            action,
            Status::Done,
            format!("account {account} blocks all public access"),
        )
        .with_state(Some(state(before.as_ref())), Some(state(after.as_ref())))
    }
}
