//! `enable_rule`: `events:EnableRule` on the EventBridge rule a DisableRule call named (on its
//! event bus). mamoru's own rules only: the grant is scoped to `rule/mamoru-<stack>-*`.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "enable_rule"
    }
    fn summary(&self) -> &'static str {
        "Enable again the EventBridge rule of mamoru's a DisableRule call named"
    }
    fn api(&self) -> &'static str {
        "events:EnableRule"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["events:EnableRule"], &[Grant::OWN_RULES])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "rule re-enabled",
            already: "rule already enabled",
            would: "would re-enable rule",
            noun: "rule re-enable",
            withheld: "re-enable the EventBridge rule",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        Ok((
            c.aws_region.clone(),
            Target::Rule {
                name: required(c, "name")?,
                event_bus: c.request_str("eventBusName").map(str::to_string),
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Rule {
                name,
                event_bus: Some(bus),
            } => json!({"Name": name, "EventBusName": bus}),
            Target::Rule { name, .. } => json!({ "Name": name }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("re-enable {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "events.amazonaws.com", "EnableRule").then_some(true)
    }
}
