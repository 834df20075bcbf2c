//! IAM grants as an action declares them: the IAM actions, the resources they are granted on (in
//! the template's `Fn::Sub` form, relative to the account and region the role is in), and a
//! condition. `mamoru permissions --grants` prints them per function, and the infra tests check
//! that the template's statements are exactly these, resources and conditions included.

use serde::Serialize;
use serde_json::{Value, json};

/// A condition on a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// None.
    None,
    /// `aws:RequestedRegion` is the stack's region: for writes without a resource type.
    StackRegion,
    /// `aws:RequestedRegion` is us-east-1, the only region that serves Route 53 Domains: for its
    /// writes, which have no resource type, whatever region the stack is in.
    DomainsRegion,
}

impl Condition {
    /// The condition block as the template writes it, or `None`.
    pub fn to_cfn(self) -> Option<Value> {
        match self {
            Condition::None => None,
            Condition::StackRegion => Some(json!({
                "StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}
            })),
            Condition::DomainsRegion => Some(json!({
                "StringEquals": {"aws:RequestedRegion": DOMAINS_REGION}
            })),
        }
    }
}

/// The one region that serves Route 53 Domains (and where CloudTrail records its calls).
pub const DOMAINS_REGION: &str = "us-east-1";

/// One grant: `actions` on `resources`, under `condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// IAM action names (`iam:UpdateAccessKey`); each is in [`crate::action::iam_names`].
    pub actions: &'static [&'static str],
    /// Resource ARN patterns in `Fn::Sub` form, or `["*"]` for actions that have no resource
    /// type in the Service Authorization Reference.
    pub resources: &'static [&'static str],
    pub condition: Condition,
}

impl Grant {
    pub const IAM_USERS: &'static str = "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*";
    pub const IAM_ROLES: &'static str = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*";
    /// Any region: a trail is restarted in its home region.
    pub const TRAILS: &'static str = "arn:${AWS::Partition}:cloudtrail:*:${AWS::AccountId}:trail/*";
    pub const DETECTORS: &'static str =
        "arn:${AWS::Partition}:guardduty:${AWS::Region}:${AWS::AccountId}:detector/*";
    pub const IP_SETS: &'static str =
        "arn:${AWS::Partition}:guardduty:${AWS::Region}:${AWS::AccountId}:detector/*/ipset/*";
    /// mamoru's own EventBridge rules (named mamoru-<stack>-…, on the default bus or the central
    /// bus mamoru-<stack>-central).
    pub const OWN_RULES: &'static str = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/mamoru-${AWS::StackName}-*";
    /// Bucket ARNs carry no region or account.
    pub const BUCKETS: &'static str = "arn:${AWS::Partition}:s3:::*";
    pub const SECURITY_GROUPS: &'static str =
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/*";
    pub const VPCS: &'static str =
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/*";
    pub const INSTANCES: &'static str =
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*";

    /// EBS snapshot and AMI ARNs carry no account (only the owner can change them).
    pub const SNAPSHOTS: &'static str = "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*";
    pub const IMAGES: &'static str = "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*";

    /// RDS DB snapshots and DB cluster snapshots of the account in the region.
    pub const DB_SNAPSHOTS: &'static str =
        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:*";
    pub const DB_CLUSTER_SNAPSHOTS: &'static str =
        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster-snapshot:*";

    /// `actions` on `resources`.
    pub const fn on(actions: &'static [&'static str], resources: &'static [&'static str]) -> Grant {
        Grant {
            actions,
            resources,
            condition: Condition::None,
        }
    }

    /// Actions with no resource type (reads): every resource.
    pub const fn anywhere(actions: &'static [&'static str]) -> Grant {
        Grant {
            actions,
            resources: &["*"],
            condition: Condition::None,
        }
    }

    /// Writes with no resource type: every resource, held to the stack's region.
    pub const fn anywhere_in_region(actions: &'static [&'static str]) -> Grant {
        Grant {
            actions,
            resources: &["*"],
            condition: Condition::StackRegion,
        }
    }

    /// Route 53 Domains writes (no resource type): every resource, held to us-east-1.
    pub const fn anywhere_in_domains_region(actions: &'static [&'static str]) -> Grant {
        Grant {
            actions,
            resources: &["*"],
            condition: Condition::DomainsRegion,
        }
    }

    /// The grant's resources as the template writes them: `{"Fn::Sub": …}` or `"*"`.
    pub fn cfn_resources(&self) -> Vec<Value> {
        self.resources
            .iter()
            .map(|r| {
                if *r == "*" {
                    json!("*")
                } else {
                    json!({ "Fn::Sub": r })
                }
            })
            .collect()
    }
}
