//! The executor of `disable_serial_console_access`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/disable_serial_console_access.rs`.

use mamoru_core::action::kinds::disable_serial_console_access as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::SerialConsole = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.ec2.get(&action.region);
        let state = |on: Option<bool>| json!({"SerialConsoleAccessEnabled": on});
        let before = match client.get_serial_console_access_status().send().await {
            Ok(out) => out.serial_console_access_enabled,
            Err(err) => {
                return Outcome::failed(
                    action,
                    failure("ec2:GetSerialConsoleAccessStatus", err),
                );
            }
        };
        if before == Some(false) {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("EC2 serial console access is already off in {}", action.region),
            )
            .with_state(Some(state(before)), Some(state(before)));
        }
        match client.disable_serial_console_access().send().await {
            Ok(out) => Outcome::new(
                action,
                Status::Done,
                format!("EC2 serial console access is off in {}", action.region),
            )
            .with_state(
                Some(state(before)),
                Some(state(out.serial_console_access_enabled)),
            ),
            Err(err) => Outcome::failed(action, failure("ec2:DisableSerialConsoleAccess", err)),
        }
    }
}
