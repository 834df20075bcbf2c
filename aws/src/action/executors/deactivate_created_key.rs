//! The executor of `deactivate_created_key`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/deactivate_created_key.rs`.

use mamoru_core::action::kinds::deactivate_created_key as this;

use crate::action::exec::{Clients, Execute};
use crate::action::{Action, Outcome};

impl Execute for this::Def {
    /// The same single idempotent call as `deactivate_access_key`: an Inactive key stays
    /// Inactive; a key or user that does not exist is a failure.
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        mamoru_core::action::kinds::deactivate_access_key::Def
            .execute(clients, action)
            .await
    }
}
