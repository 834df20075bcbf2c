//! The executor of `create_detector`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/create_detector.rs`.

use mamoru_core::action::kinds::create_detector as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let client = clients.guardduty.get(&action.region);
        let existing = match client.list_detectors().send().await {
            Ok(out) => out.detector_ids.unwrap_or_default(),
            Err(e) => return Outcome::failed(action, failure("guardduty:ListDetectors", e)),
        };
        if let Some(id) = existing.first() {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("GuardDuty detector {id} exists in {}", action.region),
            );
        }
        match client.create_detector().enable(true).send().await {
            Ok(out) => {
                let id = out.detector_id.unwrap_or_default();
                Outcome::new(
                    action,
                    Status::Done,
                    format!("created GuardDuty detector {id} in {}", action.region),
                )
                .with_state(
                    Some(json!({"Detectors": []})),
                    Some(json!({"DetectorId": id})),
                )
            }
            Err(e) => Outcome::failed(action, failure("guardduty:CreateDetector", e)),
        }
    }
}
