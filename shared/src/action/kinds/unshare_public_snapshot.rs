//! `unshare_public_snapshot`: `ec2:ModifySnapshotAttribute` removing the `all` group from the
//! create-volume permissions of the EBS snapshot a ModifySnapshotAttribute call made public, in
//! the call's region and account. Only that permission: the accounts the snapshot is shared with
//! stay (their removal is `unshare_snapshot_accounts`, opt-in).

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, required};
use crate::decide::facts::added_shares;
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

/// A resource ID of EC2's form `<prefix>-<letters and digits>`.
pub(crate) fn ec2_id_ok(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| {
            !rest.is_empty() && rest.len() <= 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// A 12-digit account ID.
pub(crate) fn account_id_ok(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// The snapshot a ModifySnapshotAttribute call names and what it shared: (region, id, public,
/// accounts).
pub(crate) fn bind_snapshot(
    def: &dyn ActionDef,
    event: &Event,
) -> Result<(String, String, bool, Vec<String>), String> {
    let EventKind::CloudTrailCall(c) = &event.kind else {
        return Err(def.unsupported(event));
    };
    if c.event_source != "ec2.amazonaws.com" || c.event_name != "ModifySnapshotAttribute" {
        return Err(format!(
            "{} acts on ModifySnapshotAttribute calls, not {}",
            def.name(),
            c.event_name
        ));
    }
    let id = required(c, "snapshotId")?;
    if !ec2_id_ok(&id, "snap") {
        return Err(format!("{id} is not an EBS snapshot ID"));
    }
    let shares = added_shares(c).ok_or("the call adds no create-volume permission")?;
    Ok((c.aws_region.clone(), id, shares.public, shares.accounts))
}

/// A call that only takes permissions away: the `remove` form of ModifySnapshotAttribute or
/// ModifyImageAttribute, with nothing added.
pub(crate) fn only_removes(call: &CloudTrailCall, attribute: &str) -> bool {
    let p = &call.request_parameters;
    let items = |op: &str| {
        p.pointer(&format!("/{attribute}/{op}/items"))
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    !items("add") && items("remove")
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "unshare_public_snapshot"
    }
    fn summary(&self) -> &'static str {
        "Make private again the EBS snapshot a ModifySnapshotAttribute call made public (remove the `all` group only)"
    }
    fn api(&self) -> &'static str {
        "ec2:ModifySnapshotAttribute"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &[
                "ec2:DescribeSnapshotAttribute",
                "ec2:ModifySnapshotAttribute",
            ],
            &[Grant::SNAPSHOTS],
        )];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "snapshot made private",
            already: "snapshot already private",
            would: "would make snapshot private",
            noun: "snapshot unsharing",
            withheld: "remove the snapshot's public create-volume permission",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let (region, snapshot_id, public, _) = bind_snapshot(self, event)?;
        if !public {
            return Err("the call does not make the snapshot public".into());
        }
        Ok((
            region,
            Target::Snapshot {
                snapshot_id,
                public: true,
                accounts: Vec::new(),
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        snapshot_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "remove the public (group all) create-volume permission of {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        crate::action::call_is(call, "ec2.amazonaws.com", "ModifySnapshotAttribute")
            .then(|| only_removes(call, "createVolumePermission"))
    }
}

/// ModifySnapshotAttribute's parameters for a snapshot target.
pub(crate) fn snapshot_params(target: &Target) -> Value {
    match target {
        Target::Snapshot {
            snapshot_id,
            public,
            accounts,
        } => {
            let mut p = json!({
                "SnapshotId": snapshot_id,
                "Attribute": "createVolumePermission",
                "OperationType": "remove",
            });
            if *public {
                p["GroupNames"] = json!(["all"]);
            }
            if !accounts.is_empty() {
                p["UserIds"] = json!(accounts);
            }
            p
        }
        _ => Value::Null,
    }
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_ec2::types::{
        OperationType, PermissionGroup, SnapshotAttributeName,
    };
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    use serde_json::{Value, json};

    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, Status, Target};

    impl Execute for super::Def {
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
}
#[cfg(feature = "aws")]
pub(crate) use exec::unshare_snapshot;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_ids_are_prefix_dash_alphanumeric() {
        assert!(ec2_id_ok("snap-041993b54a9b3af6f", "snap"));
        assert!(ec2_id_ok("ami-0b87ea1d007078d18", "ami"));
        assert!(!ec2_id_ok("snap-", "snap"));
        assert!(!ec2_id_ok("vol-0123", "snap"));
        assert!(!ec2_id_ok("snap-01/../x", "snap"));
        assert!(account_id_ok("444455556666"));
        assert!(!account_id_ok("bob"));
        assert!(!account_id_ok("4444555566667"));
    }
}
