//! `start_configuration_recorder`: `config:StartConfigurationRecorder` on the recorder a
//! StopConfigurationRecorder call named, in the call's region.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_configuration_recorder"
    }
    fn summary(&self) -> &'static str {
        "Start again the AWS Config recorder a StopConfigurationRecorder call named"
    }
    fn api(&self) -> &'static str {
        "config:StartConfigurationRecorder"
    }
    fn grants(&self) -> &'static [Grant] {
        // No resource type: every resource, held to the stack's region.
        const GRANTS: &[Grant] = &[Grant::anywhere_in_region(&[
            "config:StartConfigurationRecorder",
        ])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "recorder restarted",
            already: "recorder already recording",
            would: "would restart recorder",
            noun: "recorder restart",
            withheld: "restart the configuration recorder",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        Ok((
            c.aws_region.clone(),
            Target::Recorder {
                name: required(c, "configurationRecorderName")?,
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Recorder { name } => json!({ "ConfigurationRecorderName": name }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("restart {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "config.amazonaws.com", "StartConfigurationRecorder").then_some(true)
    }
}
