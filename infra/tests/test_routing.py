"""Routing: the template's EventBridge patterns, exercised on a real EventBridge emulation.

GIVEN every AWS::Events::Rule of infra/template.yaml created on moto (PutRule with its physical
name and pattern, on its bus, PutTargets to one SQS queue per mamoru function)
WHEN each fixture event is put on the bus (PutEvents)
THEN it reaches exactly the function the table below names, once, or no function at all.

For an organization, the rules of the central bus are the twins of the default-bus rules (the same
patterns and functions), and a member account's event, put on its own default bus in a second
moto account, travels through the forwarding rules of infra/member.yaml and the central bus to
the function the table names.

moto's TestEventPattern is a stub (it answers an empty body), so matching is observed through
delivery, as in production. The patterns are also compared with the Rust side: the event names
with `mamoru routes`, the field conditions with the playbook's rules.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import tomllib
from datetime import datetime
from itertools import product
from pathlib import Path

import pytest

import cfn

GUARDDUTY, CLOUDTRAIL, CONFIG, SECURITYHUB = "guardduty", "cloudtrail", "config", "securityhub"

# Every fixture file and the one function it must reach (None: it must reach none). A fixture
# without an entry fails test_every_fixture_has_an_expectation.
EXPECTED: dict[str, str | None] = {
    # Security Hub: the findings of Security Hub's own product (the function ignores those
    # passed, resolved, suppressed, archived or written back by mamoru), not GuardDuty's copies;
    # the custom action of this stack's action target only.
    "aws.securityhub/imported-cloudtrail-1.json": SECURITYHUB,
    "aws.securityhub/imported-cloudtrail-2-consolidated.json": SECURITYHUB,
    "aws.securityhub/imported-config-1.json": SECURITYHUB,
    "aws.securityhub/imported-ec2-13-ssh-world.json": SECURITYHUB,
    "aws.securityhub/imported-ec2-19-high-risk.json": SECURITYHUB,
    # The new Security Hub (OCSF): its own products are routed; GuardDuty's copy is not.
    "aws.securityhub/v2-exposure-lambda.json": SECURITYHUB,
    "aws.securityhub/v2-exposure-lambda-resolved.json": SECURITYHUB,
    "aws.securityhub/v2-coverage-guardduty-pass.json": SECURITYHUB,
    "aws.securityhub/v2-coverage-guardduty-fail.json": SECURITYHUB,
    "aws.securityhub/v2-control-config-1.json": SECURITYHUB,
    "aws.securityhub/v2-control-guardduty-1.json": SECURITYHUB,
    "aws.securityhub/v2-control-cloudtrail-1.json": SECURITYHUB,
    "aws.securityhub/v2-guardduty-product.json": None,
    "aws.securityhub/imported-guardduty-1.json": SECURITYHUB,
    "aws.securityhub/imported-s3-8.json": SECURITYHUB,
    "aws.securityhub/imported-s3-1.json": SECURITYHUB,
    "aws.securityhub/imported-ec2-13-notified-by-mamoru.json": SECURITYHUB,
    "aws.securityhub/imported-guardduty-product-dga.json": None,  # GuardDuty's own event acts
    "aws.securityhub/imported-ec2-13-passed.json": SECURITYHUB,
    "aws.securityhub/imported-ec2-13-resolved.json": SECURITYHUB,
    "aws.securityhub/imported-ec2-13-suppressed.json": SECURITYHUB,
    "aws.securityhub/imported-s3-8-archived.json": SECURITYHUB,
    "aws.securityhub/custom-action-ec2-13-ssh-world.json": SECURITYHUB,
    "aws.securityhub/custom-action-two-findings.json": SECURITYHUB,
    # CloudTrail tampering; failed calls are routed (the function notifies the attempts its rules
    # ask for and records the others).
    "aws.cloudtrail/ct-delete-trail.json": CLOUDTRAIL,
    "tamper/cloudtrail-delete-trail-conflict.json": CLOUDTRAIL,  # failed: an attempt
    "aws.cloudtrail/ct-stop-logging.json": CLOUDTRAIL,
    "aws.cloudtrail/ct-stop-logging-error-invalidtrailname.json": CLOUDTRAIL,
    "constructed/ct-stop-logging-by-mamoru-itself.json": CLOUDTRAIL,  # the function ignores it
    "constructed/ct-stop-logging-by-name.json": CLOUDTRAIL,
    "constructed/ct-stop-logging-by-protected-principal.json": CLOUDTRAIL,
    "constructed/ct-stop-logging-trail-in-other-region.json": CLOUDTRAIL,
    # UpdateTrail, whatever it sets: the function decides whether it weakened the trail.
    "aws.cloudtrail/ct-update-trail.json": CLOUDTRAIL,
    "aws.cloudtrail/ct-update-trail-error-trailnotfound.json": CLOUDTRAIL,
    "tamper/cloudtrail-update-trail-enable-log-file-validation.json": CLOUDTRAIL,
    "tamper/cloudtrail-update-trail-no-global-events.json": CLOUDTRAIL,
    "tamper/cloudtrail-update-trail-remove-cloudwatch-logs.json": CLOUDTRAIL,
    "tamper/cloudtrail-update-trail-single-region.json": CLOUDTRAIL,
    # PutEventSelectors, whatever it sets: the function decides whether management events or
    # sources went.
    "aws.cloudtrail/ct-put-event-selectors.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-advanced-event-selectors-data-only.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-advanced-event-selectors-management.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-advanced-event-selectors-read-only.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-event-selectors-all-management.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-event-selectors-exclude-kms.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-event-selectors-keeps-management.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-event-selectors-read-only.json": CLOUDTRAIL,
    # Lifecycle of CloudTrail buckets (bucketName *cloudtrail*) only; bucket policies and ACLs of
    # every bucket (the function decides whether they are public or outside), bucket logging
    # whatever it sets (the function decides whether it was emptied), every deleted bucket.
    "tamper/s3-put-bucket-lifecycle-trail-bucket.json": CLOUDTRAIL,
    "tamper/s3-put-bucket-policy-trail-bucket.json": CLOUDTRAIL,
    "tamper/s3-put-bucket-policy-other-bucket.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-policy-public.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-policy-outside.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-acl-public-read.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-acl-private.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-logging-disabled.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-logging-enabled.json": CLOUDTRAIL,
    "aws.s3/ct-delete-bucket.json": CLOUDTRAIL,
    "aws.s3/ct-delete-bucket-not-empty.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-versioning-suspended.json": CLOUDTRAIL,
    "aws.s3/ct-put-bucket-versioning-enabled.json": None,
    "aws.s3/ct-put-bucket-versioning-suspended-denied.json": CLOUDTRAIL,
    "aws.route53domains/ct-disable-domain-transfer-lock.json": CLOUDTRAIL,
    "aws.route53domains/ct-enable-domain-transfer-lock.json": None,
    "aws.route53domains/ct-disable-domain-transfer-lock-denied.json": CLOUDTRAIL,
    "aws.route53domains/ct-transfer-domain-to-another-aws-account.json": CLOUDTRAIL,
    "aws.route53domains/ct-transfer-domain-to-another-aws-account-denied.json": CLOUDTRAIL,
    # Attack-catalog calls, failed ones included (the function records them); only the calls the
    # playbook names: not the profile made with a trust anchor, not a Macie session update, not a
    # Macie filter that does not archive.
    "aws.rolesanywhere/ct-create-trust-anchor.json": CLOUDTRAIL,
    "aws.rolesanywhere/ct-create-profile.json": None,
    "aws.sts/ct-get-federation-token.json": CLOUDTRAIL,
    "aws.sts/ct-get-federation-token-denied.json": CLOUDTRAIL,
    "aws.macie2/ct-disable-macie.json": CLOUDTRAIL,
    "aws.macie2/ct-disassociate-from-administrator-account.json": CLOUDTRAIL,
    "aws.macie2/ct-archive-findings.json": CLOUDTRAIL,
    "aws.macie2/ct-create-findings-filter-archive.json": CLOUDTRAIL,
    "aws.macie2/ct-create-findings-filter-noop.json": None,
    "aws.macie2/ct-update-macie-session.json": None,
    "aws.route53resolver/ct-delete-resolver-query-log-config.json": CLOUDTRAIL,
    "aws.route53resolver/ct-disassociate-resolver-query-log-config.json": CLOUDTRAIL,
    "aws.route53resolver/ct-delete-resolver-query-log-config-denied.json": CLOUDTRAIL,
    "aws.account/ct-enable-region.json": CLOUDTRAIL,
    "aws.account/ct-enable-region-denied.json": CLOUDTRAIL,
    "aws.iam/ct-delete-saml-provider.json": CLOUDTRAIL,
    "aws.iam/ct-delete-saml-provider-missing.json": CLOUDTRAIL,
    "aws.kms/ct-disable-key.json": CLOUDTRAIL,
    "aws.kms/ct-schedule-key-deletion.json": CLOUDTRAIL,
    "aws.kms/ct-disable-key-not-found.json": CLOUDTRAIL,
    "aws.logs/ct-delete-log-group.json": CLOUDTRAIL,
    "aws.logs/ct-delete-log-group-missing.json": CLOUDTRAIL,
    # Config tampering.
    "aws.config/ct-stop-configuration-recorder.json": CLOUDTRAIL,
    "aws.config/ct-delete-configuration-recorder.json": CLOUDTRAIL,
    "aws.config/ct-delete-delivery-channel.json": CLOUDTRAIL,
    # PutConfigurationRecorder, whatever it sets: the function decides whether it narrows.
    "tamper/config-put-recorder-all.json": CLOUDTRAIL,
    "tamper/config-put-recorder-default.json": CLOUDTRAIL,
    "tamper/config-put-recorder-narrowed.json": CLOUDTRAIL,
    "tamper/config-put-recorder-resource-types.json": CLOUDTRAIL,
    # GuardDuty tampering. UpdateDetector, whatever it sets: the function decides whether it
    # disables the detector or a feature.
    "aws.guardduty/ct-delete-detector.json": CLOUDTRAIL,
    "tamper/guardduty-delete-detector-denied.json": CLOUDTRAIL,  # an attempt
    "aws.guardduty/ct-update-detector-disable.json": CLOUDTRAIL,
    "constructed/ct-update-detector-disable-denied.json": CLOUDTRAIL,  # an attempt
    "constructed/ct-update-detector-enable.json": CLOUDTRAIL,  # the function ignores it
    "tamper/guardduty-update-detector-data-sources-disabled.json": CLOUDTRAIL,
    "tamper/guardduty-update-detector-features-disabled.json": CLOUDTRAIL,
    "tamper/guardduty-update-detector-features-enabled.json": CLOUDTRAIL,  # ignored
    # GuardDuty administrator link broken.
    "aws.guardduty/ct-disassociate-from-master-account.json": CLOUDTRAIL,
    "tamper/guardduty-disassociate-from-administrator.json": CLOUDTRAIL,
    "tamper/guardduty-delete-members.json": CLOUDTRAIL,
    "tamper/guardduty-stop-monitoring-members.json": CLOUDTRAIL,
    # Trusted-IP lists when activated or moved, threat lists when deactivated or moved.
    "tamper/guardduty-create-ip-set.json": CLOUDTRAIL,
    "tamper/guardduty-update-ip-set-activate.json": CLOUDTRAIL,
    "tamper/guardduty-update-ip-set-location.json": CLOUDTRAIL,
    "tamper/guardduty-update-ip-set-deactivate.json": None,
    "tamper/guardduty-update-threat-intel-set-deactivate.json": CLOUDTRAIL,
    "tamper/guardduty-update-threat-intel-set-location.json": CLOUDTRAIL,
    # New filters with action ARCHIVE; UpdateFilter whatever it sets (new criteria keep an
    # archive filter archiving, and findingCriteria is no leaf a pattern can test).
    "tamper/guardduty-create-filter-archive.json": CLOUDTRAIL,
    "tamper/guardduty-update-filter-criteria.json": CLOUDTRAIL,
    "tamper/guardduty-update-filter-noop.json": CLOUDTRAIL,  # the function ignores it
    # Findings archived by hand and exports deleted; unarchiving and new exports are fine.
    "tamper/guardduty-archive-findings.json": CLOUDTRAIL,
    "tamper/guardduty-unarchive-findings.json": None,
    "tamper/guardduty-delete-publishing-destination.json": CLOUDTRAIL,
    "tamper/guardduty-create-publishing-destination.json": None,
    # Flow logs, Organizations (even a denied call), Security Hub (BatchUpdateFindings only when
    # it suppresses or resolves).
    "tamper/ec2-delete-flow-logs.json": CLOUDTRAIL,
    "tamper/ec2-delete-flow-logs-denied.json": CLOUDTRAIL,  # an attempt: the function decides
    # Attack catalogs: EBS snapshots and AMIs shared, whatever the call shares
    # (the function decides whether it is public or outside); failed calls are routed.
    "aws.ec2/ct-modify-snapshot-attribute-public.json": CLOUDTRAIL,
    "aws.ec2/ct-modify-snapshot-attribute-public-error.json": CLOUDTRAIL,
    "aws.ec2/ct-modify-snapshot-attribute-share-account.json": CLOUDTRAIL,
    "aws.ec2/ct-modify-image-attribute-public.json": CLOUDTRAIL,
    "aws.ec2/ct-modify-image-attribute-public-error.json": CLOUDTRAIL,
    "aws.ec2/ct-modify-image-attribute-share-account.json": CLOUDTRAIL,
    # RDS DB snapshots and DB cluster snapshots shared, whatever the call adds (an empty
    # valuesToAdd too: the function decides).
    "aws.rds/ct-modify-db-snapshot-attribute-public.json": CLOUDTRAIL,
    "aws.rds/ct-modify-db-snapshot-attribute-share-account.json": CLOUDTRAIL,
    "aws.rds/ct-modify-db-snapshot-attribute-no-accounts.json": CLOUDTRAIL,
    "constructed/ct-modify-db-cluster-snapshot-attribute-share.json": CLOUDTRAIL,
    "aws.ec2/ct-enable-serial-console-access.json": CLOUDTRAIL,
    "aws.ec2/ct-enable-serial-console-access-denied.json": CLOUDTRAIL,  # an attempt
    "aws.ec2/ct-disable-ebs-encryption-by-default.json": CLOUDTRAIL,
    "aws.ec2/ct-disable-ebs-encryption-by-default-denied.json": CLOUDTRAIL,  # an attempt
    # Ingress authorized, whatever it opens (the function decides whether it is the world on
    # an admin port).
    "aws.ec2/ct-authorize-security-group-ingress-ssh-world.json": CLOUDTRAIL,
    "aws.ec2/ct-authorize-security-group-ingress-ssh-own-address.json": CLOUDTRAIL,
    "tamper/organizations-leave-organization-denied.json": CLOUDTRAIL,
    "tamper/organizations-describe-organization.json": None,  # a read
    "tamper/securityhub-disable.json": CLOUDTRAIL,
    "tamper/securityhub-batch-update-findings-suppressed.json": CLOUDTRAIL,
    "tamper/securityhub-batch-update-findings-notified.json": None,
    # IAM inline policies, whatever they allow (the function decides), and group membership.
    "tamper/iam-put-group-policy-allow-all.json": CLOUDTRAIL,
    "tamper/iam-put-role-policy-allow-all.json": CLOUDTRAIL,
    "tamper/iam-put-role-policy-scoped.json": CLOUDTRAIL,  # the function ignores it
    "tamper/iam-put-user-policy-allow-all.json": CLOUDTRAIL,
    "tamper/iam-put-user-policy-deny-all.json": CLOUDTRAIL,  # the function ignores it
    "tamper/iam-add-user-to-group.json": CLOUDTRAIL,
    "tamper/iam-create-user.json": None,
    # Keys and passwords given to a user, role trust policies: whoever the user or the principal
    # (the function decides whether it is another user, an outside account or everyone).
    "aws.iam/ct-create-access-key.json": CLOUDTRAIL,
    "aws.iam/ct-create-access-key-own.json": CLOUDTRAIL,
    "aws.iam/ct-create-login-profile-other-user.json": CLOUDTRAIL,
    "aws.iam/ct-update-login-profile-other-user.json": CLOUDTRAIL,
    "aws.iam/ct-update-login-profile-own.json": CLOUDTRAIL,
    "aws.iam/ct-create-role-trust-outside.json": CLOUDTRAIL,
    "aws.iam/ct-update-assume-role-policy-trust-outside.json": CLOUDTRAIL,
    "aws.iam/ct-update-assume-role-policy-trust-everyone.json": CLOUDTRAIL,
    # mamoru itself: its rules, functions and topics, named exactly (the fixtures' names are the
    # test deployment's, OWN_NAMES); failed calls included.
    "tamper/events-disable-rule-mamoru.json": CLOUDTRAIL,
    "tamper/events-disable-rule-mamoru-denied.json": CLOUDTRAIL,  # an attempt
    "tamper/events-delete-rule-mamoru.json": CLOUDTRAIL,
    "tamper/events-remove-targets-mamoru.json": CLOUDTRAIL,
    "tamper/events-put-rule-mamoru.json": CLOUDTRAIL,
    "tamper/events-put-targets-mamoru.json": CLOUDTRAIL,
    "tamper/events-disable-rule-other.json": None,
    "tamper/lambda-add-permission-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-create-function-url-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-delete-function-mamoru.json": CLOUDTRAIL,  # functionName is an ARN
    "tamper/lambda-delete-function-mamoru-denied.json": CLOUDTRAIL,  # an attempt
    "tamper/lambda-put-concurrency-zero-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-put-function-event-invoke-config-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-put-function-recursion-config-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-remove-permission-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-code-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-configuration-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-event-invoke-config-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-code-other.json": None,
    "tamper/sns-delete-topic-mamoru.json": CLOUDTRAIL,
    "tamper/sns-put-data-protection-policy-mamoru.json": CLOUDTRAIL,  # by resourceArn
    "tamper/sns-remove-permission-mamoru.json": CLOUDTRAIL,
    "tamper/sns-set-subscription-attributes-mamoru.json": CLOUDTRAIL,  # by subscriptionArn
    "tamper/sns-set-topic-attributes-mamoru.json": CLOUDTRAIL,
    "tamper/sns-subscribe-mamoru.json": CLOUDTRAIL,
    "tamper/sns-unsubscribe-mamoru.json": CLOUDTRAIL,  # by subscriptionArn
    # Resources merely called *mamoru* are not mamoru's: anyone can choose a name.
    "tamper/events-delete-rule-attacker-mamoru-noise.json": None,
    "tamper/events-disable-rule-attacker-mamoru-noise.json": None,
    "tamper/events-put-rule-attacker-mamoru-noise.json": None,
    "tamper/events-put-targets-attacker-mamoru-noise.json": None,
    "tamper/lambda-delete-function-attacker-mamoru-noise-denied.json": None,
    "tamper/lambda-remove-permission-attacker-mamoru-noise.json": None,
    "tamper/sns-subscribe-attacker-mamoru-noise.json": None,
    # Root console sign-in, success or failure (the function decides what to notify); an IAM
    # user's failed sign-in is not routed.
    "aws.signin/console-login-root.json": CLOUDTRAIL,
    "aws.signin/console-login-root-failed-authentication.json": CLOUDTRAIL,
    "constructed/console-login-root-failure.json": CLOUDTRAIL,
    "aws.signin/console-login-iamuser-failed-authentication.json": None,
    # GuardDuty findings, every severity (no floor by default).
    "aws.guardduty/finding-attacksequence-iam-compromisedcredentials.json": GUARDDUTY,
    "aws.guardduty/finding-attacksequence-s3-compromiseddata.json": GUARDDUTY,
    "aws.guardduty/finding-backdoor-ec2-ccactivity-b.json": GUARDDUTY,
    "aws.guardduty/finding-credentialaccess-iamuser-anomalousbehavior.json": GUARDDUTY,
    "aws.guardduty/finding-credentialaccess-rds-anomalousbehavior-successfullogin.json": GUARDDUTY,
    "aws.guardduty/finding-cryptocurrency-ec2-bitcointool-b-dns.json": GUARDDUTY,
    "aws.guardduty/finding-policy-iamuser-rootcredentialusage.json": GUARDDUTY,
    "aws.guardduty/finding-policy-s3-bucketblockpublicaccessdisabled.json": GUARDDUTY,
    "aws.guardduty/finding-privilegeescalation-runtime-dockersocketaccessed.json": GUARDDUTY,
    "aws.guardduty/finding-recon-ec2-portprobeunprotectedport-low-severity.json": GUARDDUTY,
    "aws.guardduty/finding-recon-iamuser-maliciousipcaller.json": GUARDDUTY,
    "aws.guardduty/finding-stealth-iamuser-cloudtrailloggingdisabled.json": GUARDDUTY,
    "aws.guardduty/finding-unauthorizedaccess-ec2-sshbruteforce.json": GUARDDUTY,
    "aws.guardduty/finding-unauthorizedaccess-iamuser-consoleloginsuccess-b.json": GUARDDUTY,
    "aws.guardduty/finding-unauthorizedaccess-iamuser-instancecredentialexfiltration-outsideaws.json": GUARDDUTY,
    "aws.guardduty/finding-unauthorizedaccess-iamuser-maliciousipcaller.json": GUARDDUTY,
    "constructed/finding-assumedrole-credential-exfiltration-high.json": GUARDDUTY,
    "constructed/finding-iamuser-key-archived.json": GUARDDUTY,  # the function ignores it
    "constructed/finding-iamuser-key-malicious-ip-high.json": GUARDDUTY,
    "constructed/finding-iamuser-key-malicious-ip-medium.json": GUARDDUTY,
    "constructed/finding-iamuser-key-protected-breakglass.json": GUARDDUTY,
    "constructed/finding-lambda-backdoor-ccactivity.json": GUARDDUTY,
    # One finding of each threat purpose.
    "findings/behavior-ec2-trafficvolumeunusual.json": GUARDDUTY,
    "findings/cryptocurrency-ec2-bitcointool.json": GUARDDUTY,
    "findings/defenseevasion-ec2-unusualdnsresolver.json": GUARDDUTY,
    "findings/discovery-s3-maliciousipcaller.json": GUARDDUTY,
    "findings/execution-runtime-newbinaryexecuted.json": GUARDDUTY,
    "findings/object-s3-maliciousfile.json": GUARDDUTY,
    "findings/exfiltration-s3-anomalousbehavior.json": GUARDDUTY,
    "findings/impact-ec2-abusedomainrequest.json": GUARDDUTY,
    "findings/initialaccess-iamuser-anomalousbehavior.json": GUARDDUTY,
    "findings/pentest-ec2-kali-like.json": GUARDDUTY,
    "findings/persistence-iamuser-anomalousbehavior.json": GUARDDUTY,
    "findings/policy-s3-bucketblockpublicaccessdisabled.json": GUARDDUTY,
    "findings/privilegeescalation-iamuser-anomalousbehavior.json": GUARDDUTY,
    "findings/trojan-ec2-dnsdatapexfiltration.json": GUARDDUTY,
    # Malware Protection for S3 scan results that need someone (a threat, an unscanned object);
    # a clean scan is not routed. Runtime Monitoring coverage lost.
    "aws.guardduty/malware-s3-object-scan-access-denied.json": GUARDDUTY,
    "aws.guardduty/malware-s3-object-scan-unsupported.json": GUARDDUTY,
    "aws.guardduty/malware-s3-object-scan-failed.json": GUARDDUTY,
    "aws.guardduty/malware-s3-object-scan-no-threats-found.json": None,
    "aws.guardduty/malware-s3-object-scan-threats-found.json": GUARDDUTY,
    "aws.guardduty/runtime-protection-unhealthy-eks.json": GUARDDUTY,
    "aws.guardduty/malware-s3-post-scan-action-failed.json": GUARDDUTY,
    # Config item changes of trails, IAM users and security groups.
    "aws.config/ci-change-cloudtrail-trail-single-region.json": CONFIG,
    "aws.config/ci-change-iam-user-admin-policy-attached.json": CONFIG,
    "aws.config/ci-change-securitygroup-created.json": CONFIG,
    "aws.config/ci-change-securitygroup-ssh-open-world.json": CONFIG,
    # Config compliance changes: to NON_COMPLIANT, and NON_COMPLIANT back to COMPLIANT.
    "aws.config/compliance-cloudtrail-enabled-back-to-compliant.json": CONFIG,
    "aws.config/compliance-cloudtrail-enabled-noncompliant.json": CONFIG,
    "aws.config/compliance-guardduty-enabled-centralized-noncompliant.json": CONFIG,
    "aws.config/compliance-iam-user-unused-credentials-check-noncompliant.json": CONFIG,
    "aws.config/compliance-multi-region-cloudtrail-enabled-noncompliant.json": CONFIG,
    "aws.config/compliance-restricted-ssh-noncompliant.json": CONFIG,
    # Other services.
    "constructed/ec2-instance-state-change.json": None,
    # Volume signals: calls the volume rules count. The read-only ones reach no function unless
    # the stack is deployed with ReadOnlyEvents=on (READ_ONLY_VOLUME, tested below).
    "aws.volume/ct-ssm-send-command.json": CLOUDTRAIL,
    "aws.volume/ct-ssm-start-session.json": CLOUDTRAIL,
    "aws.volume/ct-send-ssh-public-key.json": CLOUDTRAIL,
    "aws.volume/ct-batch-get-secret-value.json": None,
    "aws.volume/ct-describe-instance-attribute-userdata.json": None,
    "aws.volume/ct-get-password-data.json": None,
    "aws.volume/ct-get-secret-value.json": None,
    "aws.volume/ct-ssm-get-parameter-decrypt.json": None,
    "aws.volume/ct-ssm-get-parameters-decrypt.json": None,
}
# The rule of read-only calls: the hub account's own only (NOT_FORWARDED).
VOLUME_RULES = {"ReadOnlyCallsRule"}
READ_ONLY_VOLUME = sorted(
    rel for rel, fn in EXPECTED.items() if rel.startswith("aws.volume/") and fn is None
)

# The names the fixtures give mamoru's own resources (the test deployment of
# tests/harness/render.rs, SELF_RESOURCES) -> the resource of the template each one stands for.
# Before an event is put on the bus its requestParameters are rewritten to the physical names of
# the stack under test (Bus.as_deployed): a name, or the name inside an ARN.
OWN_NAMES = {
    "mamoru-guardduty-findings": "GuardDutyFindingRule",
    "mamoru-cloudtrail-tampering": "CloudTrailTamperingRule",
    "mamoru-config-compliance": "ConfigComplianceChangeRule",
    "mamoru-guardduty": "GuardDutyFunction",
    "mamoru-cloudtrail": "CloudTrailFunction",
    "mamoru-config": "ConfigFunction",
    "mamoru-alerts": "AlertTopic",
    "mamoru-alarms": "AlarmTopic",
}
# The requestParameters that name the resource of a call (those the function reads for the
# `own_resource` signal).
RESOURCE_PARAMETERS = ("name", "rule", "functionName", "topicArn", "subscriptionArn", "resourceArn")


def fixture_files() -> list[str]:
    return sorted(str(p.relative_to(cfn.FIXTURES)) for p in cfn.FIXTURES.rglob("*.json"))


def load_fixture(rel: str) -> dict:
    return json.loads((cfn.FIXTURES / rel).read_text(encoding="utf-8"))


class Bus:
    """The template's rules on moto's default event bus, under their physical names, one SQS
    queue per function."""

    def __init__(self, aws, template: dict, params: dict[str, str]):
        self.params = params
        # The stack's physical names of the resources the fixtures name (OWN_NAMES).
        self.own_names = {}
        for fixture_name, logical_id in OWN_NAMES.items():
            res = template["Resources"][logical_id]
            if not cfn.active(template, params, res):
                continue
            name = cfn.physical_name(template, params, logical_id)
            self.own_names[fixture_name] = name
        self.events = aws("events")
        self.sqs = aws("sqs")
        self.queues: dict[str, str] = {}
        names = sorted(set(cfn.functions(template).values()))
        self.arns: dict[str, str] = {}
        for name in names:
            url = self.sqs.create_queue(QueueName=f"to-{name}")["QueueUrl"]
            self.queues[name] = url
            self.arns[name] = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        self.rules = cfn.rules(template, params)
        self.bus_arns: dict[str, str] = {}
        for bus in sorted({r["bus"] for r in self.rules.values() if r["bus"]}):
            self.bus_arns[bus] = self.events.create_event_bus(Name=bus)["EventBusArn"]
        for rule in self.rules.values():
            self.events.put_rule(
                Name=rule["name"], EventPattern=json.dumps(rule["pattern"]), State="ENABLED", **self._on(rule)
            )
            self.events.put_targets(Rule=rule["name"], Targets=self.targets(rule), **self._on(rule))

    @staticmethod
    def _on(rule: dict) -> dict:
        return {"EventBusName": rule["bus"]} if rule["bus"] else {}

    def targets(self, rule: dict) -> list[dict]:
        return [{"Id": f"t{i}", "Arn": self.arns[fn]} for i, fn in enumerate(rule["functions"])]

    def disable(self, rule_id: str) -> None:
        """Takes a rule out of delivery. moto 5.2.5 delivers through disabled rules (it ignores
        State), so a disabled rule is emulated by removing its targets, which is what
        RemoveTargets does to a rule in AWS."""
        rule = self.rules[rule_id]
        self.events.remove_targets(
            Rule=rule["name"], Ids=[t["Id"] for t in self.targets(rule)], **self._on(rule)
        )

    def enable(self, rule_id: str) -> None:
        rule = self.rules[rule_id]
        self.events.put_targets(Rule=rule["name"], Targets=self.targets(rule), **self._on(rule))

    def as_deployed(self, event: dict) -> dict:
        """The event with the fixtures' names of mamoru's resources (OWN_NAMES) replaced by this
        stack's physical names: a requestParameter equal to one, or an ARN with one between its
        colons (`...:function:mamoru-guardduty`, `...:mamoru-alerts:<subscription id>`)."""
        event = copy.deepcopy(event)
        # EventBridge matches a pattern member inside an array of objects when any element
        # matches; moto 5.2.5 does not descend into arrays of objects. A Findings Imported V2
        # event carries one finding: delivered here as that object, it matches exactly as the
        # array does on EventBridge.
        findings = (event.get("detail") or {}).get("findings")
        if event.get("detail-type") == "Findings Imported V2" and isinstance(findings, list) and len(findings) == 1:
            event["detail"]["findings"] = findings[0]
        params = (event.get("detail") or {}).get("requestParameters")
        if isinstance(params, dict):
            for key in RESOURCE_PARAMETERS:
                value = params.get(key)
                if isinstance(value, str):
                    params[key] = ":".join(self.own_names.get(p, p) for p in value.split(":"))
        return event

    @staticmethod
    def _entry(event: dict) -> dict:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event.get("resources", []),
        }
        if event.get("time"):
            entry["Time"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        return entry

    def _drain(self) -> dict[str, list[dict]]:
        received: dict[str, list[dict]] = {}
        for name, url in self.queues.items():
            bodies = []
            while True:
                msgs = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not msgs:
                    break
                for m in msgs:
                    bodies.append(json.loads(m["Body"]))
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            received[name] = bodies
        return received

    def put(self, event: dict, bus: str | None = None) -> dict[str, list[dict]]:
        """Puts one event, as deployed (as_deployed), on the default bus (or `bus`); returns the
        events each function's queue received."""
        entry = self._entry(self.as_deployed(event))
        if bus:
            entry["EventBusName"] = bus
        resp = self.events.put_events(Entries=[entry])
        assert resp["FailedEntryCount"] == 0, resp
        return self._drain()

    def put_many(self, events: list[dict]) -> list[list[str]]:
        """Puts events (as deployed) ten at a time; returns, for each, the functions it reached
        (as delivered_to). Each event must carry its own detail.eventID."""
        ids = [e["detail"]["eventID"] for e in events]
        assert len(set(ids)) == len(ids), "put_many needs a distinct detail.eventID per event"
        reached: dict[str, list[str]] = {i: [] for i in ids}
        for start in range(0, len(events), 10):
            batch = [self._entry(self.as_deployed(e)) for e in events[start : start + 10]]
            resp = self.events.put_events(Entries=batch)
            assert resp["FailedEntryCount"] == 0, resp
            for name, bodies in self._drain().items():
                for body in bodies:
                    reached[body["detail"]["eventID"]].append(name)
        return [sorted(reached[i]) for i in ids]


def delivered_to(received: dict[str, list[dict]]) -> list[str]:
    return sorted(name for name, bodies in received.items() for _ in bodies)


@pytest.fixture
def default_bus(aws, template):
    return Bus(aws, template, cfn.parameter_values(template))


# ------------------------------------------------------------------------------------------------


def test_every_fixture_has_an_expectation():
    files = set(fixture_files())
    missing = sorted(files - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - files)
    assert not missing, f"fixtures without an entry in EXPECTED (add one): {missing}"
    assert not stale, f"EXPECTED names fixtures that do not exist: {stale}"


def test_each_fixture_reaches_exactly_the_expected_function(default_bus):
    wrong = {}
    for rel in fixture_files():
        event = load_fixture(rel)
        received = default_bus.put(event)
        got = delivered_to(received)
        want = [EXPECTED[rel]] if EXPECTED.get(rel) else []
        if got != want:
            wrong[rel] = {"expected": want, "delivered": got}
            continue
        deployed = default_bus.as_deployed(event)
        for bodies in received.values():
            for body in bodies:
                # What the function receives is the event itself.
                assert body["detail-type"] == deployed["detail-type"]
                assert body["source"] == deployed["source"]
                assert body["detail"] == deployed["detail"]
    assert not wrong, json.dumps(wrong, indent=2)


def _variant(rel: str, **changes) -> dict:
    """A fixture with some detail fields replaced (dotted paths; None deletes the field)."""
    event = copy.deepcopy(load_fixture(rel))
    for path, value in changes.items():
        keys = path.split("__")
        node = event
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return event


# Events built from fixtures that exercise each pattern's filter: the ones that must not route.
NEGATIVE_VARIANTS = {
    "a Security Hub custom action other than this stack's": (
        "aws.securityhub/custom-action-ec2-13-ssh-world.json",
        {"resources": ["arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToChat"]},
    ),
    "a Security Hub finding of another product (Inspector)": (
        "aws.securityhub/imported-s3-8.json",
        {"resources": ["arn:aws:securityhub:us-east-1::product/aws/inspector/arn:aws:inspector2:us-east-1:111122223333:finding/0123456789abcdef"]},
    ),
    "compliance change to NOT_APPLICABLE": (
        "aws.config/compliance-cloudtrail-enabled-noncompliant.json",
        {"detail__newEvaluationResult__complianceType": "NOT_APPLICABLE"},
    ),
    "first evaluation COMPLIANT (not from NON_COMPLIANT)": (
        "aws.config/compliance-cloudtrail-enabled-back-to-compliant.json",
        {"detail__oldEvaluationResult__complianceType": "INSUFFICIENT_DATA"},
    ),
    "compliant with no previous result": (
        "aws.config/compliance-cloudtrail-enabled-back-to-compliant.json",
        {"detail__oldEvaluationResult": None},
    ),
    "item change of an unhandled resource type": (
        "aws.config/ci-change-securitygroup-created.json",
        {"detail__configurationItem__resourceType": "AWS::S3::Bucket"},
    ),
    "oversized item change (no configurationItem)": (
        "aws.config/ci-change-securitygroup-created.json",
        {
            "detail__messageType": "OversizedConfigurationItemChangeNotification",
            "detail__configurationItem": None,
        },
    ),
    "console sign-in by an IAM user": (
        "aws.signin/console-login-root.json",
        {"detail__userIdentity__type": "IAMUser"},
    ),
    "root sign-in event other than ConsoleLogin": (
        "aws.signin/console-login-root.json",
        {"detail__eventName": "CheckMfa"},
    ),
    "StopLogging under another event source": (
        "aws.cloudtrail/ct-stop-logging.json",
        {"source": "aws.config"},
    ),
    "GuardDuty finding with another detail-type": (
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        {"detail-type": "GuardDuty Runtime Protection Unhealthy"},
    ),
    # CloudTrail and its buckets.
    "CloudTrail call mamoru does not handle (CreateTrail)": (
        "aws.cloudtrail/ct-update-trail.json",
        {"detail__eventName": "CreateTrail"},
    ),
    "bucket lifecycle of a bucket that is not a trail bucket": (
        "tamper/s3-put-bucket-lifecycle-trail-bucket.json",
        {"detail__requestParameters__bucketName": "website-assets-123456789012"},
    ),
    "federation token of a session key (ASIA): no long-term key": (
        "aws.sts/ct-get-federation-token.json",
        {"detail__userIdentity__accessKeyId": "ASIAIOSFODNN7EXAMPLE"},
    ),
    "Macie filter that does not archive": (
        "aws.macie2/ct-create-findings-filter-archive.json",
        {"detail__requestParameters__action": "NOOP"},
    ),
    "trail bucket call no rule answers (PutBucketCors)": (
        "tamper/s3-put-bucket-policy-trail-bucket.json",
        {"detail__eventName": "PutBucketCors"},
    ),
    "trail bucket lifecycle call without bucketName": (
        "tamper/s3-put-bucket-lifecycle-trail-bucket.json",
        {"detail__requestParameters__bucketName": None},
    ),
    # GuardDuty.
    "CreateIPSet that does not activate the list": (
        "tamper/guardduty-create-ip-set.json",
        {"detail__requestParameters__activate": False},
    ),
    "UpdateIPSet that only renames the list (no activate, no location)": (
        "tamper/guardduty-update-ip-set-activate.json",
        {"detail__requestParameters__activate": None},
    ),
    "UpdateThreatIntelSet that activates the list where it is": (
        "tamper/guardduty-update-threat-intel-set-deactivate.json",
        {"detail__requestParameters__activate": True},
    ),
    "UpdateThreatIntelSet that only renames the list": (
        "tamper/guardduty-update-threat-intel-set-location.json",
        {"detail__requestParameters__location": None, "detail__requestParameters__activate": None},
    ),
    "CreateFilter with action NOOP": (
        "tamper/guardduty-create-filter-archive.json",
        {"detail__requestParameters__action": "NOOP"},
    ),
    "CreateThreatIntelSet (a list GuardDuty alerts on)": (
        "tamper/guardduty-create-ip-set.json",
        {"detail__eventName": "CreateThreatIntelSet"},
    ),
    "CreateFilter without action (GuardDuty's default is NOOP)": (
        "tamper/guardduty-create-filter-archive.json",
        {"detail__requestParameters__action": None},
    ),
    "GuardDuty call mamoru does not handle (CreateMembers)": (
        "tamper/guardduty-delete-members.json",
        {"detail__eventName": "CreateMembers"},
    ),
    "DeleteTrail under guardduty's event source but aws.cloudtrail's source": (
        "aws.guardduty/ct-delete-detector.json",
        {"source": "aws.cloudtrail", "detail__eventName": "DeleteTrail"},
    ),
    # IAM.
    "IAM call mamoru does not handle (AttachUserPolicy: Config sees it)": (
        "tamper/iam-put-user-policy-allow-all.json",
        {"detail__eventName": "AttachUserPolicy"},
    ),
    "IAM call under another source": (
        "tamper/iam-add-user-to-group.json",
        {"source": "aws.sts"},
    ),
    # Config, flow logs, Organizations, Security Hub.
    "Config call mamoru does not handle (PutDeliveryChannel)": (
        "tamper/config-put-recorder-narrowed.json",
        {"detail__eventName": "PutDeliveryChannel"},
    ),
    "EC2 call mamoru does not handle (CreateFlowLogs)": (
        "tamper/ec2-delete-flow-logs.json",
        {"detail__eventName": "CreateFlowLogs"},
    ),
    "Organizations call mamoru does not handle (DescribeOrganization)": (
        "tamper/organizations-leave-organization-denied.json",
        {"detail__eventName": "DescribeOrganization"},
    ),
    "Security Hub call mamoru does not handle (EnableSecurityHub)": (
        "tamper/securityhub-disable.json",
        {"detail__eventName": "EnableSecurityHub"},
    ),
    "BatchUpdateFindings to NOTIFIED": (
        "tamper/securityhub-batch-update-findings-suppressed.json",
        {"detail__requestParameters__Workflow__Status": "NOTIFIED"},
    ),
    "BatchUpdateFindings without a workflow status (a note only)": (
        "tamper/securityhub-batch-update-findings-suppressed.json",
        {"detail__requestParameters__Workflow": None},
    ),
    # mamoru itself.
    "DisableRule of a rule that is not mamoru's": (
        "tamper/events-disable-rule-mamoru.json",
        {"detail__requestParameters__name": "nightly-report-schedule"},
    ),
    "DeleteRule of a rule that is not mamoru's": (
        "tamper/events-delete-rule-mamoru.json",
        {"detail__requestParameters__name": "nightly-report-schedule"},
    ),
    "RemoveTargets of a rule that is not mamoru's": (
        "tamper/events-remove-targets-mamoru.json",
        {"detail__requestParameters__rule": "nightly-report-schedule"},
    ),
    "EventBridge call on a mamoru rule the playbook does not watch (EnableRule)": (
        "tamper/events-disable-rule-mamoru.json",
        {"detail__eventName": "EnableRule"},
    ),
    "UpdateFunctionCode of a function that is not mamoru's": (
        "tamper/lambda-update-function-code-mamoru.json",
        {"detail__requestParameters__functionName": "orders-api"},
    ),
    "Lambda call on a mamoru function the playbook does not watch (GetFunction)": (
        "tamper/lambda-update-function-code-mamoru.json",
        {"detail__eventName": "GetFunction20150331v2"},
    ),
    "Lambda eventName that only contains a watched name (not a prefix)": (
        "tamper/lambda-update-function-code-mamoru.json",
        {"detail__eventName": "XUpdateFunctionCode20150331v2"},
    ),
    "DeleteTopic of a topic that is not mamoru's": (
        "tamper/sns-delete-topic-mamoru.json",
        {"detail__requestParameters__topicArn": "arn:aws:sns:us-east-1:123456789012:orders"},
    ),
    "Unsubscribe from a topic that is not mamoru's": (
        "tamper/sns-unsubscribe-mamoru.json",
        {
            "detail__requestParameters__subscriptionArn": (
                "arn:aws:sns:us-east-1:123456789012:orders:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
            )
        },
    ),
    "SNS call on a mamoru topic the playbook does not watch (ConfirmSubscription)": (
        "tamper/sns-delete-topic-mamoru.json",
        {"detail__eventName": "ConfirmSubscription"},
    ),
    # Exact names: another stack's resources, or names that only start like ours.
    "DeleteRule of another stack's rule": (
        "tamper/events-delete-rule-mamoru.json",
        {"detail__requestParameters__name": "mamoru-eu-west-1-findings"},
    ),
    "PutTargets naming the rule as name (EventBridge records it as rule)": (
        "tamper/events-put-targets-mamoru.json",
        {"detail__requestParameters__rule": None, "detail__requestParameters__name": "mamoru-guardduty-findings"},
    ),
    "DisableRule naming the rule as rule (EventBridge records it as name)": (
        "tamper/events-disable-rule-mamoru.json",
        {"detail__requestParameters__name": None, "detail__requestParameters__rule": "mamoru-cloudtrail-tampering"},
    ),
    "UpdateFunctionCode of another stack's function": (
        "tamper/lambda-update-function-code-mamoru.json",
        {"detail__requestParameters__functionName": "mamoru-prod-guardduty"},
    ),
    "UpdateFunctionCode of a function whose name only starts like ours": (
        "tamper/lambda-update-function-code-mamoru.json",
        {"detail__requestParameters__functionName": "mamoru-mamoru-guardduty-old"},
    ),
    "UpdateFunctionCode by the ARN of a function whose name only starts like ours": (
        "tamper/lambda-update-function-code-mamoru.json",
        {
            "detail__requestParameters__functionName": (
                "arn:aws:lambda:us-east-1:123456789012:function:mamoru-mamoru-guardduty2"
            )
        },
    ),
    "Subscribe to a topic whose name only starts like ours": (
        "tamper/sns-subscribe-mamoru.json",
        {"detail__requestParameters__topicArn": "arn:aws:sns:us-east-1:123456789012:mamoru-mamoru-alerts-2"},
    ),
    "DeleteTopic of a topic of our name in another account": (
        "tamper/sns-delete-topic-mamoru.json",
        {"detail__requestParameters__topicArn": "arn:aws:sns:us-east-1:999999999999:mamoru-mamoru-alerts"},
    ),
    "Unsubscribe from a topic whose name only starts like ours": (
        "tamper/sns-unsubscribe-mamoru.json",
        {
            "detail__requestParameters__subscriptionArn": (
                "arn:aws:sns:us-east-1:123456789012:mamoru-mamoru-alerts-2:2bcfbf39"
            )
        },
    ),
    "PutDataProtectionPolicy on another topic": (
        "tamper/sns-put-data-protection-policy-mamoru.json",
        {"detail__requestParameters__resourceArn": "arn:aws:sns:us-east-1:123456789012:orders"},
    ),
}

# Events built from fixtures that take the branches no fixture takes: each must reach the
# function named.
POSITIVE_VARIANTS = {
    "DeleteBucketPolicy on a trail bucket": (
        "tamper/s3-put-bucket-policy-trail-bucket.json",
        {"detail__eventName": "DeleteBucketPolicy"},
        CLOUDTRAIL,
    ),
    "DeleteBucketLifecycle on a trail bucket": (
        "tamper/s3-put-bucket-lifecycle-trail-bucket.json",
        {"detail__eventName": "DeleteBucketLifecycle"},
        CLOUDTRAIL,
    ),
    "DisassociateMembers": (
        "tamper/guardduty-delete-members.json",
        {"detail__eventName": "DisassociateMembers"},
        CLOUDTRAIL,
    ),
    "UpdateFilter with action ARCHIVE": (
        "tamper/guardduty-create-filter-archive.json",
        {"detail__eventName": "UpdateFilter"},
        CLOUDTRAIL,
    ),
    "UpdateDetector without enable (routed whatever it sets)": (
        "aws.guardduty/ct-update-detector-disable.json",
        {"detail__requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}},
        CLOUDTRAIL,
    ),
    "UpdateIPSet that deactivates the list and moves it": (
        "tamper/guardduty-update-ip-set-location.json",
        {"detail__requestParameters__activate": False},
        CLOUDTRAIL,
    ),
    "DeleteTrail that was denied": (
        "aws.cloudtrail/ct-delete-trail.json",
        {"detail__errorCode": "AccessDenied", "detail__errorMessage": "not authorized"},
        CLOUDTRAIL,
    ),
    "PutGroupPolicy that allows little (the function decides)": (
        "tamper/iam-put-group-policy-allow-all.json",
        {"detail__requestParameters__policyName": "read-only"},
        CLOUDTRAIL,
    ),
    "BatchUpdateFindings to RESOLVED": (
        "tamper/securityhub-batch-update-findings-suppressed.json",
        {"detail__requestParameters__Workflow__Status": "RESOLVED"},
        CLOUDTRAIL,
    ),
    "BatchUpdateFindings with lower-case workflow.status": (
        "tamper/securityhub-batch-update-findings-suppressed.json",
        {
            "detail__requestParameters__Workflow": None,
            "detail__requestParameters__workflow": {"status": "SUPPRESSED"},
        },
        CLOUDTRAIL,
    ),
    "LeaveOrganization that succeeded": (
        "tamper/organizations-leave-organization-denied.json",
        {"detail__errorCode": None, "detail__errorMessage": None},
        CLOUDTRAIL,
    ),
    "DeleteRule of the watcher rule": (
        "tamper/events-delete-rule-mamoru.json",
        {"detail__requestParameters__name": "mamoru-mamoru-self-rules-watch"},
        CLOUDTRAIL,
    ),
    "PutRule of a rule of a stack whose name starts like ours (the function decides)": (
        "tamper/events-put-rule-mamoru.json",
        {"detail__requestParameters__name": "mamoru-mamoru-eu-findings"},
        CLOUDTRAIL,
    ),
    "UpdateFunctionUrlConfig of a mamoru function": (
        "tamper/lambda-create-function-url-mamoru.json",
        {"detail__eventName": "UpdateFunctionUrlConfig20211031"},
        CLOUDTRAIL,
    ),
    "UpdateFunctionCode of a mamoru function by ARN": (
        "tamper/lambda-update-function-code-mamoru.json",
        {
            "detail__requestParameters__functionName": (
                "arn:aws:lambda:us-east-1:123456789012:function:mamoru-guardduty"
            )
        },
        CLOUDTRAIL,
    ),
    "AddPermission on an alias of a mamoru function (NAME:alias)": (
        "tamper/lambda-add-permission-mamoru.json",
        {"detail__requestParameters__functionName": "mamoru-config:live"},
        CLOUDTRAIL,
    ),
    "AddPermission on a mamoru function by partial ARN": (
        "tamper/lambda-add-permission-mamoru.json",
        {"detail__requestParameters__functionName": "123456789012:function:mamoru-config"},
        CLOUDTRAIL,
    ),
    "DeleteFunction of a version of a mamoru function by ARN": (
        "tamper/lambda-delete-function-mamoru.json",
        {
            "detail__requestParameters__functionName": (
                "arn:aws:lambda:us-east-1:123456789012:function:mamoru-guardduty:3"
            )
        },
        CLOUDTRAIL,
    ),
    "DeleteFunctionConcurrency of a mamoru function (DeleteFunction*)": (
        "tamper/lambda-put-concurrency-zero-mamoru.json",
        {"detail__eventName": "DeleteFunctionConcurrency20171031"},
        CLOUDTRAIL,
    ),
    "Unsubscribe from the alarm topic": (
        "tamper/sns-unsubscribe-mamoru.json",
        {
            "detail__requestParameters__subscriptionArn": (
                "arn:aws:sns:us-east-1:123456789012:mamoru-alarms:2bcfbf39"
            )
        },
        CLOUDTRAIL,
    ),
    "Subscribe to the alarm topic": (
        "tamper/sns-subscribe-mamoru.json",
        {"detail__requestParameters__topicArn": "arn:aws:sns:us-east-1:123456789012:mamoru-alarms"},
        CLOUDTRAIL,
    ),
}


@pytest.mark.parametrize("name", sorted(NEGATIVE_VARIANTS))
def test_variants_outside_the_patterns_reach_no_function(default_bus, name):
    rel, changes = NEGATIVE_VARIANTS[name]
    # The unmodified fixture does route: the variant isolates one field of the pattern.
    assert delivered_to(default_bus.put(load_fixture(rel))), f"{rel} should route"
    assert delivered_to(default_bus.put(_variant(rel, **changes))) == []


@pytest.mark.parametrize("name", sorted(POSITIVE_VARIANTS))
def test_variants_on_the_other_branches_reach_their_function(default_bus, name):
    rel, changes, function = POSITIVE_VARIANTS[name]
    assert delivered_to(default_bus.put(_variant(rel, **changes))) == [function]


@pytest.mark.parametrize("floor", ["4", "7", "9"])
def test_guardduty_severity_floor_parameter(aws, template, floor):
    """GIVEN GuardDutyMinSeverity=floor, THEN only findings at or above it reach the function;
    every other event routes as by default."""
    bus = Bus(aws, template, cfn.parameter_values(template, {"GuardDutyMinSeverity": floor}))
    wrong = {}
    for rel in fixture_files():
        event = load_fixture(rel)
        want = [EXPECTED[rel]] if EXPECTED[rel] else []
        finding = event["detail-type"] == "GuardDuty Finding"
        if EXPECTED[rel] == GUARDDUTY and finding and event["detail"]["severity"] < float(floor):
            want = []
        got = delivered_to(bus.put(event))
        if got != want:
            wrong[rel] = {"expected": want, "delivered": got}
    # At the boundary: just below the floor is dropped, the floor itself routes.
    finding = "constructed/finding-iamuser-key-malicious-ip-high.json"
    for severity, want in [(float(floor) - 0.1, []), (float(floor), [GUARDDUTY])]:
        got = delivered_to(bus.put(_variant(finding, detail__severity=severity)))
        if got != want:
            wrong[f"severity {severity}"] = {"expected": want, "delivered": got}
    assert not wrong, json.dumps(wrong, indent=2)


def test_default_guardduty_rule_has_no_severity_filter(template):
    rule = cfn.rules(template, cfn.parameter_values(template))["GuardDutyFindingRule"]
    assert rule["pattern"] == {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}


# --- mamoru's own rules: disabling one is seen through another ------------------------------------

# Each rule that only watches other rules of this template by exact name, and the rule it watches.
WATCHERS = {"SelfRulesWatchRule": "SelfRulesTamperingRule"}


def _rule_call(event_name: str, rule_name: str) -> dict:
    """A CloudTrail call of EventBridge on one rule, from the DisableRule fixture."""
    event = copy.deepcopy(load_fixture("tamper/events-disable-rule-mamoru.json"))
    event["detail"]["eventName"] = event_name
    key = "rule" if event_name in ("PutTargets", "RemoveTargets") else "name"
    event["detail"]["requestParameters"] = {key: rule_name}
    return event


@pytest.mark.parametrize(
    "stack_name,org", [("mamoru", ""), ("prod-eu", ""), ("prod-eu", "o-a1b2c3d4e5")],
    ids=["mamoru", "prod-eu", "prod-eu-organization"],
)
@pytest.mark.parametrize("event_name", ["DisableRule", "RemoveTargets", "DeleteRule", "PutRule", "PutTargets"])
def test_a_call_on_any_one_rule_is_seen_while_that_rule_is_out(aws, template, stack_name, org, event_name):
    """GIVEN the stack deployed as `stack_name` (for an organization: with the central bus's
    rules) and one of its rules disabled (or stripped of its targets, deleted, or rewritten by
    PutRule or PutTargets), WHEN the CloudTrail event of that call arrives (on the hub's default
    bus: the rules are the hub's), THEN another rule still delivers it to the cloudtrail function,
    exactly once: no rule is the only one watching itself."""
    params = cfn.parameter_values(template, {"AWS::StackName": stack_name, "OrganizationId": org})
    bus = Bus(aws, template, params)
    wrong = {}
    for rule_id, rule in bus.rules.items():
        assert "mamoru" in rule["name"], rule["name"]
        bus.disable(rule_id)
        got = delivered_to(bus.put(_rule_call(event_name, rule["name"])))
        bus.enable(rule_id)
        if got != [CLOUDTRAIL]:
            wrong[f"{rule_id} ({rule['name']})"] = got
    assert not wrong, json.dumps(wrong, indent=2)


def _own_rules_condition(rules: dict) -> dict:
    """The condition by which SelfRulesTamperingRule names the stack's rules: the prefix
    `mamoru-<stack>-` they all share (their sixteen exact names, needed twice, would make the
    pattern too long for EventBridge; the function knows the exact names)."""
    prefix = os.path.commonprefix([r["name"] for r in rules.values()])
    assert prefix.endswith("-") and prefix.count("-") >= 2, prefix
    return {"prefix": prefix}


def test_watchers_watch_exactly_the_rule_they_name(template):
    """A watcher's pattern is the watched rule's pattern with each condition naming the stack's
    rules replaced by the watched rule's physical name (a subset of what the watched rule
    routes)."""
    for stack in ["mamoru", "prod-eu"]:
        rules = cfn.rules(template, cfn.parameter_values(template, {"AWS::StackName": stack}))
        own = _own_rules_condition(rules)
        assert own == {"prefix": f"mamoru-{stack}-"}
        for watcher_id, watched_id in WATCHERS.items():
            watched = rules[watched_id]
            name = watched["name"]
            text = json.dumps(watched["pattern"])
            assert json.dumps(own) in text
            assert name.startswith(own["prefix"])
            expected = json.loads(text.replace(json.dumps(own), json.dumps(name)))
            assert rules[watcher_id]["pattern"] == expected, watcher_id
            assert rules[watcher_id]["functions"] == watched["functions"]


# --- mamoru's own resources: the patterns against the function's `own_resource` ---------------

EXISTING_TOPIC = "arn:aws:sns:us-east-1:123456789012:security-alerts"
# A base event of each service whose calls the self-protection rules watch.
_OWN_CALL_BASE = {
    "events.amazonaws.com": "tamper/events-disable-rule-mamoru.json",
    "lambda.amazonaws.com": "tamper/lambda-update-function-code-mamoru.json",
    "sns.amazonaws.com": "tamper/sns-set-topic-attributes-mamoru.json",
}


def _own_call_values(own: dict, stack: str, parameter: str, existing_topic: bool) -> list[tuple[str, str]]:
    """(value, kind) for one requestParameter: "own" names one of the stack's resources (the
    pattern delivers it and the function recognises it), "foreign" does not (neither), "wider"
    is delivered by the pattern for the function to decide (another stack's rule under the shared
    prefix; the Lambda forms NAME:qualifier and ACCOUNT:function:NAME, which Lambda accepts)."""
    lam = "arn:aws:lambda:us-east-1:123456789012:function:"
    sns = "arn:aws:sns:us-east-1:123456789012:"
    if parameter in ("name", "rule"):
        return [(r, "own") for r in own["rules"]] + [
            (f"mamoru-{stack}-eu-findings", "wider"),
            (f"mamoru-{stack}2-findings", "foreign"),
            ("attacker-mamoru-noise", "foreign"),
            ("nightly-report-schedule", "foreign"),
        ]
    if parameter == "functionName":
        out = []
        for f in own["functions"]:
            out += [(f, "own"), (lam + f, "own"), (lam + f + ":3", "own")]
            out += [(f + ":live", "wider"), (f"123456789012:function:{f}", "wider")]
            out += [(f"123456789012:function:{f}:live", "wider")]
            out += [(f + "-old", "foreign"), (lam + f + "2", "foreign")]
        return out + [("attacker-mamoru-noise", "foreign"), (lam + "mamoru-other-guardduty", "foreign")]
    foreign_topics = [
        sns + "attacker-mamoru-noise",
        sns + f"mamoru-{stack}-alerts-2",
        own["topics"][0].replace(":123456789012:", ":999999999999:"),
    ]
    if existing_topic:
        foreign_topics.append(sns + f"mamoru-{stack}-alerts")  # not created: the existing one is
    if parameter in ("topicArn", "resourceArn"):
        return [(t, "own") for t in own["topics"]] + [(t, "foreign") for t in foreign_topics]
    if parameter == "subscriptionArn":
        sub = ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
        return [(t + sub, "own") for t in own["topics"]] + [(t + sub, "foreign") for t in foreign_topics]
    raise AssertionError(parameter)


@pytest.mark.parametrize("existing_topic", [False, True], ids=["own-topic", "existing-topic"])
def test_calls_on_own_resources_route_as_the_function_recognises_them(aws, template, tmp_path, existing_topic):
    """GIVEN the stack deployed as `prod` (its rules on moto; the cloudtrail function's settings as
    the stack sets them), WHEN each call a self-protection rule of the playbook watches names, in
    the parameter its API uses, one of the stack's rules, functions or topics, THEN the patterns
    deliver it and the rule reacts (`mamoru replay`); naming another resource, THEN neither, but
    for what the patterns deliberately leave to the function ("wider"), which they deliver."""
    overrides = {"AWS::StackName": "prod"}
    if existing_topic:
        overrides["ExistingTopicArn"] = EXISTING_TOPIC
    params = cfn.parameter_values(template, overrides)
    bus = Bus(aws, template, params)
    env = cfn.environment(template, params, "CloudTrailFunction")
    own = cfn.own_resources(template, params)
    cases = []
    for rule in playbook_rules():
        m = rule.get("match", {})
        if "own_resource" not in m.get("signal", []):
            continue
        for source, name in product(m["event_source"], m["event_name"]):
            by_name = OWN_RESOURCE_PARAMETER[source]
            parameter = by_name.get(name, by_name[None])
            event = load_fixture(_OWN_CALL_BASE[source])
            event["detail"]["eventName"] = name.replace("*", "20150331")
            event["detail"].pop("errorCode", None)
            event["detail"].pop("errorMessage", None)
            if m.get("call") == "failed":
                event["detail"]["errorCode"] = "AccessDenied"
                event["detail"]["errorMessage"] = "not authorized"
            for value, kind in _own_call_values(own, "prod", parameter, existing_topic):
                e = copy.deepcopy(event)
                e["detail"]["requestParameters"] = {parameter: value}
                cases.append((rule["id"], source, e, value, kind))
    assert {c[1] for c in cases} == set(_OWN_CALL_BASE)
    for i, case in enumerate(cases):
        case[2]["detail"]["eventID"] = f"00000000-0000-4000-8000-{i:012d}"
    decisions = cfn.mamoru_decisions([c[2] for c in cases], tmp_path, env)
    reached = bus.put_many([c[2] for c in cases])
    wrong = []
    for (rule_id, _, event, value, kind), decision, functions in zip(cases, decisions, reached, strict=True):
        # A call on SelfRulesTamperingRule reaches the function twice: through that rule and
        # through its watcher.
        delivered = bool(functions) and set(functions) == {CLOUDTRAIL}
        if functions and not delivered:
            wrong.append(f"{value}: reached {functions}")
        recognised = rule_id in decision["rule_ids"]
        ok = {
            "own": delivered and recognised,
            "foreign": not delivered and not recognised,
            "wider": delivered,
        }[kind]
        if not ok:
            what = f"{rule_id} {event['detail']['eventName']} {value}"
            wrong.append(f"{what}: {kind}, delivered={delivered}, recognised={recognised}")
    assert not wrong, "\n".join(wrong)


def test_every_pattern_fits_eventbridge_limit(template):
    """EventBridge takes event patterns of at most 2048 characters (the default quota): every
    rule's pattern fits with the longest stack name and an existing topic of the longest name."""
    from test_structure import MAX_STACK_NAME

    for overrides in [
        {"AWS::StackName": "s" * MAX_STACK_NAME},
        {
            "AWS::StackName": "s" * MAX_STACK_NAME,
            "ExistingTopicArn": "arn:aws:sns:us-east-1:123456789012:" + "t" * 256,
            "OrganizationId": "o-a1b2c3d4e5",
        },
    ]:
        params = cfn.parameter_values(template, overrides)
        for rule_id, rule in cfn.rules(template, params).items():
            size = len(json.dumps(rule["pattern"], separators=(",", ":")))
            assert size <= 2048, (rule_id, size)


# --- the organization: the central bus, and a member account's events -----------------------------

ORGANIZATION = "o-a1b2c3d4e5"

# The default-bus rules that have no twin on the central bus, and why.
_HUB_ONLY = "mamoru's own rules, functions and topics are in the hub's account: their calls arrive on its default bus"
NOT_FORWARDED = {
    "GuardDutyFindingRule": "member accounts' findings reach the hub's default bus through GuardDuty's delegated administration",
    "GuardDutyMalwareScanRule": "not forwarded yet: scan results reach the default bus of the bucket's own account",
    "GuardDutyRuntimeHealthRule": "not forwarded yet: coverage events reach the default bus of the resource's own account",
    "GuardDutyMalwarePostScanRule": "not forwarded yet: post-scan failures reach the default bus of the bucket's own account",
    "SelfRulesTamperingRule": _HUB_ONLY,
    "SelfRulesWatchRule": _HUB_ONLY,
    "SelfFunctionsTamperingRule": _HUB_ONLY,
    "SelfTopicTamperingRule": _HUB_ONLY,
    "SecurityHubFindingsRule": "member accounts' findings reach the hub's default bus through Security Hub's administrator account (and cross-Region aggregation)",
    "SecurityHubFindingsV2Rule": "member accounts' findings reach the hub's default bus through Security Hub's delegated administrator (and the aggregation Region)",
    "SecurityHubActionRule": "the custom action is chosen in the hub's own Security Hub console",
    "ReadOnlyCallsRule": "not forwarded yet: each member's forwarding rule would need the ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS state",
}


def twin_problems(template: dict, params: dict[str, str]) -> list[str]:
    """Differences between the central bus's rules and their default-bus twins (Central<Rule> and
    <Rule>): pattern, functions, targets as written, name; and default-bus rules neither twinned
    nor in NOT_FORWARDED."""
    rules = cfn.rules(template, params)
    default = {lid: r for lid, r in rules.items() if r["bus"] is None}
    central = {lid: r for lid, r in rules.items() if r["bus"]}
    problems = []
    twinned = set()
    for lid, rule in sorted(central.items()):
        twin = lid[len(cfn.CENTRAL_PREFIX):]
        if not lid.startswith(cfn.CENTRAL_PREFIX) or twin not in default:
            problems.append(f"{lid}: on the central bus without a default-bus twin")
            continue
        twinned.add(twin)
        for key in ["pattern", "functions"]:
            if rule[key] != default[twin][key]:
                problems.append(f"{lid}: {key} differs from {twin}'s")
        if template["Resources"][lid]["Properties"]["Targets"] != template["Resources"][twin]["Properties"]["Targets"]:
            problems.append(f"{lid}: targets differ from {twin}'s")
        prefix = f"mamoru-{params['AWS::StackName'] if 'AWS::StackName' in params else cfn.PSEUDO_PARAMETERS['AWS::StackName']}-"
        if not rule["name"].startswith(prefix + "org-"):
            problems.append(f"{lid}: named {rule['name']}, not {prefix}org-...")
    for lid in sorted(set(default) - twinned - set(NOT_FORWARDED)):
        problems.append(f"{lid}: a default-bus rule with no twin on the central bus (or say why in NOT_FORWARDED)")
    for lid in sorted(twinned & set(NOT_FORWARDED)):
        problems.append(f"{lid}: twinned, yet listed in NOT_FORWARDED")
    return problems


@pytest.mark.parametrize("stack", ["mamoru", "prod-eu"])
def test_central_bus_rules_are_twins_of_the_default_bus_rules(template, stack):
    params = cfn.parameter_values(template, {"AWS::StackName": stack, "OrganizationId": ORGANIZATION})
    assert twin_problems(template, params) == []
    buses = {r["bus"] for r in cfn.rules(template, params).values()}
    assert buses == {None, f"mamoru-{stack}-central"}
    # Without an organization, no central bus and none of its rules.
    alone = cfn.rules(template, cfn.parameter_values(template, {"AWS::StackName": stack}))
    assert {r["bus"] for r in alone.values()} == {None}


def test_the_twin_comparison_sees_a_drifted_twin(template):
    """The test of the test: the central trail-bucket rule without its bucketName filter, and the
    central IAM rule gone, are both reported."""
    t = copy.deepcopy(template)
    del t["Resources"]["CentralTrailBucketTamperingRule"]["Properties"]["EventPattern"]["detail"]["requestParameters"]
    del t["Resources"]["CentralIamTamperingRule"]
    params = cfn.parameter_values(t, {"OrganizationId": ORGANIZATION})
    assert twin_problems(t, params) == [
        "CentralTrailBucketTamperingRule: pattern differs from TrailBucketTamperingRule's",
        "IamTamperingRule: a default-bus rule with no twin on the central bus (or say why in NOT_FORWARDED)",
    ]


def central_expectation(rel: str) -> str | None:
    """The function a fixture reaches when a member account forwards it: the one it reaches on the
    hub's default bus, but for what has no twin on the central bus (NOT_FORWARDED): GuardDuty
    and Security Hub findings, and calls on mamoru's own resources (the sources of the
    self-protection rules)."""
    want = EXPECTED[rel]
    if want in (GUARDDUTY, SECURITYHUB):
        return None
    if rel.startswith("aws.volume/") and want is None:
        # Read-only calls: not forwarded yet (ReadOnlyCallsRule in NOT_FORWARDED).
        return None
    if (load_fixture(rel).get("detail") or {}).get("eventSource") in OWN_RESOURCE_PARAMETER:
        return None
    return want


def test_what_is_not_forwarded_is_what_the_self_rules_and_findings_route(template):
    """central_expectation leaves out the event sources of the self-protection rules: exactly the
    sources of the CloudTrail rules in NOT_FORWARDED, and no twinned rule's."""
    rules = cfn.rules(template, cfn.parameter_values(template, {"OrganizationId": ORGANIZATION}))
    sources = lambda ids: {
        s
        for lid in ids
        if lid in rules and CT_CALL in rules[lid]["pattern"]["detail-type"]
        for alt in cfn.pattern_alternatives(rules[lid]["pattern"])
        for s in alt["detail"]["eventSource"]
    }
    assert sources(set(NOT_FORWARDED) - VOLUME_RULES) == set(OWN_RESOURCE_PARAMETER)
    assert VOLUME_RULES <= set(NOT_FORWARDED)
    assert not sources([lid for lid, r in rules.items() if r["bus"]]) & set(OWN_RESOURCE_PARAMETER)
    assert rules["GuardDutyFindingRule"]["functions"] == [GUARDDUTY]
    assert not any(GUARDDUTY in r["functions"] for r in rules.values() if r["bus"])
    assert not any(SECURITYHUB in r["functions"] for r in rules.values() if r["bus"])


class MemberAccount:
    """A member account of the organization on the same moto server (credentials of a role
    there, from sts:AssumeRole): infra/member.yaml's forwarding rules on its default bus, each
    targeting the hub's central bus, as its StackSet instance creates them."""

    def __init__(self, endpoint: str, central_bus_arn: str):
        from deploy import MEMBER_ACCOUNT, account_clients

        self.account = MEMBER_ACCOUNT
        self.events = account_clients(endpoint, MEMBER_ACCOUNT)("events")
        member = cfn.load_member_template()
        params = cfn.parameter_values(
            member,
            {**cfn.MEMBER_PARAMETERS, "CentralEventBusArn": central_bus_arn, "AWS::AccountId": MEMBER_ACCOUNT},
        )
        self.rules = cfn.forwarding_rules(member, params)
        role = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/mamoru/StackSet-mamoru-member-ForwardingRole-0EXAMPLE"
        for rule in self.rules.values():
            (target,) = rule["targets"]
            assert target["Arn"] == {"Ref": "CentralEventBusArn"}
            self.events.put_rule(Name=rule["name"], EventPattern=json.dumps(rule["pattern"]), State="ENABLED")
            self.events.put_targets(
                Rule=rule["name"], Targets=[{"Id": target["Id"], "Arn": central_bus_arn, "RoleArn": role}]
            )
        assert sorted(r["Name"] for r in self.events.list_rules()["Rules"]) == sorted(r["name"] for r in self.rules.values())

    def put(self, event: dict) -> None:
        resp = self.events.put_events(Entries=[Bus._entry(event)])
        assert resp["FailedEntryCount"] == 0, resp


@pytest.fixture
def organization(aws, moto_endpoint, template):
    """The hub deployed as `prod` for an organization (its rules on its default and central
    buses) and a member account forwarding to its central bus."""
    hub = Bus(aws, template, cfn.parameter_values(template, {"AWS::StackName": "prod", "OrganizationId": ORGANIZATION}))
    member = MemberAccount(moto_endpoint, hub.bus_arns["mamoru-prod-central"])
    return hub, member


def test_a_members_stop_logging_reaches_the_cloudtrail_function(organization):
    """GIVEN a hub serving the organization and a member account running infra/member.yaml,
    WHEN the member's CloudTrail records StopLogging on its default bus, THEN the event reaches
    the hub's cloudtrail function once, through the central bus, unchanged; the hub's own default
    bus sees nothing of it."""
    hub, member = organization
    event = load_fixture("aws.cloudtrail/ct-stop-logging.json")
    member.put(event)
    received = hub._drain()
    assert delivered_to(received) == [CLOUDTRAIL]
    (body,) = received[CLOUDTRAIL]
    assert body["source"] == event["source"] and body["detail-type"] == event["detail-type"]
    assert body["detail"] == event["detail"]
    # Sanity: the route is the member's rule and the central bus's, not the hub's default bus.
    assert "mamoru-forward-trail-tamper" in {r["name"] for r in member.rules.values()}


def test_every_fixture_from_a_member_reaches_what_the_central_bus_routes(organization):
    """Each fixture put on a member's default bus reaches the function it reaches on the hub's
    default bus (EXPECTED), but for what is not forwarded (central_expectation); the hub's
    default bus keeps routing every fixture as before."""
    hub, member = organization
    wrong = {}
    for rel in fixture_files():
        event = load_fixture(rel)
        member.put(event)
        got = delivered_to(hub._drain())
        want = [central_expectation(rel)] if central_expectation(rel) else []
        if got != want:
            wrong[f"member: {rel}"] = {"expected": want, "delivered": got}
        got = delivered_to(hub.put(event))
        want = [EXPECTED[rel]] if EXPECTED[rel] else []
        if got != want:
            wrong[f"hub: {rel}"] = {"expected": want, "delivered": got}
    assert not wrong, json.dumps(wrong, indent=2)
    assert any(central_expectation(rel) == CONFIG for rel in fixture_files())
    assert any(central_expectation(rel) == CLOUDTRAIL for rel in fixture_files())


# --- the patterns against `mamoru routes` --------------------------------------------------------

CT_CALL = "AWS API Call via CloudTrail"


def _event_name(rule_id: str, name) -> str:
    """An eventName of a pattern as `mamoru routes` writes it: a `{"prefix": "X"}` is "X*"
    (CloudTrail's Lambda eventNames carry an API version suffix)."""
    if isinstance(name, str):
        assert "*" not in name, (rule_id, name)
        return name
    assert isinstance(name, dict) and set(name) == {"prefix"}, (rule_id, name)
    assert isinstance(name["prefix"], str) and name["prefix"], (rule_id, name)
    return name["prefix"] + "*"


def _template_cloudtrail_calls(template: dict, function: str) -> set[tuple[str, str]]:
    pairs = set()
    for rule_id, rule in cfn.rules(template, cfn.parameter_values(template)).items():
        if function not in rule["functions"] or CT_CALL not in rule["pattern"]["detail-type"]:
            continue
        for alt in cfn.pattern_alternatives(rule["pattern"]):
            sources = alt["detail"]["eventSource"]
            names = [_event_name(rule_id, n) for n in alt["detail"]["eventName"]]
            # EventBridge's source for a service's CloudTrail events is aws.<service>: the
            # rule's sources are exactly those of its alternatives' event sources.
            expected_sources = {"aws." + s.split(".")[0] for s in sources}
            assert expected_sources <= set(alt["source"]), (rule_id, alt["source"], sources)
            pairs.update((s, n) for s in sources for n in names)
        every = {
            "aws." + s.split(".")[0]
            for alt in cfn.pattern_alternatives(rule["pattern"])
            for s in alt["detail"]["eventSource"]
        }
        assert set(rule["pattern"]["source"]) == every, (rule_id, rule["pattern"]["source"], every)
    return pairs


def test_prefix_event_names_read_as_routes():
    assert _event_name("r", {"prefix": "UpdateFunctionCode"}) == "UpdateFunctionCode*"
    assert _event_name("r", "DeleteTrail") == "DeleteTrail"
    with pytest.raises(AssertionError):
        _event_name("r", {"wildcard": "Update*"})


def test_cloudtrail_patterns_cover_exactly_the_routed_calls(template, routes):
    for function, route in routes.items():
        want = {(src, name) for src, names in route["cloudtrail_calls"].items() for name in names}
        assert not any(n == "*" for _, n in want), (
            f"{function}: a rule takes every eventName of a source; give it event names"
        )
        got = _template_cloudtrail_calls(template, function)
        assert got == want, (
            f"{function}: template routes {sorted(got - want)} in excess and misses "
            f"{sorted(want - got)}"
        )


def test_read_only_calls_are_routed_only_with_read_only_events_on(aws, template, routes):
    """ReadOnlyEvents=on creates one rule, in the state that delivers read-only management
    events, routing exactly the read-only calls `mamoru routes` lists, to the CloudTrail
    function; off (the default), no rule routes them, and each read-only fixture reaches nothing
    (test_each_fixture_reaches_exactly_the_expected_function)."""
    want = {
        (src, name)
        for r in routes.values()
        for src, names in r.get("read_only_calls", {}).items()
        for name in names
    }
    assert want, "the playbook's volume rules name read-only calls"
    assert set(routes["cloudtrail"].get("read_only_calls", {})) == {s for s, _ in want}
    on = cfn.parameter_values(template, {"ReadOnlyEvents": "on"})
    off = cfn.parameter_values(template)
    assert "ReadOnlyCallsRule" not in cfn.rules(template, off)
    rule = cfn.rules(template, on)["ReadOnlyCallsRule"]
    assert rule["functions"] == ["cloudtrail"]
    props = template["Resources"]["ReadOnlyCallsRule"]["Properties"]
    assert props["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    got = set()
    for alt in cfn.pattern_alternatives(rule["pattern"]):
        got.update((s, n) for s in alt["detail"]["eventSource"] for n in alt["detail"]["eventName"])
    assert got == want
    # Filtered as the rules filter (withDecryption, the userData attribute), as for every call.
    want_conditions = {
        pair: alts for pair, alts in rule_conditions(template, on).items() if pair in want
    }
    got_conditions = {
        pair: alts for pair, alts in template_conditions(template, on).items() if pair in want
    }
    assert got_conditions == want_conditions
    # No other rule routes a read-only call: off, they reach nothing.
    for rule_id, r in cfn.rules(template, on).items():
        if rule_id == "ReadOnlyCallsRule" or CT_CALL not in r["pattern"]["detail-type"]:
            continue
        for alt in cfn.pattern_alternatives(r["pattern"]):
            pairs = {(s, n) for s in alt["detail"]["eventSource"] for n in alt["detail"]["eventName"] if isinstance(n, str)}
            assert not pairs & want, (rule_id, pairs & want)
    # Every read-only fixture is one of these calls, and the function decides it.
    for rel in READ_ONLY_VOLUME:
        d = load_fixture(rel)["detail"]
        assert d["readOnly"] is True, rel
        assert (d["eventSource"], d["eventName"]) in want, rel


def test_detail_types_per_function_match_routes(template, routes):
    got: dict[str, set[str]] = {}
    for rule in cfn.rules(template, cfn.parameter_values(template)).values():
        for fn in rule["functions"]:
            got.setdefault(fn, set()).update(rule["pattern"]["detail-type"])
    want = {fn: set(r["detail_types"]) for fn, r in routes.items() if r["detail_types"]}
    assert got == want


# Rules matched by source and detail-type alone, and why: each one's playbook rule matches the
# detail-type alone (test_detail_type_only_rules_match_as_the_playbook_does).
DETAIL_TYPE_ONLY = {
    "GuardDutyMalwarePostScanRule": "no published event shows the detail of a post-scan action failure",
}


def test_every_rule_is_precise(template):
    """Each rule names its source, its detail-type and filters on detail: nothing broad."""
    for rule_id, rule in cfn.rules(template, cfn.parameter_values(template)).items():
        p = rule["pattern"]
        assert p.get("source") and all(not isinstance(s, dict) for s in p["source"]), rule_id
        assert p.get("detail-type"), rule_id
        assert len(rule["functions"]) == 1, rule_id
        if rule_id in ("SecurityHubFindingsRule", "SecurityHubActionRule"):
            # Security Hub events: the product's findings, or this stack's custom action, by
            # `resources`; the finding-level conditions are the function's (see the template).
            assert p.get("resources"), rule_id
        elif rule_id in DETAIL_TYPE_ONLY:
            assert "detail" not in p, rule_id
        elif rule_id != "GuardDutyFindingRule":  # every finding, unless a floor is set
            assert p.get("detail"), rule_id


def test_detail_type_only_rules_match_as_the_playbook_does(template):
    """A template rule with no detail filter routes a detail-type whose playbook rules all match
    the detail-type alone: a rule that looked at the detail would ask for a filter here."""
    rules = cfn.rules(template, cfn.parameter_values(template))
    assert set(DETAIL_TYPE_ONLY) <= set(rules)
    for rule_id in DETAIL_TYPE_ONLY:
        for detail_type in rules[rule_id]["pattern"]["detail-type"]:
            matching = [
                r for r in playbook_rules() if detail_type in r.get("match", {}).get("detail_type", [])
            ]
            assert matching, (rule_id, detail_type)
            for r in matching:
                assert set(r["match"]) == {"detail_type"}, (rule_id, r["id"], sorted(r["match"]))


# --- the patterns' field conditions against the playbook's rules -------------------------------
#
# `mamoru routes` gives the event names; the finer filters of the rules (`field`, `any_field`)
# are read from the rule files themselves: the built-in playbook, then the deployment's rules/
# (MAMORU_RULES_DIR at build time), a rule reusing an id replacing the earlier one. For each
# (eventSource, eventName) the template must route exactly the union, over the rules reacting to
# that call, of each rule's conditions: no broader (the patterns stay precise) and no narrower (a
# rule would miss its events). Conditions the pattern cannot express are not mirrored and leave
# the call unfiltered: computed signals, `call` (failed calls are routed: the function records
# them and notifies the attempts its rules ask for), principals and exceptions, and `exists` on a
# field holding an object (EventBridge's comparison operators match leaves only).
#
# One computed signal is mirrored: `own_resource`, the call names one of the stack's own
# resources (MAMORU_SELF_RESOURCES). The pattern names them exactly, in the parameter each API
# names its resource by (OWN_RESOURCE_PARAMETER), in the forms own_resource_values() lists.

Condition = tuple[str, tuple[str, ...]]  # (dotted path, the pattern's values as sorted JSON)

# eventSource -> eventName -> the requestParameter naming the resource (None: every other name).
OWN_RESOURCE_PARAMETER = {
    "events.amazonaws.com": {"PutTargets": "rule", "RemoveTargets": "rule", None: "name"},
    "lambda.amazonaws.com": {None: "functionName"},
    "sns.amazonaws.com": {
        "SetSubscriptionAttributes": "subscriptionArn",
        "Unsubscribe": "subscriptionArn",
        "PutDataProtectionPolicy": "resourceArn",
        None: "topicArn",
    },
}


def own_resource_values(template: dict, params: dict[str, str], parameter: str) -> list:
    """The pattern values naming the stack's own resources in one requestParameter:
    - name, rule: the stack's EventBridge rules, by the prefix mamoru-<stack>- they share (their
      exact names would make SelfRulesTamperingRule's pattern too long; the function decides);
    - functionName: each function by name or ARN (full, or partial ACCOUNT:function:NAME), each
      possibly with a version or alias after a colon;
    - topicArn, resourceArn: each topic's ARN; subscriptionArn: a subscription of one (its topic's
      ARN, a colon and an id)."""
    own = cfn.own_resources(template, params)
    if parameter in ("name", "rule"):
        return [_own_rules_condition(cfn.rules(template, params))]
    if parameter == "functionName":
        return [
            v
            for f in own["functions"]
            for v in [f, {"prefix": f + ":"}, {"wildcard": f"*:function:{f}"}, {"wildcard": f"*:function:{f}:*"}]
        ]
    if parameter in ("topicArn", "resourceArn"):
        return list(own["topics"])
    if parameter == "subscriptionArn":
        return [{"prefix": t + ":"} for t in own["topics"]]
    raise AssertionError(parameter)


def _values(values: list) -> tuple[str, ...]:
    return tuple(sorted(json.dumps(v, sort_keys=True) for v in values))


def _at(node, path: list[str]):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _holds_an_object(path: str, event_names: list[str]) -> bool:
    """Whether `path` holds an object (not a leaf) in the fixtures of those calls; a path no
    fixture shows fails: add a fixture of the call with that field."""
    seen = []
    for rel in fixture_files():
        event = load_fixture(rel)
        name = (event.get("detail") or {}).get("eventName")
        if not any(fnmatch.fnmatchcase(name or "", n) for n in event_names):
            continue
        value = _at(event, path.split("."))
        if value is not None:
            seen.append(isinstance(value, (dict, list)))
    assert seen, f"no fixture of {event_names} has {path}: add one, its shape decides the pattern"
    assert len(set(seen)) == 1, f"{path} is an object in some fixtures, a leaf in others"
    return seen[0]


def _rule_condition(rule: dict, f: dict) -> Condition | None:
    """The pattern condition mirroring a rule's field condition; None when a pattern cannot
    express it (`exists` on a field holding an object)."""
    rule_id = rule["id"]
    ops = {k: v for k, v in f.items() if k != "path"}
    assert len(ops) == 1, (rule_id, f)
    (op, value), = ops.items()
    if op == "equals":
        values = [value]
    elif op == "one_of":
        values = list(value)
    elif op == "glob":
        assert "?" not in value, f"{rule_id}: EventBridge wildcards have no `?`: {value}"
        values = [{"wildcard": value}]
    elif op in ("prefix", "cidr", "exists"):
        if op == "exists" and _holds_an_object(f["path"], rule["match"].get("event_name", ["*"])):
            return None
        values = [{op: value}]
    else:
        raise AssertionError(f"{rule_id}: field condition {op} has no EventBridge equivalent")
    return (f["path"], _values(values))


def playbook_rules() -> list[dict]:
    files = [cfn.REPO / "shared" / "rules" / "builtin.toml"]
    deployment = Path(os.environ.get("MAMORU_RULES_DIR") or cfn.REPO / "rules")
    files += sorted(deployment.glob("*.toml"))
    by_id: dict[str, dict] = {}
    for f in files:
        for rule in tomllib.loads(f.read_text(encoding="utf-8")).get("rule", []):
            by_id[rule["id"]] = rule
    return list(by_id.values())


def _minimal(alternatives: set[frozenset]) -> set[frozenset]:
    """Drops each alternative implied by a weaker one (a superset of another's conditions)."""
    return {a for a in alternatives if not any(b < a for b in alternatives)}


def rule_conditions(template: dict, params: dict[str, str] | None = None) -> dict[tuple[str, str], set[frozenset]]:
    params = params or cfn.parameter_values(template)
    out: dict[tuple[str, str], set[frozenset]] = {}
    for rule in playbook_rules():
        m = rule.get("match", {})
        if CT_CALL not in m.get("detail_type", []):
            continue
        if m.get("read_only") and params.get("ReadOnlyEvents") != "on":
            continue  # read-only calls are routed only with ReadOnlyEvents=on
        base = frozenset(
            c for f in m.get("field", []) if (c := _rule_condition(rule, f)) is not None
        )
        any_field = [_rule_condition(rule, f) for f in m.get("any_field", [])]
        if any_field and None in any_field:
            alternatives = {base}  # one alternative cannot be expressed: the base alone
        elif any_field:
            alternatives = {base | {c} for c in any_field}
        else:
            alternatives = {base}
        own = "own_resource" in m.get("signal", [])
        for source, name in product(m.get("event_source", ["*"]), m.get("event_name", ["*"])):
            alts = alternatives
            if own:
                assert source in OWN_RESOURCE_PARAMETER, (
                    f"{rule['id']}: own_resource on {source}: say in OWN_RESOURCE_PARAMETER which "
                    "parameter names the resource, and route it"
                )
                by_name = OWN_RESOURCE_PARAMETER[source]
                parameter = by_name.get(name, by_name[None])
                values = own_resource_values(template, params, parameter)
                own_condition = (f"detail.requestParameters.{parameter}", _values(values))
                alts = {a | {own_condition} for a in alternatives}
            out.setdefault((source, name), set()).update(alts)
    return {pair: _minimal(alts) for pair, alts in out.items()}


def _leaves(node: dict, path: str) -> list[Condition]:
    out = []
    for k, v in node.items():
        assert k != "$or", f"{path}: only the top level of detail may hold $or"
        p = f"{path}.{k}"
        if isinstance(v, dict):
            out.extend(_leaves(v, p))
        else:
            out.append((p, _values(v)))
    return out


def template_conditions(template: dict, params: dict[str, str] | None = None) -> dict[tuple[str, str], set[frozenset]]:
    params = params or cfn.parameter_values(template)
    out: dict[tuple[str, str], set[frozenset]] = {}
    for rule_id, rule in cfn.rules(template, params).items():
        if rule_id in WATCHERS or CT_CALL not in rule["pattern"]["detail-type"]:
            continue
        for alt in cfn.pattern_alternatives(rule["pattern"]):
            outside = {k: v for k, v in alt.items() if k not in ("source", "detail-type", "detail")}
            detail = {k: v for k, v in alt["detail"].items() if k not in ("eventSource", "eventName")}
            conditions = frozenset(_leaves(outside, "")) | frozenset(_leaves(detail, "detail"))
            conditions = frozenset((p.lstrip("."), v) for p, v in conditions)
            for src, name in product(alt["detail"]["eventSource"], alt["detail"]["eventName"]):
                pair = (src, _event_name(rule_id, name))
                out.setdefault(pair, set()).add(conditions)
    return {pair: _minimal(alts) for pair, alts in out.items()}


def _show(alternatives: set[frozenset]) -> list:
    return sorted(sorted(f"{p} in {list(v)}" for p, v in alt) for alt in alternatives)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"AWS::StackName": "prod-eu", "ExistingTopicArn": "arn:aws:sns:us-east-1:123456789012:security-alerts"}],
    ids=["defaults", "existing-topic"],
)
def test_patterns_filter_each_call_exactly_as_the_rules_do(template, overrides):
    params = cfn.parameter_values(template, overrides)
    want = rule_conditions(template, params)
    got = template_conditions(template, params)
    assert set(got) == set(want)  # the event names, also checked against `mamoru routes`
    wrong = {
        f"{src} {name}": {"rules": _show(want[(src, name)]), "template": _show(got[(src, name)])}
        for src, name in sorted(want)
        if got[(src, name)] != want[(src, name)]
    }
    assert not wrong, json.dumps(wrong, indent=2)


def test_the_condition_comparison_sees_a_broader_pattern(template):
    """GIVEN the template without the bucketName filter of the trail-bucket rule, THEN the
    comparison reports the S3 calls it routes (lifecycle; bucket policies are routed for every
    bucket by the catalog rule)."""
    t = copy.deepcopy(template)
    del t["Resources"]["TrailBucketTamperingRule"]["Properties"]["EventPattern"]["detail"][
        "requestParameters"
    ]
    got = template_conditions(t)
    want = rule_conditions(template)
    assert got[("s3.amazonaws.com", "PutBucketLifecycle")] == {frozenset()}
    assert got[("s3.amazonaws.com", "PutBucketLifecycle")] != want[("s3.amazonaws.com", "PutBucketLifecycle")]
