//! `make_db_cluster_snapshot_private`: `rds:ModifyDBClusterSnapshotAttribute` removing the value
//! `all` from the `restore` attribute of the manual DB cluster snapshot a
//! ModifyDBClusterSnapshotAttribute call made public, in the call's region and account. Only that
//! value: the accounts the snapshot is shared with stay (their removal is
//! `unshare_db_cluster_snapshot_accounts`, opt-in).

use serde_json::Value;

use super::make_db_snapshot_private::{
    GRANTS_CLUSTER, Kind, bind_public, db_snapshot_params, restores_db_snapshot,
};
use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "make_db_cluster_snapshot_private"
    }
    fn summary(&self) -> &'static str {
        "Make private again the RDS DB cluster snapshot a ModifyDBClusterSnapshotAttribute call made public (remove the `all` value of `restore` only)"
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
            done: "DB cluster snapshot made private",
            already: "DB cluster snapshot already private",
            would: "would make DB cluster snapshot private",
            noun: "DB cluster snapshot unsharing",
            withheld: "remove the DB cluster snapshot's public restore permission",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_public(self, Kind::CLUSTER, event)
    }
    fn params(&self, target: &Target) -> Value {
        db_snapshot_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "remove the public (all) restore permission of {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        restores_db_snapshot(Kind::CLUSTER, call)
    }
}
