"""Sample requests for evaluating mamoru's roles (test_boundary.py offline, test_deploy.py on
what was deployed)."""

from __future__ import annotations

import cfn

ACCOUNT = cfn.PSEUDO_PARAMETERS["AWS::AccountId"]
REGION = cfn.PSEUDO_PARAMETERS["AWS::Region"]

# A resource that is not mamoru's, for each action a function may declare (a new action on the
# Rust side needs an entry). "*" for the actions without a resource type.
OTHER_RESOURCE = {
    "iam:UpdateAccessKey": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "iam:PutUserPolicy": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "iam:DeleteLoginProfile": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "iam:GetLoginProfile": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "iam:GetUser": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "iam:PutRolePolicy": f"arn:aws:iam::{ACCOUNT}:role/app/exfiltrated-app",
    "cloudtrail:StartLogging": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/org-trail",
    "cloudtrail:GetTrailStatus": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/org-trail",
    "cloudtrail:GetEventSelectors": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/org-trail",
    "cloudtrail:PutEventSelectors": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/org-trail",
    "guardduty:UpdateDetector": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/12abc34d567e8fa901bc2d34e56789f0",
    "guardduty:GetDetector": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/12abc34d567e8fa901bc2d34e56789f0",
    "guardduty:UpdateIPSet": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/12abc34d567e8fa901bc2d34e56789f0/ipset/0cb0141ab9fbde177613ab9436212e90",
    "events:EnableRule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/mamoru-mamoru-findings",
    "ec2:RevokeSecurityGroupIngress": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
    "ec2:RevokeSecurityGroupEgress": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
    "ec2:CreateSecurityGroup": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0123456789abcdef0",
    "ec2:ModifyInstanceAttribute": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0",
    "s3:PutBucketPublicAccessBlock": "arn:aws:s3:::customer-data",
    "s3:GetBucketVersioning": "arn:aws:s3:::customer-data",
    "s3:PutBucketVersioning": "arn:aws:s3:::customer-data",
    "lambda:GetFunctionConcurrency": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:invoice-renderer",
    "lambda:PutFunctionConcurrency": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:invoice-renderer",
    "s3:GetObjectVersionTagging": "arn:aws:s3:::customer-data/uploads/report.pdf",
    "s3:PutObjectVersionTagging": "arn:aws:s3:::customer-data/uploads/report.pdf",
    # The state table is the stack's own (its physical name as cfn.fake_physical makes it).
    "dynamodb:UpdateItem": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mamoru-mamoru-state",
    # The hub of the stack's account and region (Security Hub's write-back).
    "securityhub:BatchUpdateFindings": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default",
    "securityhub:BatchImportFindings": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
    # Snapshot and AMI ARNs name no account.
    "ec2:DescribeSnapshotAttribute": f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0",
    "ec2:ModifySnapshotAttribute": f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0",
    "ec2:DescribeImageAttribute": f"arn:aws:ec2:{REGION}::image/ami-0123456789abcdef0",
    "ec2:ModifyImageAttribute": f"arn:aws:ec2:{REGION}::image/ami-0123456789abcdef0",
    # RDS snapshot ARNs name the account; the identifier follows a colon.
    "rds:DescribeDBSnapshotAttributes": f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:exfiltration",
    "rds:ModifyDBSnapshotAttribute": f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:exfiltration",
    "rds:DescribeDBClusterSnapshotAttributes": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:exfiltration",
    "rds:ModifyDBClusterSnapshotAttribute": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:exfiltration",
    **{
        a: "*"
        for a in [
            "cloudtrail:DescribeTrails",
            "guardduty:ListDetectors",
            "guardduty:CreateDetector",
            "config:StartConfigurationRecorder",
            "config:DescribeConfigurationRecorderStatus",
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeFlowLogs",
            "ec2:GetEbsEncryptionByDefault",
            "ec2:GetSerialConsoleAccessStatus",
            "ec2:DisableSerialConsoleAccess",
            "ec2:EnableEbsEncryptionByDefault",
            "s3:GetAccountPublicAccessBlock",
            "s3:PutAccountPublicAccessBlock",
            "route53domains:GetDomainDetail",
            "route53domains:EnableDomainTransferLock",
            "route53domains:CancelDomainTransferToAnotherAwsAccount",
        ]
    },
}

# IAM writes on a role, and on a managed policy.
ROLE_WRITES = [
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PassRole",
    "iam:CreateRole",
]
POLICY_WRITES = [
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]


def other_resource(action: str, stack: str = cfn.PSEUDO_PARAMETERS["AWS::StackName"]) -> str:
    """OTHER_RESOURCE[action]; the rules events:EnableRule may re-enable and the state table are
    the stack's own."""
    if action == "events:EnableRule":
        return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/mamoru-{stack}-findings"
    if action.startswith("dynamodb:"):
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mamoru-{stack}-state"
    return OTHER_RESOURCE[action]
