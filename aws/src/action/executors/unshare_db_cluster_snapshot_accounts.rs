//! The executor of `unshare_db_cluster_snapshot_accounts`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/unshare_db_cluster_snapshot_accounts.rs`.

use mamoru_core::action::kinds::unshare_db_cluster_snapshot_accounts as this;

use crate::action::exec::{Clients, Execute};
use crate::action::{Action, Outcome};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        super::make_db_snapshot_private::unshare_db_snapshot(clients, action).await
    }
}
