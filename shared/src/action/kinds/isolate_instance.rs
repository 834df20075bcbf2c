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

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
    use serde_json::json;

    use crate::action::exec::{Clients, Execute, failure};
    use crate::action::{Action, Outcome, QUARANTINE_GROUP, Status, Target};

    const WORLD_V4: &str = "0.0.0.0/0";

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            let Target::Instance {
                instance_id: instance,
            } = &action.target
            else {
                return Outcome::wrong_target(action);
            };
            let client = clients.ec2.get(&action.region);
            let described = match client
                .describe_instances()
                .instance_ids(instance)
                .send()
                .await
            {
                Ok(d) => d,
                Err(e) => return Outcome::failed(action, failure("ec2:DescribeInstances", e)),
            };
            let Some(found) = described
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .next()
            else {
                return Outcome::new(
                    action,
                    Status::Skipped,
                    format!("instance {instance} was not found"),
                );
            };
            let Some(vpc) = found.vpc_id().map(str::to_string) else {
                return Outcome::new(
                    action,
                    Status::Skipped,
                    format!("instance {instance} is not in a VPC"),
                );
            };
            let before_groups: Vec<String> = found
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            let before = Some(json!({"VpcId": vpc, "Groups": before_groups}));
            // The quarantine group: found by name in the VPC, or created with no rule at all.
            let existing = client
                .describe_security_groups()
                .filters(
                    Filter::builder()
                        .name("group-name")
                        .values(QUARANTINE_GROUP)
                        .build(),
                )
                .filters(Filter::builder().name("vpc-id").values(&vpc).build())
                .send()
                .await;
            let quarantine = match existing {
                Ok(d) => d
                    .security_groups()
                    .first()
                    .and_then(|g| g.group_id().map(str::to_string)),
                Err(e) => return Outcome::failed(action, failure("ec2:DescribeSecurityGroups", e)),
            };
            let quarantine = match quarantine {
                Some(id) => id,
                None => {
                    let created = match client
                        .create_security_group()
                        .group_name(QUARANTINE_GROUP)
                        .description("mamoru quarantine: no ingress, no egress")
                        .vpc_id(&vpc)
                        .send()
                        .await
                    {
                        Ok(c) => c.group_id.unwrap_or_default(),
                        Err(e) => {
                            return Outcome::failed(action, failure("ec2:CreateSecurityGroup", e));
                        }
                    };
                    let all_out = IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(IpRange::builder().cidr_ip(WORLD_V4).build())
                        .build();
                    if let Err(e) = client
                        .revoke_security_group_egress()
                        .group_id(&created)
                        .ip_permissions(all_out)
                        .send()
                        .await
                    {
                        return Outcome::failed(
                            action,
                            failure("ec2:RevokeSecurityGroupEgress", e),
                        );
                    }
                    created
                }
            };
            if before_groups == [quarantine.clone()] {
                return Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!("instance {instance} is already in {quarantine}"),
                )
                .with_state(before, None);
            }
            match client
                .modify_instance_attribute()
                .instance_id(instance)
                .groups(&quarantine)
                .send()
                .await
            {
                Ok(_) => Outcome::new(
                    action,
                    Status::Done,
                    format!(
                        "instance {instance} moved to {quarantine} ({QUARANTINE_GROUP}); its former groups are in the audit log"
                    ),
                )
                .with_state(before, Some(json!({"Groups": [quarantine]}))),
                Err(e) => Outcome::failed(action, failure("ec2:ModifyInstanceAttribute", e)).with_state(before, None),
            }
        }
    }
}
