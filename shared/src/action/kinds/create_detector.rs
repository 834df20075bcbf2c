//! `create_detector` (opt-in): `guardduty:CreateDetector` in the region whose detector was
//! deleted, when no detector is left there.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "create_detector"
    }
    fn summary(&self) -> &'static str {
        "Create a GuardDuty detector again in the region whose detector was deleted (opt-in)"
    }
    fn api(&self) -> &'static str {
        "guardduty:CreateDetector"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["guardduty:ListDetectors"]),
            Grant::anywhere_in_region(&["guardduty:CreateDetector"]),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "detector re-created",
            already: "a detector exists",
            would: "would re-create detector",
            noun: "detector re-creation",
            withheld: "re-create the GuardDuty detector",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        Ok((c.aws_region.clone(), Target::NewDetector))
    }
    fn params(&self, _target: &Target) -> Value {
        json!({"Enable": true})
    }
    fn describe(&self, action: &Action) -> String {
        format!("re-create a GuardDuty detector in {}", action.region)
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "guardduty.amazonaws.com", "CreateDetector").then(|| {
            call.request_parameters
                .get("enable")
                .and_then(Value::as_bool)
                == Some(true)
        })
    }
}

#[cfg(feature = "aws")]
mod exec {
    use serde_json::json;

    use crate::action::exec::{Clients, Execute, failure};
    use crate::action::{Action, Outcome, Status};

    impl Execute for super::Def {
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
}
