//! `revoke_world_open_high_risk_ingress` (containment, opt-in): `ec2:RevokeSecurityGroupIngress`
//! of exactly the 0.0.0.0/0 and ::/0 ranges open on one of Security Hub EC2.19's high-risk ports
//! (TCP or UDP) of the group the event names; every other rule is kept. The binding and the
//! executor are `revoke_world_open_admin_ingress`'s, with EC2.19's port list.

use serde_json::{Value, json};

use super::revoke_world_open_admin_ingress::{PortSet, bind_group};
use crate::action::{Action, ActionDef, Grant, Target, Words, call_is};
use crate::decide::facts::HIGH_RISK_PORTS;
use crate::event::{CloudTrailCall, Event};

/// EC2.19's ports, TCP and UDP.
pub const HIGH_RISK: PortSet = PortSet {
    ports: &HIGH_RISK_PORTS,
    udp: true,
    label: "the high-risk ports of Security Hub EC2.19",
};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "revoke_world_open_high_risk_ingress"
    }
    fn summary(&self) -> &'static str {
        "Revoke exactly the world-open ranges on the high-risk ports of Security Hub EC2.19 (22, 3389, 3306, 5432, …) of the security group named (containment)"
    }
    fn api(&self) -> &'static str {
        "ec2:RevokeSecurityGroupIngress"
    }
    fn grants(&self) -> &'static [Grant] {
        super::revoke_world_open_admin_ingress::GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        super::revoke_world_open_admin_ingress::DETAIL_TYPES
    }
    fn words(&self) -> Words {
        Words {
            done: "world-open high-risk ingress revoked",
            already: "no world-open high-risk ingress left",
            would: "would revoke world-open high-risk ingress",
            noun: "high-risk ingress revocation",
            withheld: "revoke the world-open high-risk ingress",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_group(self, event)
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::SecurityGroup { group_id } => json!({
                "GroupId": group_id,
                "IpPermissions": "the group's 0.0.0.0/0 and ::/0 ranges on the high-risk ports of Security Hub EC2.19, read from the group",
                "Ports": HIGH_RISK.ports,
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "revoke the world-open ingress on {} of {}",
            HIGH_RISK.label,
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "ec2.amazonaws.com", "RevokeSecurityGroupIngress").then_some(true)
    }
}
