//! `unshare_db_snapshot_accounts` (opt-in): `rds:ModifyDBSnapshotAttribute` removing, from the
//! `restore` attribute of the manual RDS DB snapshot a ModifyDBSnapshotAttribute call shared,
//! exactly the accounts that call added and that are outside (not the snapshot's own account,
//! mamoru's hub, the organization's accounts mamoru acts in, or `MAMORU_TRUSTED_ACCOUNTS`).
//! Accounts shared before, or trusted, keep their permission.

use serde_json::Value;

use super::make_db_snapshot_private::{
    GRANTS_INSTANCE, Kind, bind_accounts, db_snapshot_params, restores_db_snapshot, scope_accounts,
};
use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event};

pub struct Def;

/// The accounts an RDS snapshot target names, for people.
pub(crate) fn accounts_of(action: &Action) -> String {
    match &action.target {
        Target::DbSnapshot { accounts, .. } => accounts.join(", "),
        _ => String::new(),
    }
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "unshare_db_snapshot_accounts"
    }
    fn summary(&self) -> &'static str {
        "Take back the restore permissions a ModifyDBSnapshotAttribute call gave accounts outside the organization and the trusted list (opt-in)"
    }
    fn api(&self) -> &'static str {
        "rds:ModifyDBSnapshotAttribute"
    }
    fn grants(&self) -> &'static [Grant] {
        GRANTS_INSTANCE
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "DB snapshot sharing removed",
            already: "DB snapshot no longer shared",
            would: "would remove DB snapshot sharing",
            noun: "DB snapshot unsharing",
            withheld: "remove the DB snapshot's sharing with outside accounts",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_accounts(self, Kind::INSTANCE, event)
    }
    fn scope(&self, target: Target, outside: &dyn Fn(&str) -> bool) -> Result<Target, String> {
        scope_accounts(target, outside)
    }
    fn params(&self, target: &Target) -> Value {
        db_snapshot_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "remove the restore permission of {} from {}",
            accounts_of(action),
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        restores_db_snapshot(Kind::INSTANCE, call)
    }
}
