//! The executor of `revoke_world_open_admin_ingress`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/revoke_world_open_admin_ingress.rs`.

use mamoru_core::action::kinds::revoke_world_open_admin_ingress as this;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
use serde_json::json;

use this::PortSet;
use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        revoke_world_open(clients, action, &this::ADMIN).await
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
