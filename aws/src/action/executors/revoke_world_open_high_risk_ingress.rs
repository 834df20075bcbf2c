//! The executor of `revoke_world_open_high_risk_ingress`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/revoke_world_open_high_risk_ingress.rs`.

use mamoru_core::action::kinds::revoke_world_open_high_risk_ingress as this;

use super::revoke_world_open_admin_ingress::revoke_world_open;
use crate::action::exec::{Clients, Execute};
use crate::action::{Action, Outcome};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        revoke_world_open(clients, action, &this::HIGH_RISK).await
    }
}
