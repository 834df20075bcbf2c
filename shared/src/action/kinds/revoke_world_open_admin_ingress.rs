//! `revoke_world_open_admin_ingress` (containment, opt-in): `ec2:RevokeSecurityGroupIngress` of
//! exactly the 0.0.0.0/0 and ::/0 ranges open on an admin port (22, 3389) of the group the event
//! names (a Config item or compliance result, or a Security Hub finding's `AwsEc2SecurityGroup`
//! resource); every other rule is kept.

use serde_json::{Value, json};

use crate::action::{
    Action, ActionDef, Grant, Target, Words, asff_resource_home, call_is, securityhub_finding,
};
use crate::decide::facts::ADMIN_PORTS;
use crate::event::{
    CloudTrailCall, DT_CONFIG_COMPLIANCE_CHANGE, DT_CONFIG_ITEM_CHANGE,
    DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, Event, EventKind,
};

/// Read the group the event names; revoke only on security groups. Shared with
/// `revoke_world_open_high_risk_ingress`.
pub(super) const GRANTS: &[Grant] = &[
    Grant::anywhere(&["ec2:DescribeSecurityGroups"]),
    Grant::on(
        &["ec2:RevokeSecurityGroupIngress"],
        &[Grant::SECURITY_GROUPS],
    ),
];

/// The events that name a security group ([`bind_group`]).
pub(super) const DETAIL_TYPES: &[&str] = &[
    DT_CONFIG_ITEM_CHANGE,
    DT_CONFIG_COMPLIANCE_CHANGE,
    DT_SECURITYHUB_IMPORTED,
    DT_SECURITYHUB_CUSTOM_ACTION,
];

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "revoke_world_open_admin_ingress"
    }
    fn summary(&self) -> &'static str {
        "Revoke exactly the world-open ranges on ports 22 and 3389 of the security group named (containment)"
    }
    fn api(&self) -> &'static str {
        "ec2:RevokeSecurityGroupIngress"
    }
    fn grants(&self) -> &'static [Grant] {
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        DETAIL_TYPES
    }
    fn words(&self) -> Words {
        Words {
            done: "world-open ingress revoked",
            already: "no world-open ingress left",
            would: "would revoke world-open ingress",
            noun: "ingress revocation",
            withheld: "revoke the world-open admin ingress",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_group(self, event)
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::SecurityGroup { group_id } => json!({
                "GroupId": group_id,
                "IpPermissions": "the group's 0.0.0.0/0 and ::/0 ranges on ports 22 and 3389, read from the group"
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "revoke the world-open ingress on ports 22 and 3389 of {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "ec2.amazonaws.com", "RevokeSecurityGroupIngress").then_some(true)
    }
}

/// The ports a world-open ingress revocation covers (read by the executors, in the `mamoru` crate).
pub struct PortSet {
    /// The ports whose world-open single-port rules are revoked.
    pub ports: &'static [i64],
    /// UDP rules too, or TCP only.
    pub udp: bool,
    /// How outcomes name the set: "ports 22 and 3389".
    pub label: &'static str,
}

/// The admin ports (SSH, RDP), TCP.
pub const ADMIN: PortSet = PortSet {
    ports: &ADMIN_PORTS,
    udp: false,
    label: "ports 22 and 3389",
};

/// The security group an event names, in the region that owns it: a Config compliance result or
/// item, or a Security Hub finding's `AwsEc2SecurityGroup` resource.
pub(super) fn bind_group(def: &dyn ActionDef, event: &Event) -> Result<(String, Target), String> {
    match &event.kind {
        EventKind::ConfigComplianceChange(c) => {
            let group = c
                .evaluated_resource_id()
                .filter(|id| id.starts_with("sg-"))
                .ok_or("the compliance result names no security group (sg-…)")?;
            let region = c.aws_region.clone().unwrap_or_else(|| event.region.clone());
            Ok((
                region,
                Target::SecurityGroup {
                    group_id: group.to_string(),
                },
            ))
        }
        EventKind::ConfigItemChange(c) => {
            let ci = &c.configuration_item;
            if ci.resource_type != "AWS::EC2::SecurityGroup" {
                return Err("the configuration item is not a security group".into());
            }
            let group = ci
                .resource_id
                .clone()
                .filter(|id| id.starts_with("sg-"))
                .ok_or("the configuration item names no security group (sg-…)")?;
            let region = ci
                .aws_region
                .clone()
                .unwrap_or_else(|| event.region.clone());
            Ok((region, Target::SecurityGroup { group_id: group }))
        }
        EventKind::SecurityHub(_) => {
            let f = securityhub_finding(event).ok_or("the event carries no single finding")?;
            let arn = f
                .resource("AwsEc2SecurityGroup")
                .and_then(|r| r.id.as_deref())
                .ok_or("the finding names no security group (AwsEc2SecurityGroup)")?;
            let group = arn
                .rsplit_once(":security-group/")
                .map(|(_, id)| id)
                .filter(|id| {
                    id.starts_with("sg-") && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
                .ok_or("the finding's security group is not an sg-… ARN")?;
            let region = asff_resource_home(f, arn)?.unwrap_or_else(|| event.region.clone());
            Ok((
                region,
                Target::SecurityGroup {
                    group_id: group.to_string(),
                },
            ))
        }
        _ => Err(def.unsupported(event)),
    }
}
