//! `start_stopped_trails`: for a NON_COMPLIANT `cloudtrail-enabled` result, start every trail of
//! the account seen from the event's region that is not logging, each in its home region. Also
//! for a failed Security Hub control CloudTrail.1 or CloudTrail.3, in the finding's account and
//! region.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{
    CloudTrailCall, DT_CONFIG_COMPLIANCE_CHANGE, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, DT_SECURITYHUB_V2,
    Event, EventKind,
};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_stopped_trails"
    }
    fn summary(&self) -> &'static str {
        "Start every trail that is not logging, each in its home region (Config compliance, Security Hub CloudTrail.1/3)"
    }
    fn api(&self) -> &'static str {
        "cloudtrail:StartLogging"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["cloudtrail:DescribeTrails"]),
            Grant::on(
                &["cloudtrail:GetTrailStatus", "cloudtrail:StartLogging"],
                &[Grant::TRAILS],
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
            done: "stopped trails restarted",
            already: "trails already logging",
            would: "would restart stopped trails",
            noun: "trail restart",
            withheld: "restart the stopped trails",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        match &event.kind {
            EventKind::ConfigComplianceChange(_) => {
                Ok((event.region.clone(), Target::StoppedTrails))
            }
            // The finding's region (Event::region reads it from the finding).
            EventKind::SecurityHub(_) | EventKind::SecurityHubOcsf(_) => {
                Ok((event.region.clone(), Target::StoppedTrails))
            }
            _ => Err(self.unsupported(event)),
        }
    }
    fn params(&self, _target: &Target) -> Value {
        json!({
            "Name": "each trail seen from the region with IsLogging = false, started in its home region"
        })
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "restart logging on every stopped trail in {}",
            action.region
        )
    }
    fn restores(&self, _call: &CloudTrailCall) -> Option<bool> {
        // Its calls are start_logging's (StartLogging) and reads.
        None
    }
}
