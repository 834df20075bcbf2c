//! `enable_region_detectors`: for a NON_COMPLIANT `guardduty-enabled-centralized` result, enable
//! every detector of the region that is not enabled. Also for a failed Security Hub control
//! GuardDuty.1, in the finding's account and region.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{
    CloudTrailCall, DT_CONFIG_COMPLIANCE_CHANGE, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, DT_SECURITYHUB_V2,
    Event, EventKind,
};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "enable_region_detectors"
    }
    fn summary(&self) -> &'static str {
        "Enable the region's GuardDuty detectors that are not enabled (Config compliance, Security Hub GuardDuty.1)"
    }
    fn api(&self) -> &'static str {
        "guardduty:UpdateDetector"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["guardduty:ListDetectors"]),
            Grant::on(
                &["guardduty:GetDetector", "guardduty:UpdateDetector"],
                &[Grant::DETECTORS],
            ),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[
            DT_CONFIG_COMPLIANCE_CHANGE,
            DT_SECURITYHUB_IMPORTED,
            DT_SECURITYHUB_CUSTOM_ACTION,
            DT_SECURITYHUB_V2,
        ]
    }
    fn words(&self) -> Words {
        Words {
            done: "detectors enabled",
            already: "detectors already enabled",
            would: "would enable detectors",
            noun: "detector re-enable",
            withheld: "re-enable the region's GuardDuty detectors",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        match &event.kind {
            EventKind::ConfigComplianceChange(_) => {
                Ok((event.region.clone(), Target::RegionDetectors))
            }
            // The finding's region (Event::region reads it from the finding).
            EventKind::SecurityHub(_) | EventKind::SecurityHubOcsf(_) => {
                Ok((event.region.clone(), Target::RegionDetectors))
            }
            _ => Err(self.unsupported(event)),
        }
    }
    fn params(&self, _target: &Target) -> Value {
        json!({
            "DetectorId": "each detector of the region that is not enabled",
            "Enable": true
        })
    }
    fn describe(&self, action: &Action) -> String {
        format!("re-enable the GuardDuty detectors in {}", action.region)
    }
    fn restores(&self, _call: &CloudTrailCall) -> Option<bool> {
        // Its call is enable_detector's (UpdateDetector enable=true) and reads.
        None
    }
}
