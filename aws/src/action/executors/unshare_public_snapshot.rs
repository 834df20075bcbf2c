//! The executor of `unshare_public_snapshot`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/unshare_public_snapshot.rs`.

use mamoru_core::action::kinds::unshare_public_snapshot as this;

use aws_sdk_ec2::types::{
    OperationType, PermissionGroup, SnapshotAttributeName,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        unshare_snapshot(clients, action).await
    }
}

/// The snapshot's create-volume permissions: whether `all` may, and the accounts.
async fn read(
    client: &aws_sdk_ec2::Client,
    action: &Action,
    id: &str,
) -> Result<(bool, Vec<String>), Outcome> {
    match client
        .describe_snapshot_attribute()
        .snapshot_id(id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
    {
        Ok(out) => {
            let perms = out.create_volume_permissions();
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
            if err.code() == Some("InvalidSnapshot.NotFound") {
                Err(Outcome::not_found(action, &format!("EBS snapshot {id}")))
            } else {
                Err(Outcome::failed(
                    action,
                    service_failure("ec2:DescribeSnapshotAttribute", &err),
                ))
            }
        }
        Err(other) => Err(Outcome::failed(
            action,
            failure("ec2:DescribeSnapshotAttribute", other),
        )),
    }
}

fn state(public: bool, accounts: &[String]) -> Value {
    json!({"Public": public, "SharedWith": accounts})
}

/// Removes exactly what the target names and the snapshot still grants: the `all` group,
/// the accounts. Idempotent: nothing left to remove is "already done"; a snapshot that does
/// not exist is a failure.
pub(crate) async fn unshare_snapshot(clients: &Clients, action: &Action) -> Outcome {
    let Target::Snapshot {
        snapshot_id,
        public,
        accounts,
    } = &action.target
    else {
        return Outcome::wrong_target(action);
    };
    let client = clients.ec2.get(&action.region);
    let (was_public, shared) = match read(&client, action, snapshot_id).await {
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
            format!("EBS snapshot {snapshot_id} no longer grants what the call shared"),
        )
        .with_state(Some(before.clone()), Some(before));
    }
    let mut req = client
        .modify_snapshot_attribute()
        .snapshot_id(snapshot_id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Remove);
    if remove_public {
        req = req.group_names("all");
    }
    for a in &remove {
        req = req.user_ids(a.as_str());
    }
    if let Err(err) = req.send().await {
        return Outcome::failed(action, failure("ec2:ModifySnapshotAttribute", err));
    }
    let after = match read(&client, action, snapshot_id).await {
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
        format!("EBS snapshot {snapshot_id}: {} removed", what.join(" and ")),
    )
    .with_state(Some(before), Some(after))
}
