//! The executor of `make_image_private`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/make_image_private.rs`.

use mamoru_core::action::kinds::make_image_private as this;

use aws_sdk_ec2::types::{
    ImageAttributeName, LaunchPermission, LaunchPermissionModifications, PermissionGroup,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        unshare_image(clients, action).await
    }
}

/// The AMI's launch permissions: whether `all` may launch it, and the accounts.
async fn read(
    client: &aws_sdk_ec2::Client,
    action: &Action,
    id: &str,
) -> Result<(bool, Vec<String>), Outcome> {
    match client
        .describe_image_attribute()
        .image_id(id)
        .attribute(ImageAttributeName::LaunchPermission)
        .send()
        .await
    {
        Ok(out) => {
            let perms = out.launch_permissions();
            let public = perms
                .iter()
                .any(|p| p.group() == Some(&PermissionGroup::All));
            let accounts = perms
                .iter()
                .filter_map(|p| p.user_id().map(str::to_string))
                .collect();
            Ok((public, accounts))
        }
        Err(SdkError::ServiceError(ctx)) => {
            let err = ctx.into_err();
            if matches!(
                err.code(),
                Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")
            ) {
                Err(Outcome::not_found(action, &format!("AMI {id}")))
            } else {
                Err(Outcome::failed(
                    action,
                    service_failure("ec2:DescribeImageAttribute", &err),
                ))
            }
        }
        Err(other) => Err(Outcome::failed(
            action,
            failure("ec2:DescribeImageAttribute", other),
        )),
    }
}

fn state(public: bool, accounts: &[String]) -> Value {
    json!({"Public": public, "SharedWith": accounts})
}

/// Removes exactly what the target names and the AMI still grants: the `all` group, the
/// accounts. Idempotent: nothing left to remove is "already done"; an AMI that does not
/// exist is a failure.
pub(crate) async fn unshare_image(clients: &Clients, action: &Action) -> Outcome {
    let Target::Image {
        image_id,
        public,
        accounts,
    } = &action.target
    else {
        return Outcome::wrong_target(action);
    };
    let client = clients.ec2.get(&action.region);
    let (was_public, shared) = match read(&client, action, image_id).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let before = state(was_public, &shared);
    let remove_public = *public && was_public;
    let remove: Vec<&String> = accounts.iter().filter(|a| shared.contains(a)).collect();
    if !remove_public && remove.is_empty() {
        return Outcome::new(
            action,
            Status::AlreadyDone,
            format!("AMI {image_id} no longer grants what the call shared"),
        )
        .with_state(Some(before.clone()), Some(before));
    }
    let mut modifications = LaunchPermissionModifications::builder();
    if remove_public {
        modifications =
            modifications.remove(LaunchPermission::builder().group(PermissionGroup::All).build());
    }
    for a in &remove {
        modifications =
            modifications.remove(LaunchPermission::builder().user_id(a.as_str()).build());
    }
    if let Err(err) = client
        .modify_image_attribute()
        .image_id(image_id)
        .launch_permission(modifications.build())
        .send()
        .await
    {
        return Outcome::failed(action, failure("ec2:ModifyImageAttribute", err));
    }
    let after = match read(&client, action, image_id).await {
        Ok((p, a)) => state(p, &a),
        Err(outcome) => return outcome,
    };
    let mut what = Vec::new();
    if remove_public {
        what.push("public access".to_string());
    }
    if !remove.is_empty() {
        let list: Vec<&str> = remove.iter().map(|a| a.as_str()).collect();
        what.push(format!("sharing with {}", list.join(", ")));
    }
    Outcome::new(
        action,
        Status::Done,
        format!("AMI {image_id}: {} removed", what.join(" and ")),
    )
    .with_state(Some(before), Some(after))
}
