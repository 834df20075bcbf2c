//! `start_logging`: `cloudtrail:StartLogging` on the trail a StopLogging call named, in the
//! trail's home region (from its ARN) and the account that owns it.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, arn_region, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_logging"
    }
    fn summary(&self) -> &'static str {
        "Start logging again on the trail a StopLogging call named, in its home region"
    }
    fn api(&self) -> &'static str {
        "cloudtrail:StartLogging"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["cloudtrail:StartLogging"], &[Grant::TRAILS])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "restarted",
            already: "already logging",
            would: "would restart",
            noun: "restart",
            withheld: "restart the trail's logging",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let name = required(c, "name")?;
        let region = arn_region(&name).unwrap_or(&c.aws_region).to_string();
        Ok((region, Target::Trail { name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Trail { name } => json!({ "Name": name }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("restart logging on {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "cloudtrail.amazonaws.com", "StartLogging").then_some(true)
    }
}
