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
