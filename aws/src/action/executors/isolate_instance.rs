//! The executor of `isolate_instance`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/isolate_instance.rs`.

use mamoru_core::action::kinds::isolate_instance as this;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, QUARANTINE_GROUP, Status, Target};

const WORLD_V4: &str = "0.0.0.0/0";

impl Execute for this::Def {
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
