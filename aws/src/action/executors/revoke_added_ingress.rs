//! The executor of `revoke_added_ingress`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/revoke_added_ingress.rs`.

use mamoru_core::action::kinds::revoke_added_ingress as this;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, SecurityGroup};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Value, json};

use this::show;
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

impl Execute for this::Def {
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
