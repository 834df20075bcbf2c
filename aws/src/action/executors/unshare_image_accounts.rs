//! The executor of `unshare_image_accounts`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/unshare_image_accounts.rs`.

use mamoru_core::action::kinds::unshare_image_accounts as this;

use crate::action::exec::{Clients, Execute};
use crate::action::{Action, Outcome};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        super::make_image_private::unshare_image(clients, action).await
    }
}
