//! `unshare_snapshot_accounts` (opt-in): `ec2:ModifySnapshotAttribute` removing, from the EBS
//! snapshot a ModifySnapshotAttribute call shared, the create-volume permissions of exactly the
//! accounts that call added and that are outside (not the snapshot's own account, mamoru's hub,
//! the organization's accounts mamoru acts in, or `MAMORU_TRUSTED_ACCOUNTS`). Accounts shared
//! before, or trusted, keep their permission.

use serde_json::Value;

use super::unshare_public_snapshot::{account_id_ok, bind_snapshot, only_removes, snapshot_params};
use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "unshare_snapshot_accounts"
    }
    fn summary(&self) -> &'static str {
        "Take back the create-volume permissions a ModifySnapshotAttribute call gave accounts outside the organization and the trusted list (opt-in)"
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
            done: "snapshot sharing removed",
            already: "snapshot no longer shared",
            would: "would remove snapshot sharing",
            noun: "snapshot unsharing",
            withheld: "remove the snapshot's sharing with outside accounts",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let (region, snapshot_id, _, accounts) = bind_snapshot(self, event)?;
        let accounts: Vec<String> = accounts.into_iter().filter(|a| account_id_ok(a)).collect();
        if accounts.is_empty() {
            return Err("the call shares the snapshot with no account ID".into());
        }
        Ok((
            region,
            Target::Snapshot {
                snapshot_id,
                public: false,
                accounts,
            },
        ))
    }
    fn scope(&self, target: Target, outside: &dyn Fn(&str) -> bool) -> Result<Target, String> {
        match target {
            Target::Snapshot {
                snapshot_id,
                public,
                accounts,
            } => {
                let accounts: Vec<String> = accounts.into_iter().filter(|a| outside(a)).collect();
                if accounts.is_empty() && !public {
                    return Err("every account the snapshot was shared with is trusted".into());
                }
                Ok(Target::Snapshot {
                    snapshot_id,
                    public,
                    accounts,
                })
            }
            other => Ok(other),
        }
    }
    fn params(&self, target: &Target) -> Value {
        snapshot_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        let accounts = match &action.target {
            Target::Snapshot { accounts, .. } => accounts.join(", "),
            _ => String::new(),
        };
        format!(
            "remove the create-volume permission of {accounts} from {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        crate::action::call_is(call, "ec2.amazonaws.com", "ModifySnapshotAttribute")
            .then(|| only_removes(call, "createVolumePermission"))
    }
}
