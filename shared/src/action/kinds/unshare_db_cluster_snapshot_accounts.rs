//! `unshare_db_cluster_snapshot_accounts` (opt-in): `rds:ModifyDBClusterSnapshotAttribute`
//! removing, from the `restore` attribute of the manual DB cluster snapshot a
//! ModifyDBClusterSnapshotAttribute call shared, exactly the accounts that call added and that are
//! outside (as for `unshare_db_snapshot_accounts`). Accounts shared before, or trusted, keep
//! their permission.

use serde_json::Value;

use super::make_db_snapshot_private::{
    GRANTS_CLUSTER, Kind, bind_accounts, db_snapshot_params, restores_db_snapshot, scope_accounts,
};
use super::unshare_db_snapshot_accounts::accounts_of;
use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "unshare_db_cluster_snapshot_accounts"
    }
    fn summary(&self) -> &'static str {
        "Take back the restore permissions a ModifyDBClusterSnapshotAttribute call gave accounts outside the organization and the trusted list (opt-in)"
    }
    fn api(&self) -> &'static str {
        "rds:ModifyDBClusterSnapshotAttribute"
    }
    fn grants(&self) -> &'static [Grant] {
        GRANTS_CLUSTER
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "DB cluster snapshot sharing removed",
            already: "DB cluster snapshot no longer shared",
            would: "would remove DB cluster snapshot sharing",
            noun: "DB cluster snapshot unsharing",
            withheld: "remove the DB cluster snapshot's sharing with outside accounts",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_accounts(self, Kind::CLUSTER, event)
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
        restores_db_snapshot(Kind::CLUSTER, call)
    }
}
