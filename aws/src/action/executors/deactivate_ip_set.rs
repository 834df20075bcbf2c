//! The executor of `deactivate_ip_set`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/deactivate_ip_set.rs`.

use mamoru_core::action::kinds::deactivate_ip_set as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::IpSet {
            detector_id,
            ip_set_id,
        } = &action.target
        else {
            return Outcome::wrong_target(action);
        };
        let client = clients.guardduty.get(&action.region);
        match client
            .update_ip_set()
            .detector_id(detector_id)
            .ip_set_id(ip_set_id)
            .activate(false)
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("trusted IP list {ip_set_id} is inactive"),
            )
            .with_state(None, Some(json!({"Activate": false}))),
            Err(e) => Outcome::failed(action, failure("guardduty:UpdateIPSet", e)),
        }
    }
}
