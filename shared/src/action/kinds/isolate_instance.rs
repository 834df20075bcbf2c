//! `isolate_instance` (containment, opt-in): `ec2:ModifyInstanceAttribute` swapping the instance
//! a finding names to the quarantine security group of its VPC (no rules; created when missing).

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, QUARANTINE_GROUP, Target, Words, call_is};
use crate::event::{CloudTrailCall, DT_GUARDDUTY_FINDING, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "isolate_instance"
    }
    fn summary(&self) -> &'static str {
        "Move the EC2 instance a finding names into a quarantine security group with no rules (containment)"
    }
    fn api(&self) -> &'static str {
        "ec2:ModifyInstanceAttribute"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["ec2:DescribeInstances", "ec2:DescribeSecurityGroups"]),
            Grant::on(
                &["ec2:CreateSecurityGroup"],
                &[Grant::SECURITY_GROUPS, Grant::VPCS],
            ),
            Grant::on(
                &["ec2:RevokeSecurityGroupEgress"],
                &[Grant::SECURITY_GROUPS],
            ),
            Grant::on(
                &["ec2:ModifyInstanceAttribute"],
                &[Grant::INSTANCES, Grant::SECURITY_GROUPS],
            ),
        ];
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_GUARDDUTY_FINDING]
    }
    fn words(&self) -> Words {
        Words {
            done: "instance isolated",
            already: "instance already isolated",
            would: "would isolate instance",
            noun: "instance isolation",
            withheld: "isolate the instance",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::GuardDutyFinding(f) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let id = f
            .resource
            .instance_details
            .as_ref()
            .and_then(|i| i.instance_id.clone())
            .filter(|i| i.starts_with("i-"))
            .ok_or("the finding names no EC2 instance (i-…)")?;
        Ok((event.region.clone(), Target::Instance { instance_id: id }))
    }
    /// An attack sequence: each EC2 instance it lists among its resources, in its region.
    fn bind_all(&self, event: &Event) -> Vec<Result<(String, Target), String>> {
        use crate::action::sequence_targets as seq;
        match seq::of(event) {
            Some((f, s)) => seq::or_none(seq::instances(f, s, &event.region), "EC2 instance"),
            None => vec![self.bind(event)],
        }
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Instance { instance_id } => json!({
                "InstanceId": instance_id,
                "Groups": format!("the {QUARANTINE_GROUP} security group of the instance's VPC (no rules)")
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "isolate {} in a quarantine security group",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        if call_is(call, "ec2.amazonaws.com", "CreateSecurityGroup") {
            return Some(call.request_str("groupName") == Some(QUARANTINE_GROUP));
        }
        (call_is(call, "ec2.amazonaws.com", "RevokeSecurityGroupEgress")
            || call_is(call, "ec2.amazonaws.com", "ModifyInstanceAttribute"))
        .then_some(true)
    }
}
