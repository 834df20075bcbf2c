//! The executor of `enable_detector`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/enable_detector.rs`.

use mamoru_core::action::kinds::enable_detector as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Detector { detector_id } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.guardduty.get(&action.region);
        match client
            .update_detector()
            .detector_id(detector_id)
            .enable(true)
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("GuardDuty detector {detector_id} is enabled"),
            )
            .with_state(None, Some(json!({"Status": "ENABLED"}))),
            Err(err) => Outcome::failed(action, failure("guardduty:UpdateDetector", err)),
        }
    }
}
