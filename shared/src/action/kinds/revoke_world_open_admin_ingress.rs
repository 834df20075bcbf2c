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

/// The ports a world-open ingress revocation covers (read by the executors, behind `aws`).
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(super) struct PortSet {
    /// The ports whose world-open single-port rules are revoked.
    pub ports: &'static [i64],
    /// UDP rules too, or TCP only.
    pub udp: bool,
    /// How outcomes name the set: "ports 22 and 3389".
    pub label: &'static str,
}

/// The admin ports (SSH, RDP), TCP.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(super) const ADMIN: PortSet = PortSet {
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

#[cfg(feature = "aws")]
pub(super) mod exec {
    use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
    use serde_json::json;

    use super::PortSet;
    use crate::action::exec::{Clients, Execute, failure};
    use crate::action::{Action, Outcome, Status, Target};

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            revoke_world_open(clients, action, &super::ADMIN).await
        }
    }

    /// Revokes exactly the world-open ranges of the group's single-port rules on one of `set`'s
    /// ports; a wider world-open rule covering one of them is reported for a person, never cut.
    pub(in crate::action) async fn revoke_world_open(
        clients: &Clients,
        action: &Action,
        set: &PortSet,
    ) -> Outcome {
            let Target::SecurityGroup { group_id: group } = &action.target else {
                return Outcome::wrong_target(action);
            };
            let group = group.as_str();
            let client = clients.ec2.get(&action.region);
            let described = match client
                .describe_security_groups()
                .group_ids(group)
                .send()
                .await
            {
                Ok(d) => d,
                Err(e) => return Outcome::failed(action, failure("ec2:DescribeSecurityGroups", e)),
            };
            let Some(sg) = described.security_groups().first() else {
                return Outcome::not_found(action, &format!("security group {group}"));
            };
            let mut revoke = Vec::new();
            let mut removed = Vec::new();
            let mut wider = Vec::new();
            for perm in sg.ip_permissions() {
                let protocol = perm.ip_protocol().unwrap_or("");
                let (from, to) = (perm.from_port(), perm.to_port());
                let world_v4: Vec<&IpRange> = perm
                    .ip_ranges()
                    .iter()
                    .filter(|r| r.cidr_ip().is_some_and(crate::decide::facts::world_cidr))
                    .collect();
                let world_v6: Vec<&Ipv6Range> = perm
                    .ipv6_ranges()
                    .iter()
                    .filter(|r| r.cidr_ipv6().is_some_and(crate::decide::facts::world_cidr))
                    .collect();
                if world_v4.is_empty() && world_v6.is_empty() {
                    continue;
                }
                let tcp = protocol == "tcp" || protocol == "6";
                let udp = set.udp && (protocol == "udp" || protocol == "17");
                let exact = (tcp || udp)
                    && from.is_some()
                    && from == to
                    && set.ports.contains(&i64::from(from.unwrap_or(-1)));
                let covers = protocol == "-1"
                    || ((tcp || udp)
                        && set.ports.iter().any(|p| {
                            from.is_some_and(|f| i64::from(f) <= *p)
                                && to.is_some_and(|t| i64::from(t) >= *p)
                        }));
                if exact {
                    let port = from.unwrap_or(-1);
                    for r in &world_v4 {
                        removed.push(
                            json!({"IpProtocol": protocol, "Port": port, "CidrIp": r.cidr_ip()}),
                        );
                    }
                    for r in &world_v6 {
                        removed.push(
                            json!({"IpProtocol": protocol, "Port": port, "CidrIpv6": r.cidr_ipv6()}),
                        );
                    }
                    // Only the world-open ranges: the same rule's other ranges stay.
                    revoke.push(
                        IpPermission::builder()
                            .ip_protocol(protocol)
                            .set_from_port(from)
                            .set_to_port(to)
                            .set_ip_ranges((!world_v4.is_empty()).then(|| {
                                world_v4
                                    .iter()
                                    .filter_map(|r| r.cidr_ip())
                                    .map(|c| IpRange::builder().cidr_ip(c).build())
                                    .collect()
                            }))
                            .set_ipv6_ranges((!world_v6.is_empty()).then(|| {
                                world_v6
                                    .iter()
                                    .filter_map(|r| r.cidr_ipv6())
                                    .map(|c| Ipv6Range::builder().cidr_ipv6(c).build())
                                    .collect()
                            }))
                            .build(),
                    );
                } else if covers {
                    wider.push(format!(
                        "{protocol} {}-{}",
                        from.map_or("all".to_string(), |f| f.to_string()),
                        to.map_or("all".to_string(), |t| t.to_string())
                    ));
                }
            }
            let before = Some(json!({"WorldOpenRules": removed, "WiderWorldOpenRules": wider}));
            let note = if wider.is_empty() {
                String::new()
            } else {
                format!(
                    "; left in place, wider than one of {} (review by hand): {}",
                    set.label,
                    wider.join(", ")
                )
            };
            if revoke.is_empty() {
                let (status, what) = if wider.is_empty() {
                    (Status::AlreadyDone, "no world-open ingress on")
                } else {
                    (
                        Status::Skipped,
                        "no rule open to the world on exactly one of",
                    )
                };
                return Outcome::new(
                    action,
                    status,
                    format!("{group}: {what} {}{note}", set.label),
                )
                .with_state(before, None);
            }
            match client
                .revoke_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(revoke))
                .send()
                .await
            {
                Ok(_) => Outcome::new(
                    action,
                    Status::Done,
                    format!(
                        "{group}: revoked {} world-open range(s) on {}, kept every other rule{note}",
                        removed.len(),
                        set.label
                    ),
                )
                .with_state(before, Some(json!({ "Revoked": removed }))),
                Err(e) => Outcome::failed(action, failure("ec2:RevokeSecurityGroupIngress", e))
                    .with_state(before, None),
            }
    }
}
