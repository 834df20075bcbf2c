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
