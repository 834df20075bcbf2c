//! `deactivate_ip_set` (opt-in): `guardduty:UpdateIPSet` Activate=false on the trusted-IP list a
//! call created or activated.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "deactivate_ip_set"
    }
    fn summary(&self) -> &'static str {
        "Deactivate the GuardDuty trusted-IP list a call created or activated (opt-in)"
    }
    fn api(&self) -> &'static str {
        "guardduty:UpdateIPSet"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["guardduty:UpdateIPSet"], &[Grant::IP_SETS])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "trusted IP list deactivated",
            already: "trusted IP list already inactive",
            would: "would deactivate trusted IP list",
            noun: "IP list deactivation",
            withheld: "deactivate the trusted IP list",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let ip_set_id = c
            .request_str("ipSetId")
            .or_else(|| {
                c.response_elements
                    .get("ipSetId")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .ok_or("neither requestParameters.ipSetId nor responseElements.ipSetId is set")?
            .to_string();
        Ok((
            c.aws_region.clone(),
            Target::IpSet {
                detector_id: required(c, "detectorId")?,
                ip_set_id,
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::IpSet {
                detector_id,
                ip_set_id,
            } => json!({"DetectorId": detector_id, "IpSetId": ip_set_id, "Activate": false}),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("deactivate {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        let p = &call.request_parameters;
        call_is(call, "guardduty.amazonaws.com", "UpdateIPSet").then(|| {
            p.get("activate").and_then(Value::as_bool) == Some(false) && p.get("location").is_none()
        })
    }
}
