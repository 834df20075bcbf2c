"""Structural assertions on infra/template.yaml: encryption, logging, failure handling, who may
invoke the functions, alarms, Config rules and outputs."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

import cfn

FUNCTION_IDS = ["GuardDutyFunction", "CloudTrailFunction", "ConfigFunction", "SecurityHubFunction"]


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


# --- topic ------------------------------------------------------------------------------------


def test_alert_topic_is_encrypted_with_the_aws_managed_key(template):
    assert props(template, "AlertTopic")["KmsMasterKeyId"] == "alias/aws/sns"


def test_only_mamoru_roles_may_publish_alerts(template):
    roles = sorted(cfn.function_roles(template).values())
    statements = props(template, "AlertTopicPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Action"] == "sns:Publish"
    assert sorted(cfn.ref_target(p) for p in allows[0]["Principal"]["AWS"]) == roles
    (deny,) = [s for s in statements if s["Sid"] == "OnlyMamoruPublishes"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert sorted(cfn.ref_target(p) for p in deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == roles


def test_urgent_subscription_filters_on_the_severity_attribute(template):
    sub = props(template, "UrgentAlertEmailSubscription")
    assert sub["FilterPolicyScope"] == "MessageAttributes"
    assert sub["FilterPolicy"] == {"severity": ["HIGH", "CRITICAL"]}


def test_alarm_topic_accepts_only_this_stacks_alarms(template):
    (allow,) = [
        s
        for s in props(template, "AlarmTopicPolicy")["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    source = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"
    for alarm_id, alarm in cfn.resources(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), alarm_id


# --- functions -----------------------------------------------------------------------------


def workspace_binaries() -> set[str]:
    """The [[bin]] names of the packages under functions/."""
    names = set()
    for manifest in (cfn.REPO / "functions").glob("*/Cargo.toml"):
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        for b in data.get("bin", []):
            names.add(b["name"])
    return names


def test_functions_are_built_by_cargo_lambda_from_the_workspace(template):
    assert cfn.functions(template) == {
        "GuardDutyFunction": "guardduty",
        "CloudTrailFunction": "cloudtrail",
        "ConfigFunction": "config",
        "SecurityHubFunction": "securityhub",
    }
    # One binary for the four: each function's MAMORU_FUNCTION (read above) says which it is.
    binaries = workspace_binaries()
    assert binaries == {"mamoru-lambda"}
    workspace = tomllib.loads((cfn.REPO / "Cargo.toml").read_text(encoding="utf-8"))
    for fid in FUNCTION_IDS:
        res = template["Resources"][fid]
        p = res["Properties"]
        assert res["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert res["Metadata"]["BuildProperties"]["Binary"] in binaries
        assert (cfn.INFRA / p["CodeUri"]).resolve() == cfn.REPO
        assert "workspace" in workspace
        assert p["Handler"] == "bootstrap"
        assert p["Runtime"] == "provided.al2023"
        assert p["Architectures"] == ["arm64"]
        assert p["MemorySize"] == 128
        assert isinstance(p["Timeout"], int) and 1 <= p["Timeout"] <= 60


# The settings of a hub serving an organization: variable -> the parameter it comes from.
ORGANIZATION_SETTINGS = {
    "MAMORU_MEMBER_ROLE_NAME": "MemberRoleName",
    "MAMORU_ACCOUNTS_ALLOW": "AccountsAllow",
    "MAMORU_ACCOUNTS_DENY": "AccountsDeny",
    "MAMORU_ACCOUNT_MODES": "AccountModes",
}


def test_organization_parameters(template):
    """The organization's settings default to a hub serving its own account: no organization, the
    member role `mamoru-member`, every account, no per-account mode; their patterns take what the
    functions read and refuse what they would not."""
    params = template["Parameters"]
    assert {k: params[k]["Default"] for k in ["OrganizationId", "MemberRoleName", *ORGANIZATION_SETTINGS.values()]} == {
        "OrganizationId": "",
        "MemberRoleName": "mamoru-member",
        "AccountsAllow": "",
        "AccountsDeny": "",
        "AccountModes": "",
    }
    cases = {
        "OrganizationId": (["", "o-a1b2c3d4e5"], ["o-", "r-a1b2", "o-A1B2C3D4E5", " o-a1b2c3d4e5"]),
        "MemberRoleName": (["mamoru-member", "a", "x" * 64], ["", "a/b", "x" * 65, "a b"]),
        "AccountsAllow": (["", "111122223333", "111122223333,444455556666"], ["1111", "111122223333, 444455556666", "111122223333,"]),
        "AccountsDeny": (["", "777788889999"], ["all", "777788889999;111122223333"]),
        "AccountModes": (
            ["", "444455556666=enforce", "444455556666=enforce,777788889999=dry-run"],
            ["444455556666", "444455556666=on", "444455556666=enforce,", "444455556666:enforce"],
        ),
    }
    for name, (good, bad) in cases.items():
        pattern = params[name]["AllowedPattern"]
        for value in good:
            assert re.fullmatch(pattern, value), (name, value)
        for value in bad:
            assert not re.fullmatch(pattern, value), (name, value)
    assert template["Conditions"]["HasOrganization"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]
    }


def test_function_settings_come_from_the_parameters(template):
    role_ids = sorted(cfn.function_roles(template).values())
    for fid in FUNCTION_IDS:
        env = props(template, fid)["Environment"]["Variables"]
        assert env["MAMORU_MODE"] == {"Ref": "Mode"}
        # The allocator commits memory as it uses it (bench/README.md, "mimalloc's arenas").
        assert env["MIMALLOC_ARENA_EAGER_COMMIT"] == "0"
        assert env["MAMORU_TOPIC_ARN"] == {
            "Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingTopicArn"}]
        }
        assert env["MAMORU_MIN_REMEDIATION_SEVERITY"] == {"Ref": "MinRemediationSeverity"}
        assert env["MAMORU_PROTECTED_PRINCIPALS"] == {"Ref": "ProtectedPrincipals"}
        assert env["MAMORU_BUDGET_PER_ACCOUNT"] == {"Ref": "RemediationBudgetPerAccount"}
        assert env["MAMORU_BUDGET_PER_PRINCIPAL"] == {"Ref": "RemediationBudgetPerPrincipal"}
        assert env["MAMORU_REPEAT_QUIET_HOURS"] == {"Ref": "RepeatQuietHours"}
        for variable, parameter in ORGANIZATION_SETTINGS.items():
            assert env[variable] == {"Ref": parameter}, (fid, variable)
        sep, arns = env["MAMORU_SELF_ROLE_ARNS"]["Fn::Join"]
        assert sep == ","
        assert sorted(cfn.ref_target(a) for a in arns) == role_ids  # all four: loop prevention
        assert set(env) == {
            "MIMALLOC_ARENA_EAGER_COMMIT",
            "MAMORU_FUNCTION",
            "MAMORU_MODE",
            "MAMORU_TOPIC_ARN",
            "MAMORU_MIN_REMEDIATION_SEVERITY",
            "MAMORU_PROTECTED_PRINCIPALS",
            "MAMORU_BUDGET_PER_ACCOUNT",
            "MAMORU_BUDGET_PER_PRINCIPAL",
            "MAMORU_REPEAT_QUIET_HOURS",
            "MAMORU_SELF_ROLE_ARNS",
            "MAMORU_SELF_RESOURCES",  # test_every_function_lists_exactly_the_stacks_own_resources
            *ORGANIZATION_SETTINGS,
            # The cloudtrail function imports its detections into Security Hub
            # (test_permissions: test_publishing_findings_is_on_by_default_and_granted_only_when_on).
            *(["MAMORU_PUBLISH_FINDINGS"] if fid == "CloudTrailFunction" else []),
        }


def test_the_state_table_expires_its_items_is_recoverable_and_encrypted(template):
    """One on-demand table, keyed by the string `pk`, TTL on `expires` (the attributes
    aws/src/state/dynamodb.rs writes), point-in-time recovery, and encryption with the
    AWS-managed key (SSE with no key of its own)."""
    (table_id,) = cfn.resources(template, "AWS::DynamoDB::Table")
    assert table_id == "StateTable"
    p = props(template, table_id)
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert p["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}


def test_mode_defaults_to_dry_run(template):
    mode = template["Parameters"]["Mode"]
    assert sorted(mode["AllowedValues"]) == ["dry-run", "enforce"]
    assert mode["Default"] == "dry-run"


def test_every_function_logs_json_to_its_own_log_group_with_retention(template):
    groups = set()
    for fid in FUNCTION_IDS:
        logging = props(template, fid)["LoggingConfig"]
        assert logging["LogFormat"] == "JSON"
        assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}
        group = cfn.ref_target(logging["LogGroup"])
        res = template["Resources"][group]
        assert res["Type"] == "AWS::Logs::LogGroup"
        assert res["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        assert res["DeletionPolicy"] == "Retain"  # the audit record outlives the stack
        groups.add(group)
    assert len(groups) == 4
    assert int(template["Parameters"]["LogRetentionInDays"]["Default"]) >= 365


def test_asynchronous_invocation_has_bounded_retries_and_an_on_failure_queue(template):
    for fid in FUNCTION_IDS:
        cfg = props(template, fid)["EventInvokeConfig"]
        assert cfg["MaximumRetryAttempts"] == 2
        assert 60 <= cfg["MaximumEventAgeInSeconds"] <= 21600
        on_failure = cfg["DestinationConfig"]["OnFailure"]
        assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}


def test_dead_letter_queue_is_encrypted(template):
    q = props(template, "FailureQueue")
    assert q["SqsManagedSseEnabled"] is True
    assert q["MessageRetentionPeriod"] == 1209600


# --- invocation -------------------------------------------------------------------------------


def test_every_rule_target_retries_and_has_the_dead_letter_queue(template):
    for rule_id, rule in cfn.resources(template, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}, rule_id
            policy = target["RetryPolicy"]
            assert policy["MaximumRetryAttempts"] >= 1, rule_id
            assert 60 <= policy["MaximumEventAgeInSeconds"] <= 86400, rule_id


@pytest.mark.parametrize("org", ["", "o-a1b2c3d4e5"], ids=["own-account", "organization"])
def test_dead_letter_queue_accepts_exactly_the_rules(template, org):
    params = cfn.parameter_values(template, {"OrganizationId": org})
    rules = set(cfn.rules(template, params))
    statements = cfn.policy_statements(template, params, props(template, "FailureQueuePolicy")["PolicyDocument"])
    (st,) = [s for s in statements if s["Effect"] == "Allow"]
    assert st["Principal"] == {"Service": "events.amazonaws.com"}
    assert st["Action"] == "sqs:SendMessage"
    assert {cfn.ref_target(a) for a in st["Condition"]["ArnEquals"]["aws:SourceArn"]} == rules


def test_no_lambda_permission_without_source_arn(template):
    """Each rule, and nothing else, may invoke its function: one permission per rule, bound to
    the rule's ARN and to the function the rule targets."""
    permissions = cfn.resources(template, "AWS::Lambda::Permission")
    rules = cfn.resources(template, "AWS::Events::Rule")
    covered = set()
    for pid, perm in permissions.items():
        p = perm["Properties"]
        assert p["Action"] == "lambda:InvokeFunction", pid
        assert p["Principal"] == "events.amazonaws.com", pid
        assert "SourceArn" in p, f"{pid} has no SourceArn"
        rule_id = cfn.ref_target(p["SourceArn"])
        assert p["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}, pid
        assert perm.get("Condition") == rules[rule_id].get("Condition"), pid
        targets = {cfn.ref_target(t["Arn"]) for t in rules[rule_id]["Properties"]["Targets"]}
        assert targets == {cfn.ref_target(p["FunctionName"])}, pid
        covered.add(rule_id)
    assert covered == set(rules)
    assert len(permissions) == len(rules)


def test_functions_have_no_other_event_sources(template):
    for fid in FUNCTION_IDS:
        assert not props(template, fid).get("Events"), fid
        assert not props(template, fid).get("FunctionUrlConfig"), fid


# --- alarms -----------------------------------------------------------------------------------


def test_alarms_watch_the_dead_letter_queue_and_every_function(template):
    alarms = [a["Properties"] for a in cfn.resources(template, "AWS::CloudWatch::Alarm").values()]
    for a in alarms:
        assert a["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert a["TreatMissingData"] == "notBreaching"
    dlq = [a for a in alarms if a["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert len(dlq) == 1
    assert dlq[0]["Namespace"] == "AWS/SQS"
    assert dlq[0]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailureQueue", "QueueName"]}}
    ]
    errors = {
        cfn.ref_target(a["Dimensions"][0]["Value"])
        for a in alarms
        if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == "Errors"
    }
    assert errors == set(FUNCTION_IDS)


# --- Config rules -----------------------------------------------------------------------------


def test_config_rules_are_the_three_managed_rules_behind_the_parameter(template):
    rules = cfn.resources(template, "AWS::Config::ConfigRule")
    assert sorted(r["Properties"]["Source"]["SourceIdentifier"] for r in rules.values()) == [
        "CLOUD_TRAIL_ENABLED",
        "GUARDDUTY_ENABLED_CENTRALIZED",
        "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    ]
    for rule_id, rule in rules.items():
        assert rule["Condition"] == "CreateConfigRulesCondition", rule_id
        assert rule["Properties"]["Source"]["Owner"] == "AWS"
    params = cfn.parameter_values(template)
    assert not any(cfn.active(template, params, r) for r in rules.values())  # off by default
    params = cfn.parameter_values(template, {"CreateConfigRules": "true"})
    assert all(cfn.active(template, params, r) for r in rules.values())


@pytest.mark.parametrize(
    "identifier,glob",
    [
        ("CLOUD_TRAIL_ENABLED", "cloudtrail-enabled"),
        ("MULTI_REGION_CLOUD_TRAIL_ENABLED", "cloudtrail-enabled"),
        ("GUARDDUTY_ENABLED_CENTRALIZED", "guardduty-enabled-centralized"),
    ],
)
def test_config_rule_names_match_the_playbook(template, identifier, glob):
    """The built-in playbook recognises the rules by name (`*cloudtrail-enabled*`, ...)."""
    (rule,) = [
        r
        for r in cfn.resources(template, "AWS::Config::ConfigRule").values()
        if r["Properties"]["Source"]["SourceIdentifier"] == identifier
    ]
    name = rule["Properties"]["ConfigRuleName"]["Fn::Sub"]
    assert glob in name
    playbook = (cfn.REPO / "shared" / "rules" / "builtin.toml").read_text(encoding="utf-8")
    assert f'glob = "*{glob}*"' in playbook


# --- physical names, and the stack's own resources in MAMORU_SELF_RESOURCES -----------------

# Resource type -> the longest name AWS accepts.
NAME_LIMITS = {
    "AWS::Events::Rule": 64,
    "AWS::Serverless::Function": 64,
    "AWS::SNS::Topic": 256,
    "AWS::Events::EventBus": 256,
}
# The longest stack name the template documents (its header comment).
MAX_STACK_NAME = 40
STACK_NAMES = ["mamoru", "prod", "Security-Responder-eu-west-1", "s" * MAX_STACK_NAME]


def named_resources(template: dict) -> dict[str, str]:
    return {
        rid: res["Type"] for rid, res in template["Resources"].items() if res["Type"] in NAME_LIMITS
    }


def test_documented_stack_name_limit(template):
    text = cfn.TEMPLATE.read_text(encoding="utf-8")
    assert f"the stack name may\n# have at most {MAX_STACK_NAME} characters" in text


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_rule_function_and_topic_is_named_mamoru_within_limits(template, stack):
    params = cfn.parameter_values(template, {"AWS::StackName": stack})
    names = {}
    for rid, type_ in named_resources(template).items():
        name = cfn.physical_name(template, params, rid)  # fails when the name is generated
        assert name.startswith(f"mamoru-{stack}-"), (rid, name)
        assert len(name) <= NAME_LIMITS[type_], (rid, name, len(name))
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", name), (rid, name)
        names[rid] = name
    assert len(set(names.values())) == len(names), names
    # One longer stack name and the longest rule name no longer fits.
    if len(stack) == MAX_STACK_NAME:
        longest = max(
            len(n) for rid, n in names.items() if NAME_LIMITS[named_resources(template)[rid]] == 64
        )
        assert longest == 64, "MAX_STACK_NAME is not the tightest limit: update it and the docs"


EXISTING_TOPIC = "arn:aws:sns:us-east-1:123456789012:security-alerts"


def _self_resources(template: dict, params: dict[str, str], function_id: str) -> list[str]:
    return cfn.self_resources(cfn.environment(template, params, function_id)["MAMORU_SELF_RESOURCES"])


@pytest.mark.parametrize("org", ["", "o-a1b2c3d4e5"], ids=["own-account", "organization"])
@pytest.mark.parametrize("existing_topic", [False, True], ids=["own-topic", "existing-topic"])
@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_function_lists_exactly_the_stacks_own_resources(template, stack, existing_topic, org):
    """MAMORU_SELF_RESOURCES of every function names each EventBridge rule and function of the
    stack by name (the central bus's rules too, for an organization) and each topic by ARN (the
    ExistingTopicArn in place of the alert topic), once, and nothing else: what the playbook's
    `own_resource` signal treats as mamoru's own."""
    overrides = {"AWS::StackName": stack, "OrganizationId": org}
    if existing_topic:
        overrides["ExistingTopicArn"] = EXISTING_TOPIC
    params = cfn.parameter_values(template, overrides)
    own = cfn.own_resources(template, params)
    all_rules = cfn.resources(template, "AWS::Events::Rule")
    central = [r for r in all_rules.values() if r.get("Condition") == "HasOrganization"]
    # Off by default (ReadOnlyEvents): the rule of read-only calls.
    reads = [r for r in all_rules.values() if r.get("Condition") == "ReadOnlyEventsOn"]
    assert len(reads) == 1
    assert len(own["rules"]) == len(all_rules) - (0 if org else len(central)) - len(reads)
    assert cfn.physical_name(template, params, "SecurityHubActionRule") in own["rules"]
    assert len(own["functions"]) == len(FUNCTION_IDS)
    assert len(own["topics"]) == 2
    assert (EXISTING_TOPIC in own["topics"]) == existing_topic
    want = sorted(own["rules"] + own["functions"] + own["topics"])
    for fid in FUNCTION_IDS:
        got = _self_resources(template, params, fid)
        assert len(got) == len(set(got)), (fid, got)
        assert sorted(got) == want, fid
        # The function refuses patterns and the list is comma-separated.
        assert not any("*" in r or "," in r or not r for r in got), (fid, got)


def test_self_resources_name_rules_and_functions_without_referencing_them(template):
    """A function's environment cannot reference the function itself (a circular dependency),
    and the rules reference the functions: the names are spelt out with !Sub, the same strings
    as the resources' own name properties (test above). Topics, which reference nothing of the
    functions, are referenced."""
    for fid in FUNCTION_IDS:
        sep, items = props(template, fid)["Environment"]["Variables"]["MAMORU_SELF_RESOURCES"]["Fn::Join"]
        assert sep == ","
        refs = {cfn.ref_target(i) for i in items} - {None}
        assert refs == {"AlarmTopic"}, (fid, refs)
        for item in items:
            assert "Fn::GetAtt" not in json.dumps(item), (fid, item)


def test_the_environment_fits_within_lambdas_limit(template):
    """Lambda allows 4 KB of environment variables per function: with the longest stack name,
    an existing topic of the longest name SNS allows and the central bus's rules, the environment
    still fits with the lists the README promises room for (about 850 characters together:
    ProtectedPrincipals, 20 accounts allowed, 10 denied, 20 account modes)."""
    params = cfn.parameter_values(
        template,
        {
            "AWS::StackName": "s" * MAX_STACK_NAME,
            "ExistingTopicArn": "arn:aws:sns:us-east-1:123456789012:" + "t" * 256,
            "ProtectedPrincipals": "arn:aws:iam::*:role/BreakGlass*",
            "OrganizationId": "o-a1b2c3d4e5",
            "MemberRoleName": "m" * 64,
            "AccountsAllow": ",".join(f"{111122223333 + i}" for i in range(20)),
            "AccountsDeny": ",".join(f"{444455556666 + i}" for i in range(10)),
            "AccountModes": ",".join(f"{777788889999 + i}=dry-run" for i in range(20)),
        },
    )
    lists = ["ProtectedPrincipals", "AccountsAllow", "AccountsDeny", "AccountModes"]
    assert sum(len(params[k]) for k in lists) >= 835
    for fid in FUNCTION_IDS:
        env = cfn.environment(template, params, fid)
        size = sum(len(k) + len(v) for k, v in env.items())
        assert size <= 4096, (fid, size)


# Calls naming one resource, from the fixtures: (fixture, the requestParameters key naming it).
_CALLS = {
    "rule": [
        ("tamper/events-disable-rule-mamoru.json", "name"),
        ("tamper/events-put-targets-mamoru.json", "rule"),
    ],
    "function": [("tamper/lambda-update-function-code-mamoru.json", "functionName")],
    "topic": [("tamper/sns-set-topic-attributes-mamoru.json", "topicArn")],
    "subscription": [("tamper/sns-unsubscribe-mamoru.json", "subscriptionArn")],
}


def _call(fixture: str, key: str, value: str) -> dict:
    event = json.loads((cfn.FIXTURES / fixture).read_text(encoding="utf-8"))
    event["detail"]["requestParameters"][key] = value
    return event


@pytest.mark.parametrize("existing_topic", [False, True], ids=["own-topic", "existing-topic"])
@pytest.mark.parametrize("stack", ["mamoru", "prod"])
def test_the_playbook_recognises_every_own_resource(template, tmp_path, stack, existing_topic):
    """GIVEN the cloudtrail function's settings as the stack sets them, WHEN a call names one of
    the stack's rules, functions (by name or ARN) or topics (or a subscription of one), THEN one
    of the playbook's self-protection rules reacts (`mamoru replay`); a resource of another stack,
    or one merely called *mamoru*, is nobody's concern."""
    overrides = {"AWS::StackName": stack}
    if existing_topic:
        overrides["ExistingTopicArn"] = EXISTING_TOPIC
    params = cfn.parameter_values(template, overrides)
    env = cfn.environment(template, params, "CloudTrailFunction")
    own = cfn.own_resources(template, params)
    prefix = "arn:aws:lambda:us-east-1:123456789012:function:"
    values = {
        "rule": own["rules"],
        "function": own["functions"] + [prefix + f for f in own["functions"]],
        "topic": own["topics"],
        "subscription": [f"{t}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55" for t in own["topics"]],
    }
    others = {
        "rule": [f"mamoru-{stack}2-findings", "attacker-mamoru-noise", f"mamoru-{stack}-findings-old"],
        "function": [f"mamoru-{stack}-guardduty-old", prefix + f"mamoru-other-{stack}-guardduty"],
        "topic": [
            f"arn:aws:sns:us-east-1:123456789012:mamoru-{stack}-alerts-2",
            "arn:aws:sns:us-east-1:999999999999:" + own["topics"][0].rsplit(":", 1)[1],
        ],
        "subscription": ["arn:aws:sns:us-east-1:123456789012:attacker-mamoru-noise:2bcfbf39"],
    }
    if existing_topic:
        others["topic"].append(f"arn:aws:sns:us-east-1:123456789012:mamoru-{stack}-alerts")
    cases = []
    for kind, calls in _CALLS.items():
        for fixture, key in calls:
            cases += [(_call(fixture, key, v), True, (kind, v)) for v in values[kind]]
            cases += [(_call(fixture, key, v), False, (kind, v)) for v in others[kind]]
    decisions = cfn.mamoru_decisions([c[0] for c in cases], tmp_path, env)
    wrong = []
    for (_, own_call, what), decision in zip(cases, decisions, strict=True):
        reacted = any(r.startswith("mamoru-") for r in decision["rule_ids"])
        if reacted != own_call:
            wrong.append((what, own_call, decision["rule_ids"], decision.get("reason")))
    assert not wrong, wrong


# --- the organization's central event bus -----------------------------------------------------


def test_central_bus_admits_put_events_from_the_organization_only(template):
    bus = template["Resources"]["CentralEventBus"]
    assert bus["Condition"] == "HasOrganization"
    assert bus["Properties"] == {"Name": {"Fn::Sub": "mamoru-${AWS::StackName}-central"}}
    policies = cfn.resources(template, "AWS::Events::EventBusPolicy")
    assert list(policies) == ["CentralEventBusPolicy"]
    policy = policies["CentralEventBusPolicy"]
    assert policy["Condition"] == "HasOrganization"
    p = policy["Properties"]
    assert p["EventBusName"] == {"Fn::GetAtt": ["CentralEventBus", "Name"]}
    assert p["Statement"] == {
        "Sid": p["StatementId"],
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["CentralEventBus", "Arn"]},
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}},
    }
    output = template["Outputs"]["CentralEventBusArn"]
    assert output["Condition"] == "HasOrganization"
    assert output["Value"] == {"Fn::GetAtt": ["CentralEventBus", "Arn"]}


def test_every_rule_off_the_default_bus_is_on_the_central_bus_under_the_condition(template):
    """A rule is on the default bus, or on the central bus and created with it (HasOrganization),
    like its Lambda permission (test_no_lambda_permission_without_source_arn)."""
    on_central = 0
    for rule_id, rule in cfn.resources(template, "AWS::Events::Rule").items():
        p = rule["Properties"]
        if "EventBusName" not in p:
            # The custom action's rule exists with its action target (SecurityHubCustomAction),
            # the rule of read-only calls with ReadOnlyEvents=on.
            assert rule.get("Condition") in (None, "CreateSecurityHubAction", "ReadOnlyEventsOn"), rule_id
            continue
        on_central += 1
        assert p["EventBusName"] == {"Fn::GetAtt": ["CentralEventBus", "Name"]}, rule_id
        assert rule["Condition"] == "HasOrganization", rule_id
    assert on_central


# --- outputs and lint hygiene ---------------------------------------------------------------


def test_outputs(template):
    outputs = template["Outputs"]
    for name in [
        "AlertTopicArn",
        "DeadLetterQueueUrl",
        "GuardDutyFunctionName",
        "CloudTrailFunctionName",
        "ConfigFunctionName",
    ]:
        assert name in outputs
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "FailureQueue"}


def test_every_lint_skip_is_justified(template):
    """checkov skips carry a comment; cfn-lint ignores are preceded by a YAML comment."""
    for rid, res in template["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (rid, skip)
            assert len(skip.get("comment", "")) >= 40, f"{rid}: justify the skip of {skip['id']}"
        ignores = res.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks")
        if ignores:
            text = cfn.TEMPLATE.read_text(encoding="utf-8")
            for check in ignores:
                assert re.search(rf"#.*\n\s*- {check}\b|- {check}\s*#", text), (
                    f"{rid}: justify the cfn-lint ignore of {check} with a comment"
                )


@pytest.mark.parametrize("stack", ["mamoru", "prod-eu", "s" * MAX_STACK_NAME])
def test_each_function_finds_the_state_table_from_its_own_name(template, stack):
    """The environment has no room for the table's name, so a function listed in
    MAMORU_SELF_RESOURCES takes it from its own name (Settings::from_lookup): the last
    `-<function>` replaced by `-state`. That is the table's name, whatever the stack is called."""
    params = cfn.parameter_values(template, {"AWS::StackName": stack})
    table = cfn.fake_physical(template, params, "StateTable", None)
    assert table == f"mamoru-{stack}-state"
    for fid in FUNCTION_IDS:
        name = cfn.physical_name(template, params, fid)
        own = cfn.self_resources(cfn.environment(template, params, fid)["MAMORU_SELF_RESOURCES"])
        assert name in own, (fid, name)
        assert name.rsplit("-", 1)[0] + "-state" == table, (fid, name)
