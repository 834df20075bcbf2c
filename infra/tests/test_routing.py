"""Routing: the template's EventBridge patterns, exercised on a real EventBridge emulation.

GIVEN every AWS::Events::Rule of infra/template.yaml created on moto (PutRule with its pattern,
PutTargets to one SQS queue per mamoru function)
WHEN each fixture event is put on the bus (PutEvents)
THEN it reaches exactly the function the table below names, once, or no function at all.

moto's TestEventPattern is a stub (it answers an empty body), so matching is observed through
delivery, as in production.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime

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
    # CloudTrail calls mamoru does not handle yet.
    "aws.cloudtrail/ct-update-trail.json": None,
    "aws.cloudtrail/ct-update-trail-error-trailnotfound.json": None,
    "aws.cloudtrail/ct-put-event-selectors.json": None,
    # Config tampering.
    "aws.config/ct-stop-configuration-recorder.json": CLOUDTRAIL,
    "aws.config/ct-delete-configuration-recorder.json": CLOUDTRAIL,
    "aws.config/ct-delete-delivery-channel.json": CLOUDTRAIL,
    # GuardDuty tampering: UpdateDetector only when it disables.
    "aws.guardduty/ct-delete-detector.json": CLOUDTRAIL,
    "aws.guardduty/ct-update-detector-disable.json": CLOUDTRAIL,
    "constructed/ct-update-detector-disable-denied.json": CLOUDTRAIL,  # an attempt
    "constructed/ct-update-detector-enable.json": None,
    "aws.guardduty/ct-disassociate-from-master-account.json": None,  # not handled yet
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
    """The template's rules on moto's default event bus, one SQS queue per function."""

    def __init__(self, aws, template: dict, params: dict[str, str]):
        self.events = aws("events")
        self.sqs = aws("sqs")
        self.queues: dict[str, str] = {}
        names = sorted(set(cfn.functions(template).values()))
        arns = {}
        for name in names:
            url = self.sqs.create_queue(QueueName=f"to-{name}")["QueueUrl"]
            self.queues[name] = url
            arns[name] = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        self.rules = cfn.rules(template, params)
        for rule_id, rule in self.rules.items():
            self.events.put_rule(
                Name=rule_id, EventPattern=json.dumps(rule["pattern"]), State="ENABLED"
            )
            self.events.put_targets(
                Rule=rule_id,
                Targets=[
                    {"Id": f"t{i}", "Arn": arns[fn]} for i, fn in enumerate(rule["functions"])
                ],
            )

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
}


@pytest.mark.parametrize("name", sorted(NEGATIVE_VARIANTS))
def test_variants_outside_the_patterns_reach_no_function(default_bus, name):
    rel, changes = NEGATIVE_VARIANTS[name]
    # The unmodified fixture does route: the variant isolates one field of the pattern.
    assert delivered_to(default_bus.put(load_fixture(rel))), f"{rel} should route"
    assert delivered_to(default_bus.put(_variant(rel, **changes))) == []


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


# --- the patterns against `mamoru routes` --------------------------------------------------------

CT_CALL = "AWS API Call via CloudTrail"


def _template_cloudtrail_calls(template: dict, function: str) -> set[tuple[str, str]]:
    pairs = set()
    for rule_id, rule in cfn.rules(template, cfn.parameter_values(template)).items():
        if function not in rule["functions"] or CT_CALL not in rule["pattern"]["detail-type"]:
            continue
        for alt in cfn.pattern_alternatives(rule["pattern"]):
            sources = alt["detail"]["eventSource"]
            names = alt["detail"]["eventName"]
            # EventBridge's source for a service's CloudTrail events is aws.<service>.
            expected_sources = {"aws." + s.split(".")[0] for s in sources}
            assert set(alt["source"]) == expected_sources, (rule_id, alt["source"], sources)
            pairs.update((s, n) for s in sources for n in names)
    return pairs


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
