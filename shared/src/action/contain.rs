//! Executors for tamper reversals (event selectors, EventBridge rules, GuardDuty detector and
//! trusted-IP lists) and containment (role sessions, user quarantine, security groups,
//! instance isolation, bucket public access). Each reads only what its decision needs, acts
//! only on the resource the event named, and is idempotent.

use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType,
};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range};
use aws_sdk_iam::operation::put_role_policy::PutRolePolicyError;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Value, json};

use super::exec::{Clients, failure, service_failure};
use super::{Action, QUARANTINE_GROUP, QUARANTINE_POLICY, REVOKE_SESSIONS_POLICY, trail_name};
use super::{Outcome, Status};
use crate::decide::facts::ADMIN_PORTS;

const WORLD_V4: &str = "0.0.0.0/0";

fn basic_selectors_json(selectors: &[EventSelector]) -> Value {
    Value::Array(
        selectors
            .iter()
            .map(|s| {
                json!({
                    "ReadWriteType": s.read_write_type().map(|r| r.as_str()),
                    "IncludeManagementEvents": s.include_management_events(),
                    "DataResources": s.data_resources().iter().map(|d| json!({
                        "Type": d.r#type(), "Values": d.values()
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn advanced_selectors_json(selectors: &[AdvancedEventSelector]) -> Value {
    Value::Array(
        selectors
            .iter()
            .map(|s| {
                json!({
                    "Name": s.name(),
                    "FieldSelectors": s.field_selectors().iter().map(|f| json!({
                        "Field": f.field(), "Equals": f.equals()
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn logs_management(s: &AdvancedEventSelector) -> bool {
    s.field_selectors()
        .iter()
        .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|e| e == "Management"))
}

impl Clients {
    pub(super) async fn restore_management_events(&self, action: &Action, trail: &str) -> Outcome {
        let client = self.cloudtrail.get(&action.region);
        let api = "cloudtrail:PutEventSelectors";
        let current = match client.get_event_selectors().trail_name(trail).send().await {
            Ok(c) => c,
            Err(e) => return Outcome::failed(action, failure("cloudtrail:GetEventSelectors", e)),
        };
        let name = trail_name(trail);
        let advanced = current.advanced_event_selectors();
        if !advanced.is_empty() {
            let before = advanced_selectors_json(advanced);
            if advanced.iter().any(logs_management) {
                return Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!("trail {name} already logs management events"),
                )
                .with_state(Some(before), None);
            }
            let management = match AdvancedFieldSelector::builder()
                .field("eventCategory")
                .equals("Management")
                .build()
            {
                Ok(f) => AdvancedEventSelector::builder()
                    .name("Management events (restored by mamoru)")
                    .field_selectors(f)
                    .build(),
                Err(e) => {
                    return Outcome::new(action, Status::Failed, format!("{api}: {e}"));
                }
            };
            let Ok(management) = management else {
                return Outcome::new(action, Status::Failed, format!("{api}: bad selector"));
            };
            let mut selectors = advanced.to_vec();
            selectors.push(management);
            let after = advanced_selectors_json(&selectors);
            return match client
                .put_event_selectors()
                .trail_name(trail)
                .set_advanced_event_selectors(Some(selectors))
                .send()
                .await
            {
                Ok(_) => Outcome::new(
                    action,
                    Status::Done,
                    format!(
                        "trail {name} logs management events again; its data selectors are kept"
                    ),
                )
                .with_state(Some(before), Some(after)),
                Err(e) => Outcome::failed(action, failure(api, e)).with_state(Some(before), None),
            };
        }
        let basic = current.event_selectors();
        let before = basic_selectors_json(basic);
        let full = |s: &EventSelector| {
            s.include_management_events() == Some(true)
                && s.read_write_type() == Some(&ReadWriteType::All)
        };
        if basic.iter().any(full) {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("trail {name} already logs all management events"),
            )
            .with_state(Some(before), None);
        }
        // Keep every data selector exactly as it is, and add one that logs all management
        // events; a trail holds 5 selectors at most, so a full list gets its first one widened.
        let mut selectors = basic.to_vec();
        let management = EventSelector::builder()
            .read_write_type(ReadWriteType::All)
            .include_management_events(true)
            .build();
        if selectors.len() < 5 {
            selectors.push(management);
        } else if let Some(first) = selectors.first_mut() {
            *first = EventSelector::builder()
                .set_data_resources(Some(first.data_resources().to_vec()))
                .set_exclude_management_event_sources(Some(
                    first.exclude_management_event_sources().to_vec(),
                ))
                .include_management_events(true)
                .read_write_type(ReadWriteType::All)
                .build();
        }
        let after = basic_selectors_json(&selectors);
        match client
            .put_event_selectors()
            .trail_name(trail)
            .set_event_selectors(Some(selectors))
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("trail {name} logs management events again; its data selectors are kept"),
            )
            .with_state(Some(before), Some(after)),
            Err(e) => Outcome::failed(action, failure(api, e)).with_state(Some(before), None),
        }
    }

    pub(super) async fn enable_rule(
        &self,
        action: &Action,
        name: &str,
        bus: Option<&str>,
    ) -> Outcome {
        let client = self.events.get(&action.region);
        match client
            .enable_rule()
            .name(name)
            .set_event_bus_name(bus.map(str::to_string))
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("EventBridge rule {name} is enabled"),
            )
            .with_state(None, Some(json!({"State": "ENABLED"}))),
            Err(e) => Outcome::failed(action, failure("events:EnableRule", e)),
        }
    }

    pub(super) async fn create_detector(&self, action: &Action) -> Outcome {
        let client = self.guardduty.get(&action.region);
        let existing = match client.list_detectors().send().await {
            Ok(out) => out.detector_ids.unwrap_or_default(),
            Err(e) => return Outcome::failed(action, failure("guardduty:ListDetectors", e)),
        };
        if let Some(id) = existing.first() {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("GuardDuty detector {id} exists in {}", action.region),
            );
        }
        match client.create_detector().enable(true).send().await {
            Ok(out) => {
                let id = out.detector_id.unwrap_or_default();
                Outcome::new(
                    action,
                    Status::Done,
                    format!("created GuardDuty detector {id} in {}", action.region),
                )
                .with_state(
                    Some(json!({"Detectors": []})),
                    Some(json!({"DetectorId": id})),
                )
            }
            Err(e) => Outcome::failed(action, failure("guardduty:CreateDetector", e)),
        }
    }

    pub(super) async fn deactivate_ip_set(
        &self,
        action: &Action,
        detector: &str,
        ip_set: &str,
    ) -> Outcome {
        let client = self.guardduty.get(&action.region);
        match client
            .update_ip_set()
            .detector_id(detector)
            .ip_set_id(ip_set)
            .activate(false)
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("trusted IP list {ip_set} is inactive"),
            )
            .with_state(None, Some(json!({"Activate": false}))),
            Err(e) => Outcome::failed(action, failure("guardduty:UpdateIPSet", e)),
        }
    }

    pub(super) async fn revoke_role_sessions(&self, action: &Action, role: &str) -> Outcome {
        // Sessions issued before this instant are denied everything; new sessions (after the
        // credentials are rotated or the instance is cleaned) work again.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}
            }]
        });
        match self
            .iam
            .put_role_policy()
            .role_name(role)
            .policy_name(REVOKE_SESSIONS_POLICY)
            .policy_document(policy.to_string())
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("sessions of role {role} issued before {now} are revoked"),
            )
            .with_state(
                None,
                Some(json!({"PolicyName": REVOKE_SESSIONS_POLICY, "TokenIssueTimeBefore": now})),
            ),
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                PutRolePolicyError::NoSuchEntityException(_) => {
                    Outcome::not_found(action, &format!("IAM role {role}"))
                }
                other => Outcome::failed(action, service_failure("iam:PutRolePolicy", &other)),
            },
            Err(e) => Outcome::failed(action, failure("iam:PutRolePolicy", e)),
        }
    }

    pub(super) async fn quarantine_user(&self, action: &Action, user: &str) -> Outcome {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "MamoruQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]
        });
        match self
            .iam
            .put_user_policy()
            .user_name(user)
            .policy_name(QUARANTINE_POLICY)
            .policy_document(policy.to_string())
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("IAM user {user} is quarantined by the inline policy {QUARANTINE_POLICY}"),
            )
            .with_state(None, Some(json!({"PolicyName": QUARANTINE_POLICY}))),
            Err(e) => Outcome::failed(action, failure("iam:PutUserPolicy", e)),
        }
    }

    pub(super) async fn revoke_world_open_admin_ingress(
        &self,
        action: &Action,
        group: &str,
    ) -> Outcome {
        let client = self.ec2.get(&action.region);
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
            let exact = tcp
                && from.is_some()
                && from == to
                && ADMIN_PORTS.contains(&i64::from(from.unwrap_or(-1)));
            let covers = protocol == "-1"
                || (tcp
                    && ADMIN_PORTS.iter().any(|p| {
                        from.is_some_and(|f| i64::from(f) <= *p)
                            && to.is_some_and(|t| i64::from(t) >= *p)
                    }));
            if exact {
                let port = from.unwrap_or(-1);
                for r in &world_v4 {
                    removed
                        .push(json!({"IpProtocol": protocol, "Port": port, "CidrIp": r.cidr_ip()}));
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
        let before = Some(json!({"WorldOpenAdminRules": removed, "WiderWorldOpenRules": wider}));
        let note = if wider.is_empty() {
            String::new()
        } else {
            format!(
                "; left in place, wider than an admin port (review by hand): {}",
                wider.join(", ")
            )
        };
        if revoke.is_empty() {
            let (status, what) = if wider.is_empty() {
                (
                    Status::AlreadyDone,
                    "no world-open ingress on ports 22 or 3389",
                )
            } else {
                (
                    Status::Skipped,
                    "no rule open to the world on exactly port 22 or 3389",
                )
            };
            return Outcome::new(action, status, format!("{group}: {what}{note}"))
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
                    "{group}: revoked {} world-open admin range(s), kept every other rule{note}",
                    removed.len()
                ),
            )
            .with_state(before, Some(json!({ "Revoked": removed }))),
            Err(e) => Outcome::failed(action, failure("ec2:RevokeSecurityGroupIngress", e))
                .with_state(before, None),
        }
    }

    pub(super) async fn isolate_instance(&self, action: &Action, instance: &str) -> Outcome {
        let client = self.ec2.get(&action.region);
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
                    return Outcome::failed(action, failure("ec2:RevokeSecurityGroupEgress", e));
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

    pub(super) async fn block_bucket_public_access(
        &self,
        action: &Action,
        bucket: &str,
    ) -> Outcome {
        let client = self.s3.get(&action.region);
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        match client
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(config)
            .send()
            .await
        {
            Ok(_) => Outcome::new(action, Status::Done, format!("bucket {bucket} blocks all public access"))
                .with_state(None, Some(json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}))),
            Err(e) => Outcome::failed(action, failure("s3:PutPublicAccessBlock", e)),
        }
    }
}
