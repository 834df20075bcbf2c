//! `revoke_added_ingress` (opt-in): `ec2:RevokeSecurityGroupIngress` of exactly the world-open
//! admin-port ranges an AuthorizeSecurityGroupIngress call added to the group it names (22, 3389
//! or every port, to 0.0.0.0/0, ::/0 or another range that is most of the internet), in the
//! call's account and region. A successful call adds only rules the group did not hold (EC2
//! refuses a duplicate), so revoking the same protocol, ports and range takes back what the call
//! added and nothing the group had before; the call's other ranges and the group's other rules
//! stay.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::decide::facts::{IngressRange, added_world_open_ingress};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

use super::unshare_public_snapshot::ec2_id_ok;

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "revoke_added_ingress"
    }
    fn summary(&self) -> &'static str {
        "Revoke exactly the world-open admin-port ranges (22, 3389, all ports) an AuthorizeSecurityGroupIngress call added (opt-in)"
    }
    fn api(&self) -> &'static str {
        "ec2:RevokeSecurityGroupIngress"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["ec2:DescribeSecurityGroups"]),
            Grant::on(
                &["ec2:RevokeSecurityGroupIngress"],
                &[Grant::SECURITY_GROUPS],
            ),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "added ingress revoked",
            already: "added ingress already gone",
            would: "would revoke added ingress",
            noun: "ingress revocation",
            withheld: "revoke the world-open ingress the call added",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !call_is(c, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress") {
            return Err(format!(
                "{} acts on AuthorizeSecurityGroupIngress calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        // A call naming the group by name only (a default VPC's group) binds nothing: the ID is
        // what the revocation names.
        let group_id = required(c, "groupId")?;
        if !ec2_id_ok(&group_id, "sg") {
            return Err(format!("{group_id} is not a security group ID"));
        }
        let ranges =
            added_world_open_ingress(c).ok_or("the call opens no admin port to the world")?;
        Ok((c.aws_region.clone(), Target::Ingress { group_id, ranges }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Ingress { group_id, ranges } => json!({
                "GroupId": group_id,
                "IpPermissions": ranges.iter().map(permission_params).collect::<Vec<_>>(),
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        let ranges = match &action.target {
            Target::Ingress { ranges, .. } => ranges.iter().map(show).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        format!(
            "revoke {} from {}",
            ranges.join(", "),
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "ec2.amazonaws.com", "RevokeSecurityGroupIngress").then_some(true)
    }
}

/// One range as RevokeSecurityGroupIngress takes it.
fn permission_params(r: &IngressRange) -> Value {
    let mut p = json!({ "IpProtocol": r.protocol });
    if let (Some(from), Some(to)) = (r.from_port, r.to_port) {
        p["FromPort"] = json!(from);
        p["ToPort"] = json!(to);
    }
    if r.is_ipv6() {
        p["Ipv6Ranges"] = json!([{ "CidrIpv6": r.cidr }]);
    } else {
        p["IpRanges"] = json!([{ "CidrIp": r.cidr }]);
    }
    p
}

/// `tcp 22 from 0.0.0.0/0`, `all traffic from ::/0`.
fn show(r: &IngressRange) -> String {
    let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
        ("-1", _, _) => "all traffic".to_string(),
        (p, Some(f), Some(t)) if f == t => format!("{p} {f}"),
        (p, Some(f), Some(t)) => format!("{p} {f}-{t}"),
        (p, _, _) => p.to_string(),
    };
    format!("{ports} from {}", r.cidr)
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, SecurityGroup};
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    use serde_json::{Value, json};

    use super::show;
    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, Status, Target};
    use crate::decide::facts::{IngressRange, ec2_protocol};

    /// Whether the group still holds this range: the same protocol, the same ports (none for
    /// every protocol) and the range itself.
    fn holds(sg: &SecurityGroup, r: &IngressRange) -> bool {
        sg.ip_permissions().iter().any(|p| {
            let protocol = ec2_protocol(p.ip_protocol().unwrap_or(""));
            let ports = protocol == "-1" || (p.from_port() == r.from_port && p.to_port() == r.to_port);
            protocol == r.protocol
                && ports
                && if r.is_ipv6() {
                    p.ipv6_ranges()
                        .iter()
                        .any(|x| x.cidr_ipv6() == Some(r.cidr.as_str()))
                } else {
                    p.ip_ranges()
                        .iter()
                        .any(|x| x.cidr_ip() == Some(r.cidr.as_str()))
                }
        })
    }

    fn permission(r: &IngressRange) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(&r.protocol);
        if r.protocol != "-1" {
            p = p.set_from_port(r.from_port).set_to_port(r.to_port);
        }
        if r.is_ipv6() {
            p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&r.cidr).build());
        } else {
            p = p.ip_ranges(IpRange::builder().cidr_ip(&r.cidr).build());
        }
        p.build()
    }

    async fn read(
        client: &aws_sdk_ec2::Client,
        action: &Action,
        group: &str,
    ) -> Result<SecurityGroup, Outcome> {
        match client.describe_security_groups().group_ids(group).send().await {
            Ok(out) => out
                .security_groups()
                .first()
                .cloned()
                .ok_or_else(|| Outcome::not_found(action, &format!("security group {group}"))),
            Err(SdkError::ServiceError(ctx)) => {
                let err = ctx.into_err();
                if err.code() == Some("InvalidGroup.NotFound") {
                    Err(Outcome::not_found(action, &format!("security group {group}")))
                } else {
                    Err(Outcome::failed(
                        action,
                        service_failure("ec2:DescribeSecurityGroups", &err),
                    ))
                }
            }
            Err(other) => Err(Outcome::failed(
                action,
                failure("ec2:DescribeSecurityGroups", other),
            )),
        }
    }

    fn state(sg: &SecurityGroup, ranges: &[IngressRange]) -> Value {
        let held: Vec<String> = ranges.iter().filter(|r| holds(sg, r)).map(show).collect();
        json!({ "AddedWorldOpenIngressHeld": held })
    }

    impl Execute for super::Def {
        /// Revokes the ranges the group still holds. Idempotent: none left is "already done";
        /// a group that does not exist is a failure.
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            let Target::Ingress { group_id, ranges } = &action.target else {
                return Outcome::wrong_target(action);
            };
            let client = clients.ec2.get(&action.region);
            let sg = match read(&client, action, group_id).await {
                Ok(sg) => sg,
                Err(outcome) => return outcome,
            };
            let before = state(&sg, ranges);
            let present: Vec<&IngressRange> = ranges.iter().filter(|r| holds(&sg, r)).collect();
            if present.is_empty() {
                return Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!("{group_id} no longer holds the world-open ingress the call added"),
                )
                .with_state(Some(before.clone()), Some(before));
            }
            if let Err(err) = client
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(present.iter().map(|r| permission(r)).collect()))
                .send()
                .await
            {
                return Outcome::failed(action, failure("ec2:RevokeSecurityGroupIngress", err))
                    .with_state(Some(before), None);
            }
            let after = match read(&client, action, group_id).await {
                Ok(sg) => state(&sg, ranges),
                Err(outcome) => return outcome,
            };
            let list: Vec<String> = present.iter().map(|r| show(r)).collect();
            Outcome::new(
                action,
                Status::Done,
                format!(
                    "{group_id}: revoked {}; every other rule kept",
                    list.join(", ")
                ),
            )
            .with_state(Some(before), Some(after))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_name_each_range_with_its_ports() {
        let target = Target::Ingress {
            group_id: "sg-1".into(),
            ranges: vec![
                IngressRange {
                    protocol: "tcp".into(),
                    from_port: Some(22),
                    to_port: Some(22),
                    cidr: "0.0.0.0/0".into(),
                },
                IngressRange {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    cidr: "::/0".into(),
                },
            ],
        };
        assert_eq!(
            Def.params(&target),
            json!({"GroupId": "sg-1", "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
            ]})
        );
    }
}
