//! The executor of `enable_rule`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/enable_rule.rs`.

use mamoru_core::action::kinds::enable_rule as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Rule { name, event_bus } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.events.get(&action.region);
        match client
            .enable_rule()
            .name(name)
            .set_event_bus_name(event_bus.clone())
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("EventBridge rule {name} is enabled"),
            )
            .with_state(None, Some(json!({"State": "ENABLED"}))),
            Err(e) => Outcome::failed(action, failure("events:EnableRule", e)),
        }
    }
}
