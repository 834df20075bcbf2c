//! `start_stopped_recorders`: for a failed Security Hub control Config.1 (the finding names no
//! recorder), start every AWS Config configuration recorder of the finding's account and region
//! that is not recording, as `start_stopped_trails` does for CloudTrail.1. A region with no
//! recorder at all is a failure: mamoru restarts recorders, it does not create one.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{
    CloudTrailCall, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, DT_SECURITYHUB_V2, Event, EventKind,
};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_stopped_recorders"
    }
    fn summary(&self) -> &'static str {
        "Start every AWS Config recorder of the region that is not recording (Security Hub Config.1)"
    }
    fn api(&self) -> &'static str {
        "config:StartConfigurationRecorder"
    }
    fn grants(&self) -> &'static [Grant] {
        // Neither action has a resource type: every resource; the start held to the stack's
        // region.
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["config:DescribeConfigurationRecorderStatus"]),
            Grant::anywhere_in_region(&["config:StartConfigurationRecorder"]),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[
            DT_SECURITYHUB_IMPORTED,
            DT_SECURITYHUB_CUSTOM_ACTION,
            DT_SECURITYHUB_V2,
        ]
    }
    fn words(&self) -> Words {
        Words {
            done: "stopped recorders restarted",
            already: "recorders already recording",
            would: "would restart stopped recorders",
            noun: "recorder restart",
            withheld: "restart the stopped configuration recorders",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        match &event.kind {
            // The finding's region (Event::region reads it from the finding).
            EventKind::SecurityHub(_) | EventKind::SecurityHubOcsf(_) => {
                Ok((event.region.clone(), Target::StoppedRecorders))
            }
            _ => Err(self.unsupported(event)),
        }
    }
    fn params(&self, _target: &Target) -> Value {
        json!({
            "ConfigurationRecorderName": "each recorder of the region with recording = false"
        })
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "restart every stopped configuration recorder in {}",
            action.region
        )
    }
    fn restores(&self, _call: &CloudTrailCall) -> Option<bool> {
        // Its calls are start_configuration_recorder's (StartConfigurationRecorder) and reads.
        None
    }
}
