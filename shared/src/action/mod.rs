//! Remediation actions: a closed set. Each kind declares the API it calls, the IAM permissions
//! it needs (`infra/` must grant exactly these, checked by a test), the events that can supply
//! its parameters, and the words notifications use for it.

#[cfg(feature = "aws")]
mod accounts;
#[cfg(feature = "aws")]
mod contain;
#[cfg(feature = "aws")]
mod exec;
mod outcome;

#[cfg(feature = "aws")]
pub use accounts::Actor;
pub use outcome::{Outcome, Status};

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::event::{
    DT_CLOUDTRAIL_CALL, DT_CONFIG_COMPLIANCE_CHANGE, DT_CONFIG_ITEM_CHANGE, DT_GUARDDUTY_FINDING,
    Event, EventKind,
};

/// The kinds of action a rule may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `iam:UpdateAccessKey` Status=Inactive on the one long-term (AKIA) key a finding names.
    DeactivateAccessKey,
    /// `cloudtrail:StartLogging` on the trail a StopLogging call named, in its home region.
    StartLogging,
    /// `guardduty:UpdateDetector` Enable=true on the detector an UpdateDetector call disabled.
    EnableDetector,
    /// `config:StartConfigurationRecorder` on the recorder a StopConfigurationRecorder call named.
    StartConfigurationRecorder,
    /// For a NON_COMPLIANT cloudtrail-enabled result: start every trail of the account seen from
    /// the event's region which is not logging, each in its home region.
    StartStoppedTrails,
    /// For a NON_COMPLIANT guardduty-enabled-centralized result: enable the region's detectors.
    EnableRegionDetectors,
    /// `cloudtrail:PutEventSelectors` on the trail a PutEventSelectors call named: management
    /// events back on, the trail's data selectors kept as they are.
    RestoreManagementEvents,
    /// `events:EnableRule` on the EventBridge rule a DisableRule call named.
    EnableRule,
    /// `guardduty:CreateDetector` in the region whose detector was deleted (opt-in).
    CreateDetector,
    /// `guardduty:UpdateIPSet` Activate=false on the trusted-IP list a call activated (opt-in).
    DeactivateIpSet,
    /// `iam:PutRolePolicy` AWSRevokeOlderSessions on the role whose session credentials a finding
    /// names: every session issued before now is denied everything.
    RevokeRoleSessions,
    /// `iam:PutUserPolicy` with a deny-all quarantine policy on the IAM user a finding names
    /// (opt-in, in addition to the key deactivation).
    QuarantineUser,
    /// `ec2:RevokeSecurityGroupIngress` of exactly the 0.0.0.0/0 and ::/0 ranges open on an admin
    /// port (22, 3389) of the group the event names; every other rule is kept.
    RevokeWorldOpenAdminIngress,
    /// `ec2:ModifyInstanceAttribute` swapping the instance a finding names to a quarantine
    /// security group with no rules (opt-in).
    IsolateInstance,
    /// `s3:PutPublicAccessBlock` with all four settings on, on the bucket a finding names
    /// (opt-in).
    RestoreBucketPublicAccessBlock,
}

/// Words notifications use for an action kind.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// It ran: "key deactivated".
    pub done: &'static str,
    /// It was already so: "key already inactive".
    pub already: &'static str,
    /// Dry-run or shadow: "would deactivate key".
    pub would: &'static str,
    /// The action as a noun, for "… FAILED" and "… skipped".
    pub noun: &'static str,
    /// What it would do, for "withheld: …".
    pub withheld: &'static str,
}

macro_rules! words {
    ($done:expr, $already:expr, $would:expr, $noun:expr, $withheld:expr) => {
        Words {
            done: $done,
            already: $already,
            would: $would,
            noun: $noun,
            withheld: $withheld,
        }
    };
}

impl ActionKind {
    pub const ALL: [ActionKind; 15] = [
        ActionKind::DeactivateAccessKey,
        ActionKind::StartLogging,
        ActionKind::EnableDetector,
        ActionKind::StartConfigurationRecorder,
        ActionKind::StartStoppedTrails,
        ActionKind::EnableRegionDetectors,
        ActionKind::RestoreManagementEvents,
        ActionKind::EnableRule,
        ActionKind::CreateDetector,
        ActionKind::DeactivateIpSet,
        ActionKind::RevokeRoleSessions,
        ActionKind::QuarantineUser,
        ActionKind::RevokeWorldOpenAdminIngress,
        ActionKind::IsolateInstance,
        ActionKind::RestoreBucketPublicAccessBlock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::DeactivateAccessKey => "deactivate_access_key",
            ActionKind::StartLogging => "start_logging",
            ActionKind::EnableDetector => "enable_detector",
            ActionKind::StartConfigurationRecorder => "start_configuration_recorder",
            ActionKind::StartStoppedTrails => "start_stopped_trails",
            ActionKind::EnableRegionDetectors => "enable_region_detectors",
            ActionKind::RestoreManagementEvents => "restore_management_events",
            ActionKind::EnableRule => "enable_rule",
            ActionKind::CreateDetector => "create_detector",
            ActionKind::DeactivateIpSet => "deactivate_ip_set",
            ActionKind::RevokeRoleSessions => "revoke_role_sessions",
            ActionKind::QuarantineUser => "quarantine_user",
            ActionKind::RevokeWorldOpenAdminIngress => "revoke_world_open_admin_ingress",
            ActionKind::IsolateInstance => "isolate_instance",
            ActionKind::RestoreBucketPublicAccessBlock => "restore_bucket_public_access_block",
        }
    }

    /// The mutating API call, as `service:Operation`.
    pub fn api(self) -> &'static str {
        match self {
            ActionKind::DeactivateAccessKey => "iam:UpdateAccessKey",
            ActionKind::StartLogging | ActionKind::StartStoppedTrails => "cloudtrail:StartLogging",
            ActionKind::EnableDetector | ActionKind::EnableRegionDetectors => {
                "guardduty:UpdateDetector"
            }
            ActionKind::StartConfigurationRecorder => "config:StartConfigurationRecorder",
            ActionKind::RestoreManagementEvents => "cloudtrail:PutEventSelectors",
            ActionKind::EnableRule => "events:EnableRule",
            ActionKind::CreateDetector => "guardduty:CreateDetector",
            ActionKind::DeactivateIpSet => "guardduty:UpdateIPSet",
            ActionKind::RevokeRoleSessions => "iam:PutRolePolicy",
            ActionKind::QuarantineUser => "iam:PutUserPolicy",
            ActionKind::RevokeWorldOpenAdminIngress => "ec2:RevokeSecurityGroupIngress",
            ActionKind::IsolateInstance => "ec2:ModifyInstanceAttribute",
            ActionKind::RestoreBucketPublicAccessBlock => "s3:PutPublicAccessBlock",
        }
    }

    /// Every IAM permission the action's calls need (reads included).
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            ActionKind::DeactivateAccessKey => &["iam:UpdateAccessKey"],
            ActionKind::StartLogging => &["cloudtrail:StartLogging"],
            ActionKind::EnableDetector => &["guardduty:UpdateDetector"],
            ActionKind::StartConfigurationRecorder => &["config:StartConfigurationRecorder"],
            ActionKind::StartStoppedTrails => &[
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:StartLogging",
            ],
            ActionKind::EnableRegionDetectors => &[
                "guardduty:ListDetectors",
                "guardduty:GetDetector",
                "guardduty:UpdateDetector",
            ],
            ActionKind::RestoreManagementEvents => &[
                "cloudtrail:GetEventSelectors",
                "cloudtrail:PutEventSelectors",
            ],
            ActionKind::EnableRule => &["events:EnableRule"],
            ActionKind::CreateDetector => &["guardduty:ListDetectors", "guardduty:CreateDetector"],
            ActionKind::DeactivateIpSet => &["guardduty:UpdateIPSet"],
            ActionKind::RevokeRoleSessions => &["iam:PutRolePolicy"],
            ActionKind::QuarantineUser => &["iam:PutUserPolicy"],
            ActionKind::RevokeWorldOpenAdminIngress => &[
                "ec2:DescribeSecurityGroups",
                "ec2:RevokeSecurityGroupIngress",
            ],
            ActionKind::IsolateInstance => &[
                "ec2:DescribeInstances",
                "ec2:DescribeSecurityGroups",
                "ec2:CreateSecurityGroup",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:ModifyInstanceAttribute",
            ],
            ActionKind::RestoreBucketPublicAccessBlock => &["s3:PutBucketPublicAccessBlock"],
        }
    }

    /// Containment acts on a principal or workload rather than restoring a control: a
    /// deployment grants its permissions only with the stack's `Containment=on`.
    pub fn is_containment(self) -> bool {
        matches!(
            self,
            ActionKind::RevokeRoleSessions
                | ActionKind::QuarantineUser
                | ActionKind::RevokeWorldOpenAdminIngress
                | ActionKind::IsolateInstance
                | ActionKind::RestoreBucketPublicAccessBlock
        )
    }

    /// The detail-types whose events can supply this action's parameters.
    pub fn detail_types(self) -> &'static [&'static str] {
        match self {
            ActionKind::DeactivateAccessKey
            | ActionKind::RevokeRoleSessions
            | ActionKind::QuarantineUser
            | ActionKind::IsolateInstance
            | ActionKind::RestoreBucketPublicAccessBlock => &[DT_GUARDDUTY_FINDING],
            ActionKind::StartLogging
            | ActionKind::EnableDetector
            | ActionKind::StartConfigurationRecorder
            | ActionKind::RestoreManagementEvents
            | ActionKind::EnableRule
            | ActionKind::CreateDetector
            | ActionKind::DeactivateIpSet => &[DT_CLOUDTRAIL_CALL],
            ActionKind::StartStoppedTrails | ActionKind::EnableRegionDetectors => {
                &[DT_CONFIG_COMPLIANCE_CHANGE]
            }
            ActionKind::RevokeWorldOpenAdminIngress => {
                &[DT_CONFIG_ITEM_CHANGE, DT_CONFIG_COMPLIANCE_CHANGE]
            }
        }
    }

    /// The words notifications use for this action.
    pub fn words(self) -> Words {
        match self {
            ActionKind::DeactivateAccessKey => words!(
                "key deactivated",
                "key already inactive",
                "would deactivate key",
                "key deactivation",
                "deactivate the access key"
            ),
            ActionKind::StartLogging => words!(
                "restarted",
                "already logging",
                "would restart",
                "restart",
                "restart the trail's logging"
            ),
            ActionKind::EnableDetector => words!(
                "detector enabled",
                "detector already enabled",
                "would enable detector",
                "detector re-enable",
                "re-enable the GuardDuty detector"
            ),
            ActionKind::StartConfigurationRecorder => words!(
                "recorder restarted",
                "recorder already recording",
                "would restart recorder",
                "recorder restart",
                "restart the configuration recorder"
            ),
            ActionKind::StartStoppedTrails => words!(
                "stopped trails restarted",
                "trails already logging",
                "would restart stopped trails",
                "trail restart",
                "restart the stopped trails"
            ),
            ActionKind::EnableRegionDetectors => words!(
                "detectors enabled",
                "detectors already enabled",
                "would enable detectors",
                "detector re-enable",
                "re-enable the region's GuardDuty detectors"
            ),
            ActionKind::RestoreManagementEvents => words!(
                "management events restored",
                "management events already logged",
                "would restore management events",
                "event selector restore",
                "restore the trail's management events"
            ),
            ActionKind::EnableRule => words!(
                "rule re-enabled",
                "rule already enabled",
                "would re-enable rule",
                "rule re-enable",
                "re-enable the EventBridge rule"
            ),
            ActionKind::CreateDetector => words!(
                "detector re-created",
                "a detector exists",
                "would re-create detector",
                "detector re-creation",
                "re-create the GuardDuty detector"
            ),
            ActionKind::DeactivateIpSet => words!(
                "trusted IP list deactivated",
                "trusted IP list already inactive",
                "would deactivate trusted IP list",
                "IP list deactivation",
                "deactivate the trusted IP list"
            ),
            ActionKind::RevokeRoleSessions => words!(
                "role sessions revoked",
                "role sessions already revoked",
                "would revoke role sessions",
                "session revocation",
                "revoke the role's older sessions"
            ),
            ActionKind::QuarantineUser => words!(
                "user quarantined",
                "user already quarantined",
                "would quarantine user",
                "user quarantine",
                "quarantine the IAM user"
            ),
            ActionKind::RevokeWorldOpenAdminIngress => words!(
                "world-open ingress revoked",
                "no world-open ingress left",
                "would revoke world-open ingress",
                "ingress revocation",
                "revoke the world-open admin ingress"
            ),
            ActionKind::IsolateInstance => words!(
                "instance isolated",
                "instance already isolated",
                "would isolate instance",
                "instance isolation",
                "isolate the instance"
            ),
            ActionKind::RestoreBucketPublicAccessBlock => words!(
                "public access blocked",
                "public access already blocked",
                "would block public access",
                "public access block",
                "restore the bucket's public access block"
            ),
        }
    }

    /// Builds the concrete action from the event: the exact resource, region and account it
    /// names. `Err` says which parameter the event does not supply.
    pub fn bind(self, event: &Event) -> Result<Action, String> {
        let unsupported = || {
            format!(
                "{} cannot take its parameters from a `{}` event",
                self.name(),
                event.detail_type
            )
        };
        let (region, target) = match &event.kind {
            EventKind::GuardDutyFinding(f) => (event.region.clone(), bind_finding(self, f)?),
            EventKind::CloudTrailCall(c) => bind_call(self, c)?,
            EventKind::ConfigComplianceChange(c) => match self {
                ActionKind::StartStoppedTrails => (event.region.clone(), Target::StoppedTrails),
                ActionKind::EnableRegionDetectors => {
                    (event.region.clone(), Target::RegionDetectors)
                }
                ActionKind::RevokeWorldOpenAdminIngress => {
                    let group = c
                        .evaluated_resource_id()
                        .filter(|id| id.starts_with("sg-"))
                        .ok_or("the compliance result names no security group (sg-…)")?;
                    let region = c.aws_region.clone().unwrap_or_else(|| event.region.clone());
                    (
                        region,
                        Target::SecurityGroup {
                            group_id: group.to_string(),
                        },
                    )
                }
                _ => return Err(unsupported()),
            },
            EventKind::ConfigItemChange(c) => match self {
                ActionKind::RevokeWorldOpenAdminIngress => {
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
                    (region, Target::SecurityGroup { group_id: group })
                }
                _ => return Err(unsupported()),
            },
            _ => return Err(unsupported()),
        };
        if region.is_empty() {
            return Err("the event names no region".into());
        }
        // The account that owns the resource: the event's own account, or the account of an
        // ARN the event names (a trail in another account of the organization).
        let account = target
            .arn_account()
            .unwrap_or_else(|| event.owner_account())
            .to_string();
        Ok(Action {
            kind: self,
            account,
            region,
            target,
        })
    }
}

fn bind_finding(kind: ActionKind, f: &crate::event::Finding) -> Result<Target, String> {
    let key = || {
        f.resource
            .access_key_details
            .as_ref()
            .ok_or("the finding has no resource.accessKeyDetails")
    };
    let user_name = || -> Result<String, String> {
        key()?
            .user_name
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| "the finding names no userName".to_string())
    };
    match kind {
        ActionKind::DeactivateAccessKey => {
            let access_key_id = key()?
                .access_key_id
                .clone()
                .ok_or("the finding names no accessKeyId")?;
            if !access_key_id.starts_with("AKIA") {
                return Err(format!(
                    "key {access_key_id} is not a long-term IAM user key (AKIA…)"
                ));
            }
            Ok(Target::AccessKey {
                user_name: user_name()?,
                access_key_id,
            })
        }
        ActionKind::QuarantineUser => {
            if key()?.user_type.as_deref() != Some("IAMUser") {
                return Err("the finding's principal is not an IAM user".into());
            }
            Ok(Target::User {
                user_name: user_name()?,
            })
        }
        ActionKind::RevokeRoleSessions => {
            if key()?.user_type.as_deref() != Some("AssumedRole") {
                return Err("the finding's principal is not an assumed role".into());
            }
            // For an AssumedRole principal, GuardDuty's userName is the role name.
            Ok(Target::Role {
                role_name: user_name()?,
            })
        }
        ActionKind::IsolateInstance => {
            let id = f
                .resource
                .instance_details
                .as_ref()
                .and_then(|i| i.instance_id.clone())
                .filter(|i| i.starts_with("i-"))
                .ok_or("the finding names no EC2 instance (i-…)")?;
            Ok(Target::Instance { instance_id: id })
        }
        ActionKind::RestoreBucketPublicAccessBlock => {
            let name = f
                .resource
                .s3_bucket_details
                .first()
                .and_then(|b| b.name.clone())
                .filter(|n| !n.is_empty())
                .ok_or("the finding names no S3 bucket")?;
            Ok(Target::Bucket { name })
        }
        _ => Err(format!(
            "{} cannot take its parameters from a GuardDuty finding",
            kind.name()
        )),
    }
}

fn bind_call(
    kind: ActionKind,
    c: &crate::event::CloudTrailCall,
) -> Result<(String, Target), String> {
    let call_region = c.aws_region.clone();
    let required = |name: &str| {
        c.request_str(name)
            .map(str::to_string)
            .ok_or_else(|| format!("requestParameters.{name} is missing"))
    };
    let target = match kind {
        ActionKind::StartLogging => {
            let name = required("name")?;
            let region = arn_region(&name).unwrap_or(&call_region).to_string();
            return Ok((region, Target::Trail { name }));
        }
        ActionKind::RestoreManagementEvents => {
            let name = required("trailName")?;
            let region = arn_region(&name).unwrap_or(&call_region).to_string();
            return Ok((region, Target::EventSelectors { trail: name }));
        }
        ActionKind::EnableDetector => Target::Detector {
            detector_id: required("detectorId")?,
        },
        ActionKind::StartConfigurationRecorder => Target::Recorder {
            name: required("configurationRecorderName")?,
        },
        ActionKind::EnableRule => Target::Rule {
            name: required("name")?,
            event_bus: c.request_str("eventBusName").map(str::to_string),
        },
        ActionKind::CreateDetector => Target::NewDetector,
        ActionKind::DeactivateIpSet => {
            let ip_set_id = c
                .request_str("ipSetId")
                .or_else(|| {
                    c.response_elements
                        .get("ipSetId")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                })
                .ok_or("neither requestParameters.ipSetId nor responseElements.ipSetId is set")?
                .to_string();
            Target::IpSet {
                detector_id: required("detectorId")?,
                ip_set_id,
            }
        }
        _ => {
            return Err(format!(
                "{} cannot take its parameters from a CloudTrail call",
                kind.name()
            ));
        }
    };
    Ok((call_region, target))
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ActionKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown action `{s}` (known: {})", known.join(", "))
            })
    }
}

/// The resource an action acts on: exactly what the event named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    AccessKey {
        user_name: String,
        access_key_id: String,
    },
    Trail {
        name: String,
    },
    Detector {
        detector_id: String,
    },
    Recorder {
        name: String,
    },
    StoppedTrails,
    RegionDetectors,
    EventSelectors {
        trail: String,
    },
    Rule {
        name: String,
        event_bus: Option<String>,
    },
    NewDetector,
    IpSet {
        detector_id: String,
        ip_set_id: String,
    },
    Role {
        role_name: String,
    },
    User {
        user_name: String,
    },
    SecurityGroup {
        group_id: String,
    },
    Instance {
        instance_id: String,
    },
    Bucket {
        name: String,
    },
}

impl Target {
    /// The account of the resource when the event named it by ARN.
    pub fn arn_account(&self) -> Option<&str> {
        let name = match self {
            Target::Trail { name } | Target::EventSelectors { trail: name } => name,
            _ => return None,
        };
        let parts: Vec<&str> = name.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, _, _, account, _] if account.len() == 12 => Some(account),
            _ => None,
        }
    }
}

/// A planned action: the kind, plus the exact resource, region and account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    pub kind: ActionKind,
    pub account: String,
    pub region: String,
    pub target: Target,
}

/// The name of the inline policy that revokes a role's older sessions (the name the IAM console
/// uses for the same operation).
pub const REVOKE_SESSIONS_POLICY: &str = "AWSRevokeOlderSessions";
/// The name of the inline quarantine policy put on an IAM user.
pub const QUARANTINE_POLICY: &str = "mamoru-quarantine";
/// The name of the quarantine security group created per VPC.
pub const QUARANTINE_GROUP: &str = "mamoru-quarantine";

impl Action {
    /// The request parameters, with AWS API parameter names. Values chosen when the action runs
    /// (a policy's time, a discovered trail) are described in words.
    pub fn params(&self) -> Map<String, Value> {
        let v = match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => json!({"UserName": user_name, "AccessKeyId": access_key_id, "Status": "Inactive"}),
            Target::Trail { name } => json!({ "Name": name }),
            Target::Detector { detector_id } => json!({"DetectorId": detector_id, "Enable": true}),
            Target::Recorder { name } => json!({ "ConfigurationRecorderName": name }),
            Target::StoppedTrails => json!({
                "Name": "each trail seen from the region with IsLogging = false, started in its home region"
            }),
            Target::RegionDetectors => json!({
                "DetectorId": "each detector of the region that is not enabled",
                "Enable": true
            }),
            Target::EventSelectors { trail } => json!({
                "TrailName": trail,
                "EventSelectors": "the trail's current data selectors, plus IncludeManagementEvents = true, ReadWriteType = All"
            }),
            Target::Rule { name, event_bus } => match event_bus {
                Some(bus) => json!({"Name": name, "EventBusName": bus}),
                None => json!({ "Name": name }),
            },
            Target::NewDetector => json!({"Enable": true}),
            Target::IpSet {
                detector_id,
                ip_set_id,
            } => json!({"DetectorId": detector_id, "IpSetId": ip_set_id, "Activate": false}),
            Target::Role { role_name } => json!({
                "RoleName": role_name,
                "PolicyName": REVOKE_SESSIONS_POLICY,
                "PolicyDocument": "Deny * on * when aws:TokenIssueTime is before the time of the revocation"
            }),
            Target::User { user_name } => json!({
                "UserName": user_name,
                "PolicyName": QUARANTINE_POLICY,
                "PolicyDocument": "Deny * on *"
            }),
            Target::SecurityGroup { group_id } => json!({
                "GroupId": group_id,
                "IpPermissions": "the group's 0.0.0.0/0 and ::/0 ranges on ports 22 and 3389, read from the group"
            }),
            Target::Instance { instance_id } => json!({
                "InstanceId": instance_id,
                "Groups": format!("the {QUARANTINE_GROUP} security group of the instance's VPC (no rules)")
            }),
            Target::Bucket { name } => json!({
                "Bucket": name,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true, "IgnorePublicAcls": true,
                    "BlockPublicPolicy": true, "RestrictPublicBuckets": true
                }
            }),
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The resource named, for people: `access key AKIA… of IAM user alice`, `trail org`, …
    pub fn resource(&self) -> String {
        match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => format!("access key {access_key_id} of IAM user {user_name}"),
            Target::Trail { name } => format!("trail {}", trail_name(name)),
            Target::Detector { detector_id } => format!("GuardDuty detector {detector_id}"),
            Target::Recorder { name } => format!("configuration recorder {name}"),
            Target::StoppedTrails => format!("stopped trails in {}", self.region),
            Target::RegionDetectors => format!("GuardDuty detectors in {}", self.region),
            Target::EventSelectors { trail } => {
                format!("event selectors of trail {}", trail_name(trail))
            }
            Target::Rule { name, .. } => format!("EventBridge rule {name}"),
            Target::NewDetector => format!("GuardDuty in {}", self.region),
            Target::IpSet { ip_set_id, .. } => format!("trusted IP list {ip_set_id}"),
            Target::Role { role_name } => format!("IAM role {role_name}"),
            Target::User { user_name } => format!("IAM user {user_name}"),
            Target::SecurityGroup { group_id } => format!("security group {group_id}"),
            Target::Instance { instance_id } => format!("EC2 instance {instance_id}"),
            Target::Bucket { name } => format!("S3 bucket {name}"),
        }
    }

    /// A short name of the resource, for a Subject: `alice AKIA…`, `org-trail`, `sg-0123…`.
    pub fn short_resource(&self) -> Option<String> {
        Some(match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => format!("{user_name} {access_key_id}"),
            Target::Trail { name } | Target::EventSelectors { trail: name } => {
                trail_name(name).to_string()
            }
            Target::Detector { detector_id } => format!("detector {detector_id}"),
            Target::Recorder { name } => format!("recorder {name}"),
            Target::StoppedTrails | Target::RegionDetectors | Target::NewDetector => return None,
            Target::Rule { name, .. } => format!("rule {name}"),
            Target::IpSet { ip_set_id, .. } => format!("IP set {ip_set_id}"),
            Target::Role { role_name } => format!("role {role_name}"),
            Target::User { user_name } => format!("user {user_name}"),
            Target::SecurityGroup { group_id } => group_id.clone(),
            Target::Instance { instance_id } => instance_id.clone(),
            Target::Bucket { name } => format!("bucket {name}"),
        })
    }

    /// What the action does, in a few words.
    pub fn describe(&self) -> String {
        match self.kind {
            ActionKind::DeactivateAccessKey => format!("deactivate {}", self.resource()),
            ActionKind::StartLogging => format!("restart logging on {}", self.resource()),
            ActionKind::EnableDetector => format!("re-enable {}", self.resource()),
            ActionKind::StartConfigurationRecorder => format!("restart {}", self.resource()),
            ActionKind::StartStoppedTrails => {
                format!("restart logging on every stopped trail in {}", self.region)
            }
            ActionKind::EnableRegionDetectors => {
                format!("re-enable the GuardDuty detectors in {}", self.region)
            }
            ActionKind::RestoreManagementEvents => {
                format!("restore management events in the {}", self.resource())
            }
            ActionKind::EnableRule => format!("re-enable {}", self.resource()),
            ActionKind::CreateDetector => {
                format!("re-create a GuardDuty detector in {}", self.region)
            }
            ActionKind::DeactivateIpSet => format!("deactivate {}", self.resource()),
            ActionKind::RevokeRoleSessions => {
                format!(
                    "revoke the sessions of {} issued until now",
                    self.resource()
                )
            }
            ActionKind::QuarantineUser => format!("quarantine {} (deny all)", self.resource()),
            ActionKind::RevokeWorldOpenAdminIngress => format!(
                "revoke the world-open ingress on ports 22 and 3389 of {}",
                self.resource()
            ),
            ActionKind::IsolateInstance => {
                format!("isolate {} in a quarantine security group", self.resource())
            }
            ActionKind::RestoreBucketPublicAccessBlock => {
                format!("block all public access to {}", self.resource())
            }
        }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Action", 5)?;
        st.serialize_field("action", self.kind.name())?;
        st.serialize_field("api", self.kind.api())?;
        st.serialize_field("account", &self.account)?;
        st.serialize_field("region", &self.region)?;
        st.serialize_field("params", &self.params())?;
        st.end()
    }
}

/// Whether a CloudTrail call is one that mamoru's own actions make: an action's API called with
/// the parameters that action uses (a key set Inactive, a detector enabled, the deny-all
/// policies under mamoru's names, …), or a read. Only such calls made with mamoru's roles are
/// ignored as its own; a weakening call made with them (a detector disabled, selectors dropped,
/// a policy that allows) is decided like any other.
pub fn is_restoring_call(call: &crate::event::CloudTrailCall) -> bool {
    let p = &call.request_parameters;
    let text = |k: &str| p.get(k).and_then(Value::as_str);
    let flag = |k: &str| p.get(k).and_then(Value::as_bool);
    let name = call.event_name.as_str();
    if ["Describe", "Get", "List"]
        .iter()
        .any(|read| name.starts_with(read))
    {
        return true;
    }
    match (call.event_source.as_str(), name) {
        ("iam.amazonaws.com", "UpdateAccessKey") => text("status") == Some("Inactive"),
        ("iam.amazonaws.com", "PutRolePolicy") => {
            text("policyName") == Some(REVOKE_SESSIONS_POLICY)
                && denies_only(text("policyDocument"))
        }
        ("iam.amazonaws.com", "PutUserPolicy") => {
            text("policyName") == Some(QUARANTINE_POLICY) && denies_only(text("policyDocument"))
        }
        ("cloudtrail.amazonaws.com", "StartLogging")
        | ("config.amazonaws.com", "StartConfigurationRecorder")
        | ("events.amazonaws.com", "EnableRule")
        | ("ec2.amazonaws.com", "RevokeSecurityGroupIngress" | "RevokeSecurityGroupEgress")
        | ("ec2.amazonaws.com", "ModifyInstanceAttribute") => true,
        ("cloudtrail.amazonaws.com", "PutEventSelectors") => {
            !crate::decide::facts::call_drops_management_events(call)
        }
        ("guardduty.amazonaws.com", "UpdateDetector") => {
            flag("enable") == Some(true) && !crate::decide::facts::disables_features(call)
        }
        ("guardduty.amazonaws.com", "CreateDetector") => flag("enable") == Some(true),
        ("guardduty.amazonaws.com", "UpdateIPSet") => {
            flag("activate") == Some(false) && p.get("location").is_none()
        }
        ("ec2.amazonaws.com", "CreateSecurityGroup") => text("groupName") == Some(QUARANTINE_GROUP),
        ("s3.amazonaws.com", "PutBucketPublicAccessBlock") => {
            p.get("PublicAccessBlockConfiguration").is_some_and(|c| {
                [
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                ]
                .iter()
                .all(|k| c.get(*k).and_then(Value::as_bool) == Some(true))
            })
        }
        _ => false,
    }
}

/// Whether an inline policy document (as CloudTrail records it: a JSON string, possibly
/// URL-encoded) only denies.
fn denies_only(doc: Option<&str>) -> bool {
    let Some(doc) = doc else { return false };
    let decoded = percent_decode_if_encoded(doc);
    let Ok(v) = serde_json::from_str::<Value>(&decoded) else {
        return false;
    };
    let statements: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return false,
    };
    !statements.is_empty()
        && statements
            .iter()
            .all(|st| st.get("Effect").and_then(Value::as_str) == Some("Deny"))
}

/// A policy document as JSON text: CloudTrail records some URL-encoded (`%7B%22Version…`).
pub(crate) fn percent_decode_if_encoded(doc: &str) -> std::borrow::Cow<'_, str> {
    if doc.trim_start().starts_with('%') || doc.contains("%22") {
        std::borrow::Cow::Owned(percent_decode(doc))
    } else {
        std::borrow::Cow::Borrowed(doc)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| char::from(*c).to_digit(16)),
                b.get(i + 2).and_then(|c| char::from(*c).to_digit(16)),
            )
            && let Ok(byte) = u8::try_from(h * 16 + l)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The region of an ARN (`arn:partition:service:region:account:resource`), if it has one.
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let region = parts.nth(2)?;
    (!region.is_empty()).then_some(region)
}

/// The trail name from a name or an ARN.
pub fn trail_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":trail/") {
        Some((_, name)) => name,
        None => name_or_arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_region_reads_the_fourth_field() {
        assert_eq!(
            arn_region("arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("arn:aws:iam::123456789012:role/x"), None);
        assert_eq!(arn_region("org-trail"), None);
    }

    #[test]
    fn action_names_round_trip_and_each_may_call_its_own_api() {
        for k in ActionKind::ALL {
            assert_eq!(k.name().parse::<ActionKind>(), Ok(k));
            let api = k.api();
            // s3:PutPublicAccessBlock is authorised by the permission of another name.
            let own = if api == "s3:PutPublicAccessBlock" {
                "s3:PutBucketPublicAccessBlock"
            } else {
                api
            };
            assert!(k.permissions().contains(&own), "{k} must be allowed {own}");
        }
        assert!("delete_everything".parse::<ActionKind>().is_err());
    }
}
