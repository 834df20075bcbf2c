//! `restore_management_events`: `cloudtrail:PutEventSelectors` on the trail a PutEventSelectors
//! call named: management events back on, the trail's data selectors kept as they are.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, arn_region, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "restore_management_events"
    }
    fn summary(&self) -> &'static str {
        "Log management events again on the trail whose selectors dropped them, keeping its data selectors"
    }
    fn api(&self) -> &'static str {
        "cloudtrail:PutEventSelectors"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &[
                "cloudtrail:GetEventSelectors",
                "cloudtrail:PutEventSelectors",
            ],
            &[Grant::TRAILS],
        )];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "management events restored",
            already: "management events already logged",
            would: "would restore management events",
            noun: "event selector restore",
            withheld: "restore the trail's management events",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let name = required(c, "trailName")?;
        let region = arn_region(&name).unwrap_or(&c.aws_region).to_string();
        Ok((region, Target::EventSelectors { trail: name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::EventSelectors { trail } => json!({
                "TrailName": trail,
                "EventSelectors": "the trail's current data selectors, plus IncludeManagementEvents = true, ReadWriteType = All"
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("restore management events in the {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "cloudtrail.amazonaws.com", "PutEventSelectors")
            .then(|| !crate::decide::facts::call_drops_management_events(call))
    }
}
