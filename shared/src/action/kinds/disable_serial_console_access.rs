//! `disable_serial_console_access`: `ec2:DisableSerialConsoleAccess` in the region and account
//! where an EnableSerialConsoleAccess call turned the EC2 serial console on. The setting is one
//! per account and region: nothing else is touched.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "disable_serial_console_access"
    }
    fn summary(&self) -> &'static str {
        "Turn EC2 serial console access off again in the region where an EnableSerialConsoleAccess call turned it on"
    }
    fn api(&self) -> &'static str {
        "ec2:DisableSerialConsoleAccess"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["ec2:GetSerialConsoleAccessStatus"]),
            Grant::anywhere_in_region(&["ec2:DisableSerialConsoleAccess"]),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "serial console access disabled",
            already: "serial console access already disabled",
            would: "would disable serial console access",
            noun: "serial console access disable",
            withheld: "turn EC2 serial console access off",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !call_is(c, "ec2.amazonaws.com", "EnableSerialConsoleAccess") {
            return Err(format!(
                "{} acts on EnableSerialConsoleAccess calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        Ok((c.aws_region.clone(), Target::SerialConsole))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::SerialConsole => json!({}),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("turn off {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "ec2.amazonaws.com", "DisableSerialConsoleAccess").then_some(true)
    }
}
