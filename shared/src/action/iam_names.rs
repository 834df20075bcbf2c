//! The IAM action names that grants may hold, each with the AWS SDK operation it authorises (the
//! service and operation names as the SDK's own operation metadata gives them). A test checks this
//! list against the SDK's operations and against every action's grants, both ways.

/// One IAM action and the SDK operation it authorises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamAction {
    /// `iam:UpdateAccessKey`.
    pub iam: &'static str,
    /// The SDK's service name (`IAM`).
    pub service: &'static str,
    /// The SDK's operation name (`UpdateAccessKey`).
    pub operation: &'static str,
}

const fn a(iam: &'static str, service: &'static str, operation: &'static str) -> IamAction {
    IamAction {
        iam,
        service,
        operation,
    }
}

/// Every IAM action an action's grant (or the log destination lookup's, [`crate::lookup::GRANT`]) may hold.
pub const IAM_ACTIONS: &[IamAction] = &[
    a("cloudtrail:DescribeTrails", "CloudTrail", "DescribeTrails"),
    a(
        "cloudtrail:GetEventSelectors",
        "CloudTrail",
        "GetEventSelectors",
    ),
    a("cloudtrail:GetTrailStatus", "CloudTrail", "GetTrailStatus"),
    a(
        "cloudtrail:PutEventSelectors",
        "CloudTrail",
        "PutEventSelectors",
    ),
    a("cloudtrail:StartLogging", "CloudTrail", "StartLogging"),
    a(
        "config:DescribeConfigurationRecorderStatus",
        "Config Service",
        "DescribeConfigurationRecorderStatus",
    ),
    a(
        "config:StartConfigurationRecorder",
        "Config Service",
        "StartConfigurationRecorder",
    ),
    a("ec2:CreateSecurityGroup", "EC2", "CreateSecurityGroup"),
    a(
        "ec2:DescribeImageAttribute",
        "EC2",
        "DescribeImageAttribute",
    ),
    a(
        "ec2:DisableSerialConsoleAccess",
        "EC2",
        "DisableSerialConsoleAccess",
    ),
    a(
        "ec2:EnableEbsEncryptionByDefault",
        "EC2",
        "EnableEbsEncryptionByDefault",
    ),
    a(
        "ec2:GetEbsEncryptionByDefault",
        "EC2",
        "GetEbsEncryptionByDefault",
    ),
    a(
        "ec2:GetSerialConsoleAccessStatus",
        "EC2",
        "GetSerialConsoleAccessStatus",
    ),
    a("ec2:DescribeInstances", "EC2", "DescribeInstances"),
    a("ec2:DescribeFlowLogs", "EC2", "DescribeFlowLogs"),
    a(
        "ec2:DescribeSecurityGroups",
        "EC2",
        "DescribeSecurityGroups",
    ),
    a(
        "ec2:DescribeSnapshotAttribute",
        "EC2",
        "DescribeSnapshotAttribute",
    ),
    a("ec2:ModifyImageAttribute", "EC2", "ModifyImageAttribute"),
    a(
        "ec2:ModifySnapshotAttribute",
        "EC2",
        "ModifySnapshotAttribute",
    ),
    a(
        "ec2:ModifyInstanceAttribute",
        "EC2",
        "ModifyInstanceAttribute",
    ),
    a(
        "ec2:RevokeSecurityGroupEgress",
        "EC2",
        "RevokeSecurityGroupEgress",
    ),
    a(
        "ec2:RevokeSecurityGroupIngress",
        "EC2",
        "RevokeSecurityGroupIngress",
    ),
    a("events:EnableRule", "EventBridge", "EnableRule"),
    a("guardduty:CreateDetector", "GuardDuty", "CreateDetector"),
    a("guardduty:GetDetector", "GuardDuty", "GetDetector"),
    a("guardduty:ListDetectors", "GuardDuty", "ListDetectors"),
    a("guardduty:UpdateDetector", "GuardDuty", "UpdateDetector"),
    a("guardduty:UpdateIPSet", "GuardDuty", "UpdateIPSet"),
    a("iam:DeleteLoginProfile", "IAM", "DeleteLoginProfile"),
    a("iam:GetLoginProfile", "IAM", "GetLoginProfile"),
    a("iam:GetUser", "IAM", "GetUser"),
    a("iam:PutRolePolicy", "IAM", "PutRolePolicy"),
    a("iam:PutUserPolicy", "IAM", "PutUserPolicy"),
    a("iam:UpdateAccessKey", "IAM", "UpdateAccessKey"),
    a(
        "lambda:GetFunctionConcurrency",
        "Lambda",
        "GetFunctionConcurrency",
    ),
    a(
        "lambda:PutFunctionConcurrency",
        "Lambda",
        "PutFunctionConcurrency",
    ),
    a(
        "rds:DescribeDBClusterSnapshotAttributes",
        "RDS",
        "DescribeDBClusterSnapshotAttributes",
    ),
    a(
        "rds:DescribeDBSnapshotAttributes",
        "RDS",
        "DescribeDBSnapshotAttributes",
    ),
    a(
        "rds:ModifyDBClusterSnapshotAttribute",
        "RDS",
        "ModifyDBClusterSnapshotAttribute",
    ),
    a(
        "rds:ModifyDBSnapshotAttribute",
        "RDS",
        "ModifyDBSnapshotAttribute",
    ),
    a(
        "route53domains:CancelDomainTransferToAnotherAwsAccount",
        "Route 53 Domains",
        "CancelDomainTransferToAnotherAwsAccount",
    ),
    a(
        "route53domains:EnableDomainTransferLock",
        "Route 53 Domains",
        "EnableDomainTransferLock",
    ),
    a(
        "route53domains:GetDomainDetail",
        "Route 53 Domains",
        "GetDomainDetail",
    ),
    a("s3:GetBucketVersioning", "S3", "GetBucketVersioning"),
    a("s3:PutBucketVersioning", "S3", "PutBucketVersioning"),
    // The operation PutPublicAccessBlock is authorised by an IAM action of another name.
    a(
        "s3:PutBucketPublicAccessBlock",
        "S3",
        "PutPublicAccessBlock",
    ),
    // The S3 Control operations on the account's public access block are authorised by these.
    a(
        "s3:GetAccountPublicAccessBlock",
        "S3 Control",
        "GetPublicAccessBlock",
    ),
    a(
        "s3:PutAccountPublicAccessBlock",
        "S3 Control",
        "PutPublicAccessBlock",
    ),
    // GetObjectTagging and PutObjectTagging on an object version are authorised by these.
    a("s3:GetObjectVersionTagging", "S3", "GetObjectTagging"),
    a("s3:PutObjectVersionTagging", "S3", "PutObjectTagging"),
];

/// The IAM actions that may authorise an SDK operation given as `prefix:Operation` (an action's
/// `api()`).
pub fn authorising(api: &str) -> Vec<&'static IamAction> {
    let Some((prefix, op)) = api.split_once(':') else {
        return Vec::new();
    };
    IAM_ACTIONS
        .iter()
        .filter(|a| a.operation == op && a.api_prefix() == prefix)
        .collect()
}

impl IamAction {
    /// The prefix an action's `api()` gives this operation: the IAM prefix, except for S3
    /// Control, whose operations IAM names under `s3` (`s3control:PutPublicAccessBlock`, not
    /// S3's own `s3:PutPublicAccessBlock`).
    pub fn api_prefix(&self) -> &'static str {
        if self.service == "S3 Control" {
            return "s3control";
        }
        self.iam.split_once(':').map_or("", |(p, _)| p)
    }
}
