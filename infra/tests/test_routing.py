"""Routing: the template's EventBridge patterns, exercised on a real EventBridge emulation.

GIVEN every AWS::Events::Rule of infra/template.yaml created on moto (PutRule with its physical
name and pattern, PutTargets to one SQS queue per mamoru function)
WHEN each fixture event is put on the bus (PutEvents)
THEN it reaches exactly the function the table below names, once, or no function at all.

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

GUARDDUTY, CLOUDTRAIL, CONFIG = "guardduty", "cloudtrail", "config"

# Every fixture file and the one function it must reach (None: it must reach none). A fixture
# without an entry fails test_every_fixture_has_an_expectation.
EXPECTED: dict[str, str | None] = {
    # CloudTrail tampering; failed StopLogging calls are routed (notified as attempts).
    "aws.cloudtrail/ct-delete-trail.json": CLOUDTRAIL,
    "aws.cloudtrail/ct-stop-logging.json": CLOUDTRAIL,
    "aws.cloudtrail/ct-stop-logging-error-invalidtrailname.json": CLOUDTRAIL,
    "constructed/ct-stop-logging-by-mamoru-itself.json": CLOUDTRAIL,  # the function ignores it
    "constructed/ct-stop-logging-by-name.json": CLOUDTRAIL,
    "constructed/ct-stop-logging-by-protected-principal.json": CLOUDTRAIL,
    "constructed/ct-stop-logging-trail-in-other-region.json": CLOUDTRAIL,
    "aws.cloudtrail/ct-update-trail.json": CLOUDTRAIL,
    # Failed calls are routed (the function records them; it notifies only the attempts its rules
    # ask for).
    "aws.cloudtrail/ct-update-trail-error-trailnotfound.json": CLOUDTRAIL,
    # PutEventSelectors, whatever it sets: the function decides whether management events went.
    "aws.cloudtrail/ct-put-event-selectors.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-advanced-event-selectors-data-only.json": CLOUDTRAIL,
    "tamper/cloudtrail-put-event-selectors-keeps-management.json": CLOUDTRAIL,
    # Lifecycle and policy of CloudTrail buckets (bucketName *cloudtrail*) only.
    "tamper/s3-put-bucket-lifecycle-trail-bucket.json": CLOUDTRAIL,
    "tamper/s3-put-bucket-policy-trail-bucket.json": CLOUDTRAIL,
    "tamper/s3-put-bucket-policy-other-bucket.json": None,
    # Config tampering.
    "aws.config/ct-stop-configuration-recorder.json": CLOUDTRAIL,
    "aws.config/ct-delete-configuration-recorder.json": CLOUDTRAIL,
    "aws.config/ct-delete-delivery-channel.json": CLOUDTRAIL,
    # PutConfigurationRecorder, whatever it sets: the function decides whether it narrows.
    "tamper/config-put-recorder-all.json": CLOUDTRAIL,
    "tamper/config-put-recorder-narrowed.json": CLOUDTRAIL,
    # GuardDuty tampering: UpdateDetector only when it disables.
    "aws.guardduty/ct-delete-detector.json": CLOUDTRAIL,
    "aws.guardduty/ct-update-detector-disable.json": CLOUDTRAIL,
    "constructed/ct-update-detector-disable-denied.json": CLOUDTRAIL,  # an attempt
    "constructed/ct-update-detector-enable.json": None,
    # GuardDuty administrator link broken.
    "aws.guardduty/ct-disassociate-from-master-account.json": CLOUDTRAIL,
    "tamper/guardduty-disassociate-from-administrator.json": CLOUDTRAIL,
    "tamper/guardduty-delete-members.json": CLOUDTRAIL,
    "tamper/guardduty-stop-monitoring-members.json": CLOUDTRAIL,
    # Trusted-IP lists only when activated, filters only with action ARCHIVE.
    "tamper/guardduty-create-ip-set.json": CLOUDTRAIL,
    "tamper/guardduty-update-ip-set-activate.json": CLOUDTRAIL,
    "tamper/guardduty-update-ip-set-deactivate.json": None,
    "tamper/guardduty-create-filter-archive.json": CLOUDTRAIL,
    "tamper/guardduty-update-filter-noop.json": None,
    # Flow logs, Organizations (even a denied call), Security Hub (BatchUpdateFindings only when
    # it suppresses or resolves).
    "tamper/ec2-delete-flow-logs.json": CLOUDTRAIL,
    "tamper/organizations-leave-organization-denied.json": CLOUDTRAIL,
    "tamper/securityhub-disable.json": CLOUDTRAIL,
    "tamper/securityhub-batch-update-findings-suppressed.json": CLOUDTRAIL,
    "tamper/securityhub-batch-update-findings-notified.json": None,
    # mamoru itself: its rules, functions and topics, recognised by "mamoru" in their names.
    "tamper/events-disable-rule-mamoru.json": CLOUDTRAIL,
    "tamper/events-delete-rule-mamoru.json": CLOUDTRAIL,
    "tamper/events-remove-targets-mamoru.json": CLOUDTRAIL,
    "tamper/events-disable-rule-other.json": None,
    "tamper/lambda-add-permission-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-create-function-url-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-delete-function-mamoru.json": CLOUDTRAIL,  # functionName is an ARN
    "tamper/lambda-put-concurrency-zero-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-code-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-configuration-mamoru.json": CLOUDTRAIL,
    "tamper/lambda-update-function-code-other.json": None,
    "tamper/sns-delete-topic-mamoru.json": CLOUDTRAIL,
    "tamper/sns-set-topic-attributes-mamoru.json": CLOUDTRAIL,
    "tamper/sns-unsubscribe-mamoru.json": CLOUDTRAIL,  # by subscriptionArn
    # Root console sign-in, success or failure (the function decides what to notify).
    "aws.signin/console-login-root.json": CLOUDTRAIL,
    "constructed/console-login-root-failure.json": CLOUDTRAIL,
    # GuardDuty findings, every severity (no floor by default).
    "aws.guardduty/finding-backdoor-ec2-ccactivity-b.json": GUARDDUTY,
    "aws.guardduty/finding-credentialaccess-iamuser-anomalousbehavior.json": GUARDDUTY,
    "aws.guardduty/finding-cryptocurrency-ec2-bitcointool-b-dns.json": GUARDDUTY,
    "aws.guardduty/finding-policy-iamuser-rootcredentialusage.json": GUARDDUTY,
    "aws.guardduty/finding-policy-s3-bucketblockpublicaccessdisabled.json": GUARDDUTY,
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
    # One finding of each threat purpose.
    "findings/attacksequence-iam-compromisedcredentials.json": GUARDDUTY,
    "findings/behavior-ec2-trafficvolumeunusual.json": GUARDDUTY,
    "findings/cryptocurrency-ec2-bitcointool.json": GUARDDUTY,
    "findings/defenseevasion-ec2-unusualdnsresolver.json": GUARDDUTY,
    "findings/discovery-s3-maliciousipcaller.json": GUARDDUTY,
    "findings/execution-runtime-newbinaryexecuted.json": GUARDDUTY,
    "findings/exfiltration-s3-anomalousbehavior.json": GUARDDUTY,
    "findings/impact-ec2-abusedomainrequest.json": GUARDDUTY,
    "findings/initialaccess-iamuser-anomalousbehavior.json": GUARDDUTY,
    "findings/pentest-ec2-kali-like.json": GUARDDUTY,
    "findings/persistence-iamuser-anomalousbehavior.json": GUARDDUTY,
    "findings/policy-s3-bucketblockpublicaccessdisabled.json": GUARDDUTY,
    "findings/privilegeescalation-iamuser-anomalousbehavior.json": GUARDDUTY,
    "findings/trojan-ec2-dnsdatapexfiltration.json": GUARDDUTY,
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
    "aws.iam/ct-create-access-key.json": None,
    "constructed/ec2-instance-state-change.json": None,
}


def fixture_files() -> list[str]:
    return sorted(str(p.relative_to(cfn.FIXTURES)) for p in cfn.FIXTURES.rglob("*.json"))


def load_fixture(rel: str) -> dict:
    return json.loads((cfn.FIXTURES / rel).read_text(encoding="utf-8"))


class Bus:
    """The template's rules on moto's default event bus, under their physical names, one SQS
    queue per function."""

    def __init__(self, aws, template: dict, params: dict[str, str]):
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
        for rule in self.rules.values():
            self.events.put_rule(
                Name=rule["name"], EventPattern=json.dumps(rule["pattern"]), State="ENABLED"
            )
            self.events.put_targets(Rule=rule["name"], Targets=self.targets(rule))

    def targets(self, rule: dict) -> list[dict]:
        return [{"Id": f"t{i}", "Arn": self.arns[fn]} for i, fn in enumerate(rule["functions"])]

    def disable(self, rule_id: str) -> None:
        """Takes a rule out of delivery. moto 5.2.5 delivers through disabled rules (it ignores
        State), so a disabled rule is emulated by removing its targets, which is what
        RemoveTargets does to a rule in AWS."""
        rule = self.rules[rule_id]
        self.events.remove_targets(
            Rule=rule["name"], Ids=[t["Id"] for t in self.targets(rule)]
        )

    def enable(self, rule_id: str) -> None:
        rule = self.rules[rule_id]
        self.events.put_targets(Rule=rule["name"], Targets=self.targets(rule))

    def put(self, event: dict) -> dict[str, list[dict]]:
        """Puts one event on the bus; returns the events each function's queue received."""
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event.get("resources", []),
        }
        if event.get("time"):
            entry["Time"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        resp = self.events.put_events(Entries=[entry])
        assert resp["FailedEntryCount"] == 0, resp
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
        for bodies in received.values():
            for body in bodies:
                # What the function receives is the event itself.
                assert body["detail-type"] == event["detail-type"]
                assert body["source"] == event["source"]
                assert body["detail"] == event["detail"]
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
    "UpdateDetector without enable": (
        "aws.guardduty/ct-update-detector-disable.json",
        {"detail__requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}},
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
    "bucket policy of a bucket that is not a trail bucket": (
        "tamper/s3-put-bucket-policy-trail-bucket.json",
        {"detail__requestParameters__bucketName": "website-assets-123456789012"},
    ),
    "trail bucket call other than lifecycle or policy (PutBucketAcl)": (
        "tamper/s3-put-bucket-policy-trail-bucket.json",
        {"detail__eventName": "PutBucketAcl"},
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
    "UpdateIPSet that only renames the list (no activate)": (
        "tamper/guardduty-update-ip-set-activate.json",
        {"detail__requestParameters__activate": None},
    ),
    "UpdateFilter with action NOOP": (
        "tamper/guardduty-create-filter-archive.json",
        {"detail__eventName": "UpdateFilter", "detail__requestParameters__action": "NOOP"},
    ),
    "CreateFilter without action (GuardDuty's default is NOOP)": (
        "tamper/guardduty-create-filter-archive.json",
        {"detail__requestParameters__action": None},
    ),
    "GuardDuty call mamoru does not handle (CreateMembers)": (
        "tamper/guardduty-delete-members.json",
        {"detail__eventName": "CreateMembers"},
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
    "SNS call on a mamoru topic the playbook does not watch (Subscribe)": (
        "tamper/sns-delete-topic-mamoru.json",
        {"detail__eventName": "Subscribe"},
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
    "RemoveTargets naming the rule as name": (
        "tamper/events-remove-targets-mamoru.json",
        {"detail__requestParameters__rule": None, "detail__requestParameters__name": "mamoru-x"},
        CLOUDTRAIL,
    ),
    "DeleteRule of another stack's mamoru rule": (
        "tamper/events-delete-rule-mamoru.json",
        {"detail__requestParameters__name": "mamoru-eu-west-1-findings"},
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
                "arn:aws:lambda:us-east-1:123456789012:function:mamoru-prod-guardduty"
            )
        },
        CLOUDTRAIL,
    ),
    "Unsubscribe from the alarm topic": (
        "tamper/sns-unsubscribe-mamoru.json",
        {
            "detail__requestParameters__subscriptionArn": (
                "arn:aws:sns:us-east-1:123456789012:mamoru-prod-alarms:2bcfbf39"
            )
        },
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
        if EXPECTED[rel] == GUARDDUTY and event["detail"]["severity"] < float(floor):
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
    key = "rule" if event_name == "RemoveTargets" else "name"
    event["detail"]["requestParameters"] = {key: rule_name}
    return event


@pytest.mark.parametrize("stack_name", ["mamoru", "prod-eu"])
@pytest.mark.parametrize("event_name", ["DisableRule", "RemoveTargets", "DeleteRule"])
def test_a_call_on_any_one_rule_is_seen_while_that_rule_is_out(aws, template, stack_name, event_name):
    """GIVEN the stack deployed as `stack_name` and one of its rules disabled (or stripped of its
    targets, or deleted), WHEN the CloudTrail event of that call arrives, THEN another rule still
    delivers it to the cloudtrail function, exactly once: no rule is the only one watching
    itself."""
    params = cfn.parameter_values(template, {"AWS::StackName": stack_name})
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


def test_watchers_watch_exactly_the_rule_they_name(template):
    """A watcher's pattern is the watched rule's pattern with each `*mamoru*` wildcard replaced
    by the watched rule's physical name (a subset of what the watched rule routes)."""
    rules = cfn.rules(template, cfn.parameter_values(template))
    for watcher_id, watched_id in WATCHERS.items():
        watched = rules[watched_id]
        name = watched["name"]
        text = json.dumps(watched["pattern"])
        assert '{"wildcard": "*mamoru*"}' in text
        assert fnmatch.fnmatchcase(name, "*mamoru*")
        expected = json.loads(text.replace('{"wildcard": "*mamoru*"}', json.dumps(name)))
        assert rules[watcher_id]["pattern"] == expected, watcher_id
        assert rules[watcher_id]["functions"] == watched["functions"]


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
            # EventBridge's source for a service's CloudTrail events is aws.<service>.
            expected_sources = {"aws." + s.split(".")[0] for s in sources}
            assert set(alt["source"]) == expected_sources, (rule_id, alt["source"], sources)
            pairs.update((s, n) for s in sources for n in names)
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


def test_detail_types_per_function_match_routes(template, routes):
    got: dict[str, set[str]] = {}
    for rule in cfn.rules(template, cfn.parameter_values(template)).values():
        for fn in rule["functions"]:
            got.setdefault(fn, set()).update(rule["pattern"]["detail-type"])
    want = {fn: set(r["detail_types"]) for fn, r in routes.items() if r["detail_types"]}
    assert got == want


def test_every_rule_is_precise(template):
    """Each rule names its source, its detail-type and filters on detail: nothing broad."""
    for rule_id, rule in cfn.rules(template, cfn.parameter_values(template)).items():
        p = rule["pattern"]
        assert p.get("source") and all(not isinstance(s, dict) for s in p["source"]), rule_id
        assert p.get("detail-type"), rule_id
        assert len(rule["functions"]) == 1, rule_id
        if rule_id != "GuardDutyFindingRule":  # every finding, unless a floor is set
            assert p.get("detail"), rule_id


# --- the patterns' field conditions against the playbook's rules -------------------------------
#
# `mamoru routes` gives the event names; the finer filters of the rules (`field`, `any_field`)
# are read from the rule files themselves: the built-in playbook, then the deployment's rules/
# (MAMORU_RULES_DIR at build time), a rule reusing an id replacing the earlier one. For each
# (eventSource, eventName) the template must route exactly the union, over the rules reacting to
# that call, of each rule's conditions: no broader (the patterns stay precise) and no narrower (a
# rule would miss its events). Conditions the pattern cannot express are not mirrored and leave
# the call unfiltered: computed signals, `call` (failed calls are routed: the function records
# them and notifies the attempts its rules ask for), principals and exceptions.

Condition = tuple[str, tuple[str, ...]]  # (dotted path, the pattern's values as sorted JSON)


def _values(values: list) -> tuple[str, ...]:
    return tuple(sorted(json.dumps(v, sort_keys=True) for v in values))


def _rule_condition(rule_id: str, f: dict) -> Condition:
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


def rule_conditions() -> dict[tuple[str, str], set[frozenset]]:
    out: dict[tuple[str, str], set[frozenset]] = {}
    for rule in playbook_rules():
        m = rule.get("match", {})
        if CT_CALL not in m.get("detail_type", []):
            continue
        base = frozenset(_rule_condition(rule["id"], f) for f in m.get("field", []))
        any_field = [_rule_condition(rule["id"], f) for f in m.get("any_field", [])]
        alternatives = {base | {c} for c in any_field} if any_field else {base}
        for pair in product(m.get("event_source", ["*"]), m.get("event_name", ["*"])):
            out.setdefault(pair, set()).update(alternatives)
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


def template_conditions(template: dict) -> dict[tuple[str, str], set[frozenset]]:
    out: dict[tuple[str, str], set[frozenset]] = {}
    for rule_id, rule in cfn.rules(template, cfn.parameter_values(template)).items():
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


def test_patterns_filter_each_call_exactly_as_the_rules_do(template):
    want = rule_conditions()
    got = template_conditions(template)
    assert set(got) == set(want)  # the event names, also checked against `mamoru routes`
    wrong = {
        f"{src} {name}": {"rules": _show(want[(src, name)]), "template": _show(got[(src, name)])}
        for src, name in sorted(want)
        if got[(src, name)] != want[(src, name)]
    }
    assert not wrong, json.dumps(wrong, indent=2)


def test_the_condition_comparison_sees_a_broader_pattern(template):
    """GIVEN the template without the bucketName filter of the trail-bucket rule, THEN the
    comparison reports the S3 calls."""
    t = copy.deepcopy(template)
    del t["Resources"]["TrailBucketTamperingRule"]["Properties"]["EventPattern"]["detail"][
        "requestParameters"
    ]
    got = template_conditions(t)
    want = rule_conditions()
    assert got[("s3.amazonaws.com", "PutBucketPolicy")] == {frozenset()}
    assert got[("s3.amazonaws.com", "PutBucketPolicy")] != want[("s3.amazonaws.com", "PutBucketPolicy")]
