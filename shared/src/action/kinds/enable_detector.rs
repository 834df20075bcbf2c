//! `enable_detector`: `guardduty:UpdateDetector` Enable=true on the detector an UpdateDetector
//! call disabled, in the call's region.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "enable_detector"
    }
    fn summary(&self) -> &'static str {
        "Enable again the GuardDuty detector an UpdateDetector call disabled"
    }
    fn api(&self) -> &'static str {
        "guardduty:UpdateDetector"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &["guardduty:UpdateDetector"],
            &[Grant::DETECTORS],
        )];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "detector enabled",
            already: "detector already enabled",
            would: "would enable detector",
            noun: "detector re-enable",
            withheld: "re-enable the GuardDuty detector",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        Ok((
            c.aws_region.clone(),
            Target::Detector {
                detector_id: required(c, "detectorId")?,
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Detector { detector_id } => json!({"DetectorId": detector_id, "Enable": true}),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("re-enable {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "guardduty.amazonaws.com", "UpdateDetector").then(|| enables_only(call))
    }
}

/// An UpdateDetector call that turns the detector on and switches no feature off.
pub(crate) fn enables_only(call: &CloudTrailCall) -> bool {
    call.request_parameters
        .get("enable")
        .and_then(Value::as_bool)
        == Some(true)
        && !crate::decide::facts::disables_features(call)
}
