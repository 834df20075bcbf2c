//! The attack-catalog techniques whose primary signal is one CloudTrail call, for the coverage
//! page's "Catalog signals" section. Only the technique and its call are written here (from
//! Stratus Red Team's technique pages and SigmaHQ's AWS CloudTrail rules); which rules answer
//! each call, how, and whether the stack routes it are derived from the rules and the template.

/// One technique of a public attack catalog and the CloudTrail calls that are its signal.
#[derive(Debug, Clone, Copy)]
pub struct Technique {
    /// `stratus:<technique id>` or `sigma:<rule file name>`.
    pub id: &'static str,
    /// The signal, in a few words.
    pub signal: &'static str,
    /// `(eventSource, eventName)` of the calls.
    pub calls: &'static [(&'static str, &'static str)],
}

const fn t(
    id: &'static str,
    signal: &'static str,
    calls: &'static [(&'static str, &'static str)],
) -> Technique {
    Technique { id, signal, calls }
}

const EC2: &str = "ec2.amazonaws.com";
const IAM: &str = "iam.amazonaws.com";
const S3: &str = "s3.amazonaws.com";
const RDS: &str = "rds.amazonaws.com";

/// The techniques of issue 18's table, in its order.
pub const TECHNIQUES: &[Technique] = &[
    t(
        "stratus:aws.exfiltration.ec2-share-ebs-snapshot",
        "EBS snapshot shared publicly or with another account",
        &[(EC2, "ModifySnapshotAttribute")],
    ),
    t(
        "stratus:aws.exfiltration.ec2-share-ami",
        "AMI shared publicly or with another account",
        &[(EC2, "ModifyImageAttribute")],
    ),
    t(
        "stratus:aws.exfiltration.rds-share-snapshot",
        "RDS DB or cluster snapshot shared publicly or with another account",
        &[
            (RDS, "ModifyDBSnapshotAttribute"),
            (RDS, "ModifyDBClusterSnapshotAttribute"),
        ],
    ),
    t(
        "stratus:aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
        "EC2 serial console access enabled",
        &[(EC2, "EnableSerialConsoleAccess")],
    ),
    t(
        "sigma:aws_ec2_disable_encryption",
        "EBS encryption by default disabled",
        &[(EC2, "DisableEbsEncryptionByDefault")],
    ),
    t(
        "stratus:aws.exfiltration.ec2-security-group-open-port-22-ingress",
        "Security group opened to the world on 22/3389",
        &[(EC2, "AuthorizeSecurityGroupIngress")],
    ),
    t(
        "sigma:aws_route_53_domain_transferred_lock_disabled",
        "Route 53 domain transfer lock disabled",
        &[("route53domains.amazonaws.com", "DisableDomainTransferLock")],
    ),
    t(
        "sigma:aws_route_53_domain_transferred_to_another_account",
        "Route 53 domain transferred to another AWS account",
        &[(
            "route53domains.amazonaws.com",
            "TransferDomainToAnotherAwsAccount",
        )],
    ),
    t(
        "stratus:aws.persistence.iam-backdoor-user",
        "Access key created for another user",
        &[(IAM, "CreateAccessKey")],
    ),
    t(
        "stratus:aws.persistence.iam-create-user-login-profile",
        "Console password created for another user",
        &[(IAM, "CreateLoginProfile")],
    ),
    t(
        "stratus:aws.privilege-escalation.iam-update-user-login-profile",
        "Console password changed for another user",
        &[(IAM, "UpdateLoginProfile")],
    ),
    t(
        "stratus:aws.persistence.iam-create-backdoor-role",
        "Role created trusting an outside account",
        &[(IAM, "CreateRole")],
    ),
    t(
        "stratus:aws.persistence.iam-backdoor-role",
        "Role trust policy changed to trust an outside account",
        &[(IAM, "UpdateAssumeRolePolicy")],
    ),
    t(
        "stratus:aws.exfiltration.s3-backdoor-bucket-policy",
        "Bucket policy or ACL granting public or outside access",
        &[(S3, "PutBucketPolicy"), (S3, "PutBucketAcl")],
    ),
    t(
        "sigma:aws_disable_bucket_versioning",
        "Bucket versioning suspended",
        &[(S3, "PutBucketVersioning")],
    ),
    t(
        "stratus:aws.persistence.rolesanywhere-create-trust-anchor",
        "IAM Roles Anywhere trust anchor created",
        &[("rolesanywhere.amazonaws.com", "CreateTrustAnchor")],
    ),
    t(
        "stratus:aws.persistence.sts-federation-token",
        "Federation token obtained with a long-term key",
        &[("sts.amazonaws.com", "GetFederationToken")],
    ),
    t(
        "issue-18:macie-tampering",
        "Macie disabled, detached, findings archived or filtered away",
        &[
            ("macie2.amazonaws.com", "DisableMacie"),
            (
                "macie2.amazonaws.com",
                "DisassociateFromAdministratorAccount",
            ),
            ("macie2.amazonaws.com", "ArchiveFindings"),
            ("macie2.amazonaws.com", "CreateFindingsFilter"),
        ],
    ),
    t(
        "stratus:aws.defense-evasion.dns-delete-logs",
        "Route 53 Resolver query logging deleted or detached",
        &[
            (
                "route53resolver.amazonaws.com",
                "DeleteResolverQueryLogConfig",
            ),
            (
                "route53resolver.amazonaws.com",
                "DisassociateResolverQueryLogConfig",
            ),
        ],
    ),
    t(
        "sigma:aws_cloudtrail_enable_region",
        "Opt-in region enabled",
        &[("account.amazonaws.com", "EnableRegion")],
    ),
    t(
        "sigma:aws_delete_saml_provider",
        "SAML provider deleted",
        &[(IAM, "DeleteSAMLProvider")],
    ),
    t(
        "issue-18:kms-trail-key",
        "KMS key of a trail scheduled for deletion or disabled",
        &[
            ("kms.amazonaws.com", "ScheduleKeyDeletion"),
            ("kms.amazonaws.com", "DisableKey"),
        ],
    ),
    t(
        "issue-18:log-group-deleted",
        "Log group of a trail or flow log deleted",
        &[("logs.amazonaws.com", "DeleteLogGroup")],
    ),
    t(
        "issue-18:trail-bucket-logging",
        "Bucket access logging emptied, or a trail bucket deleted",
        &[(S3, "PutBucketLogging"), (S3, "DeleteBucket")],
    ),
];

/// Whether a rule's eventName pattern names a call: exactly, or as a prefix with a trailing `*`.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_technique_names_calls_and_ids_are_unique() {
        let mut ids: Vec<&str> = TECHNIQUES.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), TECHNIQUES.len());
        for t in TECHNIQUES {
            assert!(!t.calls.is_empty(), "{}", t.id);
            for (source, name) in t.calls {
                assert!(source.ends_with(".amazonaws.com"), "{source}");
                assert!(!name.is_empty() && !name.contains('*'), "{name}");
            }
        }
    }

    #[test]
    fn prefix_patterns_name_versioned_calls() {
        assert!(name_matches(
            "UpdateFunctionCode*",
            "UpdateFunctionCode20150331v2"
        ));
        assert!(name_matches("CreateRole", "CreateRole"));
        assert!(!name_matches("CreateRole", "CreateRolePolicy"));
    }
}
