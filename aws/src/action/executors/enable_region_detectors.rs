//! The executor of `enable_region_detectors`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/enable_region_detectors.rs`.

use mamoru_core::action::kinds::enable_region_detectors as this;

use aws_sdk_guardduty::types::DetectorStatus;
use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let client = clients.guardduty.get(&action.region);
        let ids = match client.list_detectors().send().await {
            Ok(out) => out.detector_ids.unwrap_or_default(),
            Err(err) => {
                return Outcome::failed(action, failure("guardduty:ListDetectors", err));
            }
        };
        if ids.is_empty() {
            return Outcome::new(
                action,
                Status::Skipped,
                format!(
                    "no GuardDuty detector exists in {}: re-creating one is not automatic",
                    action.region
                ),
            );
        }
        let mut before = Vec::new();
        let mut enabled = Vec::new();
        for id in &ids {
            let status = match client.get_detector().detector_id(id).send().await {
                Ok(d) => d.status().map(|s| s.as_str().to_string()),
                Err(err) => {
                    return Outcome::failed(action, failure("guardduty:GetDetector", err));
                }
            };
            before.push(json!({"DetectorId": id, "Status": status}));
            if status.as_deref() == Some(DetectorStatus::Enabled.as_str()) {
                continue;
            }
            if let Err(err) = client
                .update_detector()
                .detector_id(id)
                .enable(true)
                .send()
                .await
            {
                return Outcome::failed(action, failure("guardduty:UpdateDetector", err))
                    .with_state(Some(Value::Array(before)), None);
            }
            enabled.push(id.clone());
        }
        let before = Some(Value::Array(before));
        if enabled.is_empty() {
            Outcome::new(
                action,
                Status::AlreadyDone,
                format!("every GuardDuty detector in {} is enabled", action.region),
            )
            .with_state(before, None)
        } else {
            Outcome::new(
                action,
                Status::Done,
                format!("enabled GuardDuty detector {}", enabled.join(", ")),
            )
            .with_state(before, Some(json!({ "Enabled": enabled })))
        }
    }
}
