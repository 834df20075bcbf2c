"""The stack deploys: infra/template.yaml, transformed by aws-sam-translator, created with
cloudformation:CreateStack on a moto server (HTTP, loopback), under every parameter combination
that changes what is created, then read back from moto and checked: functions and their
environment, roles with their policies and permissions boundary (evaluated with iam_eval), the
EventBridge rules with their patterns and targets (on the default bus and, for an organization,
on the central bus with its policy), the topics, subscriptions, queue, alarms, Config rules and
every stack output. Then an update (dry-run to enforce) and a delete.

For an organization, infra/member.yaml is deployed in a second account of the moto server
(444455556666, reached through sts:AssumeRole from the hub's account, moto's default
123456789012), as a StackSet instance would be, and its member role, forwarding rules and the way
to the hub's central bus are read back.

What moto cannot show: the functions' architecture (it records x86_64 whatever the template
says), and whether the real CloudFormation accepts what moto accepts (it validates every Ref and
GetAtt of the template whatever the conditions, and checks capabilities); cfn-lint covers those.
Nor an update that adds resources: moto 5.2.5's UpdateStack from a stack serving its own account
to one serving an organization (OrganizationId set, the central bus and its rules added) drops
RolesPermissionsBoundary from the stack's resource list, so that update is not deployed here.
"""

from __future__ import annotations

import copy
import json

import pytest

import cfn
from moto_process import reset_moto
from deploy import (
    ACCOUNT,
    MEMBER_ACCOUNT,
    REGION,
    Deployment,
    DeployFailed,
    MemberStack,
    account_clients,
    clients,
    policy_document,
)
from iam_eval import Principal
from samples import OTHER_RESOURCE, POLICY_WRITES, ROLE_WRITES, other_resource

EXISTING_TOPIC_NAME = "security-alerts-mamoru"
EXISTING_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:{EXISTING_TOPIC_NAME}"

# Stack name -> parameter overrides. Each changes what the stack creates or how.
SCENARIOS = {
    "defaults": {},
    "enforce-contain": {
        "Mode": "enforce",
        "Containment": "on",
        "MinRemediationSeverity": "8",
        "ProtectedPrincipals": "arn:aws:iam::*:role/BreakGlass*",
        "GuardDutyMinSeverity": "7",
        "LogRetentionInDays": "731",
        "ReadOnlyEvents": "on",
        "RemediationBudgetPerAccount": "50",
        "RemediationBudgetPerPrincipal": "5",
        "RepeatQuietHours": "6",
    },
    "existing-topic": {"ExistingTopicArn": EXISTING_TOPIC},
    "config-rules": {"CreateConfigRules": "true", "ConfigRulesFrequency": "One_Hour", "PublishFindings": "off"},
    "alert-email": {
        "AlertEmail": "security@example.com",
        "UrgentAlertEmail": "oncall@example.com",
        "GuardDutyMinSeverity": "4",
    },
    "organization": {
        "OrganizationId": "o-a1b2c3d4e5",
        "MemberRoleName": "mamoru-member-prod",
        "AccountsAllow": f"{ACCOUNT},{MEMBER_ACCOUNT}",
        "AccountsDeny": "777788889999",
        "AccountModes": f"{MEMBER_ACCOUNT}=enforce,777788889999=dry-run",
    },
}

# The settings each function gets from the organization's parameters.
ORGANIZATION_SETTINGS = {
    "MAMORU_MEMBER_ROLE_NAME": "MemberRoleName",
    "MAMORU_ACCOUNTS_ALLOW": "AccountsAllow",
    "MAMORU_ACCOUNTS_DENY": "AccountsDeny",
    "MAMORU_ACCOUNT_MODES": "AccountModes",
}

FUNCTION_IDS = ["GuardDutyFunction", "CloudTrailFunction", "ConfigFunction", "SecurityHubFunction"]


@pytest.fixture(scope="session")
def deployments(moto_cfn_endpoint, template):
    """Deploys each scenario once, as a stack of that name, on first use."""
    reset_moto(moto_cfn_endpoint)
    client = clients(moto_cfn_endpoint)
    client("sns").create_topic(Name=EXISTING_TOPIC_NAME)
    done: dict[str, Deployment] = {}

    def get(scenario: str) -> Deployment:
        if scenario not in done:
            done[scenario] = Deployment(client, scenario, template).create(SCENARIOS[scenario])
        return done[scenario]

    yield get
    print("\ndeploy seconds per scenario: " + ", ".join(f"{k} {d.seconds:.1f}" for k, d in done.items()))


# --- checks on one deployment (also run by the test of the test) --------------------------------


def check_resources(dep: Deployment) -> None:
    """Every active resource moto models was created, and no inactive one."""
    from deploy import UNMODELED

    assert dep.status()[0] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    created = dep.stack_resources()
    wanted = {
        lid
        for lid, res in dep.transformed["Resources"].items()
        if res["Type"] not in UNMODELED and dep.active(lid)
    }
    assert set(created) == wanted
    for lid, r in created.items():
        assert r["ResourceStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), (lid, r)
        # moto gives Lambda permissions no physical id; check_rules reads them back instead.
        assert r["PhysicalResourceId"] or r["ResourceType"] == "AWS::Lambda::Permission", lid


def alert_topic(dep: Deployment) -> str:
    if dep.params["ExistingTopicArn"]:
        return dep.params["ExistingTopicArn"]
    return dep.physical("AlertTopic")


def central_bus(dep: Deployment) -> str | None:
    """The name of the stack's central event bus, None when it serves no organization."""
    return f"mamoru-{dep.stack}-central" if dep.params["OrganizationId"] else None


def deployed_rules(dep: Deployment) -> list[dict]:
    """The stack's rules as EventBridge lists them, on the default bus and on the central bus,
    each with its "Bus" (None: the default bus)."""
    ev = dep.client("events")
    out = [{**r, "Bus": None} for r in ev.list_rules(NamePrefix=f"mamoru-{dep.stack}-")["Rules"]]
    if central_bus(dep):
        out += [
            {**r, "Bus": central_bus(dep)}
            for r in ev.list_rules(NamePrefix=f"mamoru-{dep.stack}-", EventBusName=central_bus(dep))["Rules"]
        ]
    return out


def role_arns(dep: Deployment) -> dict[str, str]:
    """mamoru function name -> the ARN of its deployed role."""
    return {f: dep.physical(r, "Arn") for f, r in cfn.function_roles(dep.template).items()}


def check_functions(dep: Deployment) -> None:
    lam, iam = dep.client("lambda"), dep.client("iam")
    roles = role_arns(dep)
    names = cfn.functions(dep.template)
    own_rules = [r["Name"] for r in deployed_rules(dep)]
    assert len(own_rules) == len(cfn.rules(dep.template, dep.params))
    own_functions = [dep.physical(f) for f in FUNCTION_IDS]
    for fid in FUNCTION_IDS:
        name = dep.physical(fid)
        assert name == f"mamoru-{dep.stack}-{names[fid]}"
        conf = lam.get_function(FunctionName=name)["Configuration"]
        assert conf["Role"] == roles[names[fid]]
        iam.get_role(RoleName=conf["Role"].rsplit("/", 1)[1])  # the role exists
        assert conf["Runtime"] == "provided.al2023" and conf["Handler"] == "bootstrap"
        assert conf["MemorySize"] == 128 and conf["Timeout"] == 30
        env = conf["Environment"]["Variables"]
        assert env["MAMORU_MODE"] == dep.params["Mode"]
        # The one binary runs the function its name says.
        assert env["MAMORU_FUNCTION"] == names[fid]
        assert env["MIMALLOC_ARENA_EAGER_COMMIT"] == "0"
        assert env["MAMORU_TOPIC_ARN"] == alert_topic(dep)
        dep.client("sns").get_topic_attributes(TopicArn=env["MAMORU_TOPIC_ARN"])
        assert str(env["MAMORU_MIN_REMEDIATION_SEVERITY"]) == dep.params["MinRemediationSeverity"]
        assert env["MAMORU_PROTECTED_PRINCIPALS"] == dep.params["ProtectedPrincipals"]
        assert sorted(env["MAMORU_SELF_ROLE_ARNS"].split(",")) == sorted(roles.values())
        # The stack's own rules and functions by name, its topics by ARN, read back from moto.
        own = sorted(own_rules + own_functions + [alert_topic(dep), dep.physical("AlarmTopic")])
        assert sorted(cfn.self_resources(env["MAMORU_SELF_RESOURCES"])) == own, fid
        for variable, parameter in ORGANIZATION_SETTINGS.items():
            assert env[variable] == dep.params[parameter], (fid, variable)
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
            "MAMORU_SELF_RESOURCES",
            *ORGANIZATION_SETTINGS,
            # The cloudtrail function imports its detections into Security Hub.
            *(["MAMORU_PUBLISH_FINDINGS"] if fid == "CloudTrailFunction" else []),
        }
        if fid == "CloudTrailFunction":
            assert env["MAMORU_PUBLISH_FINDINGS"] == dep.params["PublishFindings"]
        assert str(env["MAMORU_BUDGET_PER_ACCOUNT"]) == dep.params["RemediationBudgetPerAccount"]
        assert str(env["MAMORU_BUDGET_PER_PRINCIPAL"]) == dep.params["RemediationBudgetPerPrincipal"]
        assert str(env["MAMORU_REPEAT_QUIET_HOURS"]) == dep.params["RepeatQuietHours"]
        invoke = lam.get_function_event_invoke_config(FunctionName=name, Qualifier="$LATEST")
        assert invoke["MaximumRetryAttempts"] == 2
        assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == dep.physical("FailureQueue", "Arn")
    groups = dep.client("logs").describe_log_groups(logGroupNamePrefix=f"{dep.stack}-")["logGroups"]
    assert len(groups) == len(FUNCTION_IDS)
    assert {g["retentionInDays"] for g in groups} == {int(dep.params["LogRetentionInDays"])}


def deployed_principals(dep: Deployment) -> dict[str, Principal]:
    """mamoru function name -> its deployed role's inline policies and boundary, read back."""
    iam = dep.client("iam")
    out = {}
    for function, role_arn in role_arns(dep).items():
        name = role_arn.rsplit("/", 1)[1]
        role = iam.get_role(RoleName=name)["Role"]
        boundary_arn = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
        policy = iam.get_policy(PolicyArn=boundary_arn)["Policy"]
        version = iam.get_policy_version(PolicyArn=boundary_arn, VersionId=policy["DefaultVersionId"])
        boundary = policy_document(version["PolicyVersion"]["Document"])["Statement"]
        identity = []
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            identity.extend(policy_document(doc)["Statement"])
        out[function] = Principal(identity, boundary, {"aws:RequestedRegion": REGION})
    return out


def check_roles(dep: Deployment, permissions: dict) -> None:
    iam = dep.client("iam")
    boundary_arn = dep.physical("RolesPermissionsBoundary")
    assert boundary_arn.startswith(f"arn:aws:iam::{ACCOUNT}:policy/mamoru/")
    roles = role_arns(dep)
    for role_arn in roles.values():
        assert role_arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/mamoru/")
        role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
        assert role["Path"] == "/mamoru/"
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary_arn
        trust = policy_document(role["AssumeRolePolicyDocument"])
        assert trust["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
        assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []

    containment = cfn.evaluate_condition(dep.template, dep.params, "ContainmentOn")
    expected = cfn.expected_actions(permissions, containment)
    # Grants under a stack condition (PublishFindings) only where it holds.
    off = cfn.gated_off(dep.template, dep.params)
    for function, actions in off.items():
        expected[function] = expected[function] - actions
    contained = cfn.containment_only(permissions)
    principals = deployed_principals(dep)
    for function, who in principals.items():
        # What the deployed role grants is what its function declares (under these parameters).
        granted = set()
        for st in who.identity:
            assert st["Effect"] == "Allow", st
            granted |= set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
        assert granted == expected[function], function
        # Declared actions are allowed on resources that are not mamoru's.
        for action in sorted(cfn.declared_actions(permissions)[function]):
            allowed = who.allows(action, other_resource(action, dep.stack))
            want = (containment or action not in contained[function]) and action not in off.get(function, set())
            assert allowed == want, (function, action)
        assert who.allows("sns:Publish", alert_topic(dep)), function
        assert who.allows("sqs:SendMessage", dep.physical("FailureQueue", "Arn")), function
        # The member role of a member account: only inside the organization, when there is one.
        org = dep.params["OrganizationId"]
        member_role = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/mamoru/{dep.params['MemberRoleName']}"
        for action in sorted(cfn.MEMBER_ROLE_ACTIONS):
            assert who.allows(action, member_role, {"aws:ResourceOrgID": org or "o-any0rg0000"}), (function, action)
            assert who.allows(action, member_role, {"aws:ResourceOrgID": "o-0ther0rg00"}) == (not org), (function, action)
            assert not who.allows(action, f"arn:aws:iam::{MEMBER_ACCOUNT}:role/OrganizationAccountAccessRole"), function
        # No IAM write on any of mamoru's roles or on the boundary, even with containment on.
        for arn in roles.values():
            for action in ROLE_WRITES:
                assert who.decide(action, arn) == "explicit-deny", (function, action, arn)
        for action in POLICY_WRITES:
            assert who.decide(action, boundary_arn) == "explicit-deny", (function, action)


def check_rules(dep: Deployment) -> None:
    ev, lam = dep.client("events"), dep.client("lambda")
    queue_arn = dep.physical("FailureQueue", "Arn")
    params = {**dep.params, "AWS::StackName": dep.stack}
    rules = cfn.rules(dep.template, params)
    deployed = deployed_rules(dep)
    assert sorted((r["Bus"] or "", r["Name"]) for r in deployed) == sorted(
        (r["bus"] or "", r["name"]) for r in rules.values()
    )
    invokers: dict[str, set[str]] = {}
    for rule_id, rule in rules.items():
        on_bus = {"EventBusName": rule["bus"]} if rule["bus"] else {}
        got = ev.describe_rule(Name=rule["name"], **on_bus)
        # As written: the rule of read-only calls in the state that delivers them.
        assert got["State"] == dep.template["Resources"][rule_id]["Properties"]["State"], rule_id
        assert got["State"] == (
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" if rule_id == "ReadOnlyCallsRule" else "ENABLED"
        ), rule_id
        assert json.loads(got["EventPattern"]) == rule["pattern"], rule_id
        (target,) = ev.list_targets_by_rule(Rule=rule["name"], **on_bus)["Targets"]
        (function,) = rule["functions"]
        fid = {v: k for k, v in cfn.functions(dep.template).items()}[function]
        assert target["Arn"] == dep.physical(fid, "Arn"), rule_id
        assert target["DeadLetterConfig"] == {"Arn": queue_arn}, rule_id
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, rule_id
        invokers.setdefault(dep.physical(fid), set()).add(got["Arn"])
    # Each function may be invoked by exactly the rules that target it.
    for name, rule_arns in invokers.items():
        policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
        sources = set()
        for st in policy["Statement"]:
            assert st["Principal"] == {"Service": "events.amazonaws.com"}, st
            assert st["Action"] == "lambda:InvokeFunction", st
            sources.add(st["Condition"]["ArnLike"]["AWS:SourceArn"])
        assert sources == rule_arns, name
    # The GuardDuty rule's severity floor follows its parameter.
    findings = ev.describe_rule(Name=f"mamoru-{dep.stack}-findings")
    pattern = json.loads(findings["EventPattern"])
    floor = dep.params["GuardDutyMinSeverity"]
    if floor == "0":
        assert "detail" not in pattern
    else:
        assert pattern["detail"]["severity"] == [{"numeric": [">=", int(floor)]}]


def check_topics_and_queue(dep: Deployment) -> None:
    sns, sqs = dep.client("sns"), dep.client("sqs")
    topics = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    own_alerts = f"arn:aws:sns:{REGION}:{ACCOUNT}:mamoru-{dep.stack}-alerts"
    alarms = dep.physical("AlarmTopic")
    assert alarms == f"arn:aws:sns:{REGION}:{ACCOUNT}:mamoru-{dep.stack}-alarms" and alarms in topics
    roles = sorted(role_arns(dep).values())
    if dep.params["ExistingTopicArn"]:
        assert own_alerts not in topics
        assert "AlertTopic" not in dep.stack_resources()
    else:
        assert own_alerts in topics
        attrs = sns.get_topic_attributes(TopicArn=own_alerts)["Attributes"]
        assert attrs["KmsMasterKeyId"] == "alias/aws/sns"
        policy = json.loads(attrs["Policy"])
        (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
        assert sorted(allow["Principal"]["AWS"]) == roles
        assert allow["Resource"] == own_alerts
    alarm_policy = json.loads(sns.get_topic_attributes(TopicArn=alarms)["Attributes"]["Policy"])
    (allow,) = [s for s in alarm_policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{dep.stack}-*"
    )

    url = dep.physical("FailureQueue")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["SqsManagedSseEnabled"] == "true"
    assert attrs["MessageRetentionPeriod"] == "1209600"
    policy = json.loads(attrs["Policy"])
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    rule_arns = {r["Arn"] for r in deployed_rules(dep)}
    assert set(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == rule_arns


def check_subscriptions(dep: Deployment) -> None:
    subs = dep.client("sns").list_subscriptions()["Subscriptions"]
    alerts, alarms = alert_topic(dep), dep.physical("AlarmTopic")
    mine = sorted(
        (s["TopicArn"], s["Protocol"], s["Endpoint"]) for s in subs if s["TopicArn"] in (alerts, alarms)
    )
    want = []
    for email in [dep.params["AlertEmail"], dep.params["UrgentAlertEmail"]]:
        if email:
            want += [(alerts, "email", email), (alarms, "email", email)]
    assert mine == sorted(want)
    for s in subs:
        if s["TopicArn"] == alerts and s["Endpoint"] == dep.params["UrgentAlertEmail"]:
            attrs = dep.client("sns").get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])
            assert json.loads(attrs["Attributes"]["FilterPolicy"]) == {"severity": ["HIGH", "CRITICAL"]}


def check_alarms(dep: Deployment) -> None:
    cw = dep.client("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=f"{dep.stack}-")["MetricAlarms"]}
    assert sorted(alarms) == sorted(
        f"{dep.stack}-{s}"
        for s in [
            "dead-letters", "guardduty-errors", "cloudtrail-errors", "config-errors", "securityhub-errors",
            "remediation-failures", "notification-failures",
        ]
    )
    functions = {dep.physical(f) for f in FUNCTION_IDS}
    seen = set()
    for a in alarms.values():
        assert a["AlarmActions"] == [dep.physical("AlarmTopic")]
        (dim,) = a["Dimensions"]
        if a["Namespace"] == "mamoru":
            # mamoru's own metrics (infra/tests/test_dashboard.py checks them against the code).
            assert (a["MetricName"], dim["Name"], dim["Value"]) in {
                ("Actions", "Status", "failed"),
                ("Failures", "ErrorClass", "notification"),
            }
        elif dim["Name"] == "FunctionName":
            assert dim["Value"] in functions
            seen.add(dim["Value"])
        else:
            assert dim == {"Name": "QueueName", "Value": dep.physical("FailureQueue", "QueueName")}
    assert seen == functions


def check_config_rules(dep: Deployment) -> None:
    rules = dep.client("config").describe_config_rules()["ConfigRules"]
    mine = {r["ConfigRuleName"]: r for r in rules if r["ConfigRuleName"].startswith(f"{dep.stack}-")}
    if dep.params["CreateConfigRules"] != "true":
        assert mine == {}
        return
    assert sorted(mine) == sorted(
        f"{dep.stack}-{s}"
        for s in ["cloudtrail-enabled", "multi-region-cloudtrail-enabled", "guardduty-enabled-centralized"]
    )
    for r in mine.values():
        assert r["Source"]["Owner"] == "AWS"
        assert r["MaximumExecutionFrequency"] == dep.params["ConfigRulesFrequency"]


def check_outputs(dep: Deployment) -> None:
    """Every output is there, non-empty, and names something that exists."""
    outputs = dep.outputs()
    wanted = {
        k for k, o in dep.transformed["Outputs"].items()
        if not o.get("Condition") or cfn.evaluate_condition(dep.template, dep.params, o["Condition"])
    }
    assert set(outputs) == wanted
    c = dep.client
    exists = {
        "AlertTopicArn": lambda v: c("sns").get_topic_attributes(TopicArn=v),
        "AlarmTopicArn": lambda v: c("sns").get_topic_attributes(TopicArn=v),
        "DeadLetterQueueUrl": lambda v: c("sqs").get_queue_attributes(QueueUrl=v),
        "GuardDutyFunctionName": lambda v: c("lambda").get_function(FunctionName=v),
        "CloudTrailFunctionName": lambda v: c("lambda").get_function(FunctionName=v),
        "ConfigFunctionName": lambda v: c("lambda").get_function(FunctionName=v),
        "SecurityHubFunctionName": lambda v: c("lambda").get_function(FunctionName=v),
        "CentralEventBusArn": lambda v: c("events").describe_event_bus(Name=v.rsplit("/", 1)[1]),
        "DashboardUrl": lambda v: c("cloudwatch").get_dashboard(DashboardName=v.rsplit("/", 1)[1]),
    }
    assert set(exists) >= set(outputs), f"add a check for the new outputs {set(outputs) - set(exists)}"
    for key, value in outputs.items():
        assert value, key
        exists[key](value)
    assert outputs["AlertTopicArn"] == alert_topic(dep)
    assert outputs["DeadLetterQueueUrl"] == dep.physical("FailureQueue")
    assert outputs["DashboardUrl"] == (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        f"#dashboards/dashboard/mamoru-{dep.stack}"
    )
    if central_bus(dep):
        assert outputs["CentralEventBusArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{central_bus(dep)}"


def check_central_bus(dep: Deployment) -> None:
    """For an organization: the central bus, admitting PutEvents from the organization only, and
    on it the twins of the default-bus rules, with the same patterns and targets. Otherwise no
    bus but the default one."""
    ev = dep.client("events")
    buses = sorted(b["Name"] for b in ev.list_event_buses()["EventBuses"] if b["Name"].startswith(f"mamoru-{dep.stack}-"))
    bus = central_bus(dep)
    if not bus:
        assert buses == []
        return
    assert buses == [bus]
    described = ev.describe_event_bus(Name=bus)
    policy = json.loads(described["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "OrganizationPutEvents",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": described["Arn"],
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": dep.params["OrganizationId"]}},
        }
    ]
    deployed = {(r["Bus"], r["Name"]): r for r in deployed_rules(dep)}
    rules = cfn.rules(dep.template, {**dep.params, "AWS::StackName": dep.stack})
    central = {lid: r for lid, r in rules.items() if r["bus"]}
    assert central and {r["bus"] for r in central.values()} == {bus}
    for lid, rule in central.items():
        twin = rules[lid[len(cfn.CENTRAL_PREFIX):]]  # Central<Rule>: the default bus's <Rule>
        got, want = deployed[(bus, rule["name"])], deployed[(None, twin["name"])]
        assert json.loads(got["EventPattern"]) == json.loads(want["EventPattern"]), lid
        assert ev.list_targets_by_rule(Rule=rule["name"], EventBusName=bus)["Targets"] == (
            ev.list_targets_by_rule(Rule=twin["name"])["Targets"]
        ), lid


def check_all(dep: Deployment, permissions: dict) -> None:
    check_resources(dep)
    check_functions(dep)
    check_roles(dep, permissions)
    check_rules(dep)
    check_topics_and_queue(dep)
    check_subscriptions(dep)
    check_alarms(dep)
    check_config_rules(dep)
    check_outputs(dep)
    check_central_bus(dep)


# --- the matrix ------------------------------------------------------------------------------

scenario = pytest.mark.parametrize("stack", list(SCENARIOS))


@scenario
def test_stack_is_created(deployments, stack):
    dep = deployments(stack)
    assert dep.status()[0] == "CREATE_COMPLETE"
    check_resources(dep)


@scenario
def test_functions_and_their_environment(deployments, stack):
    check_functions(deployments(stack))


@scenario
def test_roles_policies_and_boundary(deployments, permissions, stack):
    check_roles(deployments(stack), permissions)


@scenario
def test_rules_patterns_and_targets(deployments, stack):
    check_rules(deployments(stack))


@scenario
def test_topics_and_queue(deployments, stack):
    check_topics_and_queue(deployments(stack))


@scenario
def test_subscriptions(deployments, stack):
    check_subscriptions(deployments(stack))


@scenario
def test_alarms(deployments, stack):
    check_alarms(deployments(stack))


@scenario
def test_config_rules(deployments, stack):
    check_config_rules(deployments(stack))


@scenario
def test_outputs(deployments, stack):
    check_outputs(deployments(stack))


@scenario
def test_central_bus(deployments, stack):
    check_central_bus(deployments(stack))


def test_containment_rights_only_where_turned_on(deployments, permissions):
    contained = cfn.containment_only(permissions)["guardduty"]
    off = deployed_principals(deployments("defaults"))["guardduty"]
    on = deployed_principals(deployments("enforce-contain"))["guardduty"]
    for action in sorted(contained):
        assert not off.allows(action, OTHER_RESOURCE[action]), action
        assert on.allows(action, OTHER_RESOURCE[action]), action


# --- a member account: infra/member.yaml as a StackSet instance creates it ------------------------
#
# These run before the tests below that reset moto (`fresh`): the member stack forwards to the
# central bus of the "organization" deployment.

MEMBER_STACK = "StackSet-mamoru-member-0a1b2c3d-4e5f"


def member_parameters(hub: Deployment, containment: str) -> dict[str, str]:
    """What the StackSet is given: the hub's account, organization, central bus (its output) and
    member role name."""
    return {
        "HubAccountId": ACCOUNT,
        "OrganizationId": hub.params["OrganizationId"],
        "CentralEventBusArn": hub.outputs()["CentralEventBusArn"],
        "MemberRoleName": hub.params["MemberRoleName"],
        "PrimaryRegion": REGION,
        "Containment": containment,
    }


@pytest.fixture(scope="session")
def member_template() -> dict:
    return cfn.load_member_template()


@pytest.fixture(scope="session")
def member_stack(deployments, moto_cfn_endpoint, member_template):
    """The hub serving the organization, and infra/member.yaml created in the member account
    444455556666 (reached through sts:AssumeRole), in the primary region, containment on."""
    hub = deployments("organization")
    client = account_clients(moto_cfn_endpoint, MEMBER_ACCOUNT)
    stack = MemberStack(client, MEMBER_STACK, member_template, member_parameters(hub, "on")).create()
    return hub, stack


def _member_params(member_template: dict, stack: MemberStack, account: str, region: str) -> dict[str, str]:
    return cfn.parameter_values(member_template, {**stack.params, "AWS::AccountId": account, "AWS::Region": region})


def test_member_stack_is_created_in_the_member_account(member_stack, member_template):
    _, stack = member_stack
    params = _member_params(member_template, stack, MEMBER_ACCOUNT, REGION)
    want = {
        lid
        for lid, res in member_template["Resources"].items()
        if cfn.active(member_template, params, res) and res["Type"] != "AWS::CloudFormation::WaitConditionHandle"
    }
    got = stack.resources()
    assert set(got) == want
    assert {"MemberRole", "MemberRolePermissionsBoundary", "ForwardingRole"} <= want
    for lid, r in got.items():
        assert r["ResourceStatus"] == "CREATE_COMPLETE", lid


def test_member_role_exists_in_the_member_account_only(member_stack, permissions):
    """The member role is readable in the member account, at the ARN the hub's functions assume
    (role/mamoru/<MemberRoleName>), with its boundary, its trust in the hub's function roles
    inside the organization, and the registry's grants; the hub's account has no such role."""
    hub, stack = member_stack
    name = hub.params["MemberRoleName"]
    iam = stack.client("iam")
    role = iam.get_role(RoleName=name)["Role"]
    arn = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/mamoru/{name}"
    assert role["Arn"] == arn and role["Path"] == "/mamoru/"
    assert stack.outputs()["MemberRoleArn"] == arn
    boundary = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert boundary == stack.resources()["MemberRolePermissionsBoundary"]["PhysicalResourceId"]
    assert boundary.startswith(f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/mamoru/")
    assert policy_document(role["AssumeRolePolicyDocument"])["Statement"] == [
        {
            "Sid": "MamoruHubFunctions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/mamoru/*"},
                "StringEquals": {"aws:PrincipalOrgID": hub.params["OrganizationId"]},
            },
        }
    ]
    # The registry's grants (containment on), read back from the deployed role.
    (policy_name,) = iam.list_role_policies(RoleName=name)["PolicyNames"]
    statements = policy_document(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])["Statement"]
    granted = set()
    for st in statements:
        granted |= set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    assert granted == cfn.union_of_grants(permissions, containment=True)
    boundary_doc = iam.get_policy_version(
        PolicyArn=boundary, VersionId=iam.get_policy(PolicyArn=boundary)["Policy"]["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    who = Principal(statements, policy_document(boundary_doc)["Statement"])
    assert who.decide("iam:PutRolePolicy", arn) == "explicit-deny"
    assert who.allows("iam:PutRolePolicy", f"arn:aws:iam::{MEMBER_ACCOUNT}:role/app/exfiltrated-app")
    assert who.allows("cloudtrail:StartLogging", f"arn:aws:cloudtrail:eu-west-1:{MEMBER_ACCOUNT}:trail/org-trail")
    # Not in the hub's account.
    with pytest.raises(hub.client("iam").exceptions.NoSuchEntityException):
        hub.client("iam").get_role(RoleName=name)
    # The hub's function roles are what the trust admits, and may assume this role.
    for role_arn in role_arns(hub).values():
        assert role_arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/mamoru/")
    for function, who_hub in deployed_principals(hub).items():
        assert who_hub.allows("sts:AssumeRole", arn, {"aws:ResourceOrgID": hub.params["OrganizationId"]}), function


def test_member_forwards_to_the_hubs_central_bus(member_stack):
    """The member's forwarding rules carry the patterns of the hub's central rules, as deployed,
    and target the hub's central bus with the forwarding role, which may put events there and
    nowhere else."""
    hub, stack = member_stack
    ev, hub_ev = stack.client("events"), hub.client("events")
    bus = central_bus(hub)
    bus_arn = hub.outputs()["CentralEventBusArn"]
    forwarding = {r["Name"]: r for r in ev.list_rules(NamePrefix="mamoru-forward-")["Rules"]}
    central = {r["Name"]: r for r in hub_ev.list_rules(EventBusName=bus)["Rules"]}
    assert len(forwarding) == len(central)
    forwarding_role = stack.resources()["ForwardingRole"]["PhysicalResourceId"]
    role_arn = stack.client("iam").get_role(RoleName=forwarding_role)["Role"]["Arn"]
    assert role_arn.startswith(f"arn:aws:iam::{MEMBER_ACCOUNT}:role/mamoru/")
    for name, rule in forwarding.items():
        suffix = name[len("mamoru-forward-"):]
        (twin,) = [c for c in central.values() if json.loads(c["EventPattern"]) == json.loads(rule["EventPattern"])]
        assert twin["Name"].startswith(f"mamoru-{hub.stack}-org-"), (name, twin["Name"])
        assert rule["State"] == "ENABLED"
        (target,) = ev.list_targets_by_rule(Rule=name)["Targets"]
        assert (target["Arn"], target["RoleArn"]) == (bus_arn, role_arn), name
        assert suffix, name
    iam = stack.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName=forwarding_role)["PolicyNames"]
    doc = policy_document(iam.get_role_policy(RoleName=forwarding_role, PolicyName=policy_name)["PolicyDocument"])
    assert doc["Statement"] == [{"Sid": "PutOnTheCentralBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn}]


def test_a_members_stop_logging_travels_to_the_central_rule(member_stack):
    """GIVEN both stacks as deployed, WHEN the member's default bus gets a StopLogging call, THEN
    the hub's central trail-tamper rule matches it. moto cannot invoke the function, and a Lambda
    target makes its PutEvents fail (NotImplementedError, a 500): for the test, the rule's
    function target is swapped for a queue, and put back after."""
    hub, stack = member_stack
    hub_ev, sqs = hub.client("events"), hub.client("sqs")
    bus = central_bus(hub)
    rule = f"mamoru-{hub.stack}-org-trail-tamper"
    (function_target,) = hub_ev.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    assert function_target["Arn"] == hub.physical("CloudTrailFunction", "Arn")
    url = sqs.create_queue(QueueName="observe-central-trail-tamper")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    hub_ev.remove_targets(Rule=rule, EventBusName=bus, Ids=[function_target["Id"]])
    hub_ev.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "observe", "Arn": queue_arn}])
    try:
        event = json.loads((cfn.FIXTURES / "aws.cloudtrail" / "ct-stop-logging.json").read_text(encoding="utf-8"))
        resp = stack.client("events").put_events(
            Entries=[{"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}]
        )
        assert resp["FailedEntryCount"] == 0
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert [json.loads(m["Body"])["detail"] for m in msgs] == [event["detail"]]
    finally:
        hub_ev.remove_targets(Rule=rule, EventBusName=bus, Ids=["observe"])
        hub_ev.put_targets(Rule=rule, EventBusName=bus, Targets=[function_target])
        sqs.delete_queue(QueueUrl=url)
    assert hub_ev.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"] == [function_target]


def test_member_stack_in_another_region_forwards_without_a_role(member_stack, moto_cfn_endpoint, member_template):
    """A second region's instance creates its forwarding rules and role, not the member role
    (IAM is global: the primary region's instance has it)."""
    hub, first = member_stack
    client = account_clients(moto_cfn_endpoint, MEMBER_ACCOUNT, "eu-west-1")
    roles_before = {r["RoleName"] for r in client("iam").list_roles()["Roles"]}
    stack = MemberStack(client, MEMBER_STACK, member_template, first.params).create()
    params = _member_params(member_template, stack, MEMBER_ACCOUNT, "eu-west-1")
    assert set(stack.resources()) == {
        lid for lid, res in member_template["Resources"].items() if cfn.active(member_template, params, res)
    }
    assert "MemberRole" not in stack.resources()
    new_roles = {r["RoleName"] for r in client("iam").list_roles()["Roles"]} - roles_before
    assert new_roles == {stack.resources()["ForwardingRole"]["PhysicalResourceId"]}
    assert len(client("events").list_rules(NamePrefix="mamoru-forward-")["Rules"]) == len(
        first.client("events").list_rules(NamePrefix="mamoru-forward-")["Rules"]
    )


def test_member_stack_in_the_hub_account_creates_nothing(member_stack, moto_cfn_endpoint, member_template):
    """The StackSet may reach the hub's account too (an OU holding it): nothing is created there,
    the hub handles its own account's events on its default bus."""
    hub, first = member_stack
    stack = MemberStack(hub.client, "StackSet-mamoru-member-hub", member_template, first.params).create()
    assert stack.resources() == {}
    with pytest.raises(hub.client("iam").exceptions.NoSuchEntityException):
        hub.client("iam").get_role(RoleName=first.params["MemberRoleName"])
    assert hub.client("events").list_rules(NamePrefix="mamoru-forward-")["Rules"] == []


# --- update and delete -------------------------------------------------------------------------


@pytest.fixture
def fresh(moto_cfn_endpoint):
    reset_moto(moto_cfn_endpoint)
    return clients(moto_cfn_endpoint)


def test_update_from_dry_run_to_enforce(fresh, template, permissions):
    dep = Deployment(fresh, "upgrade", template).create()
    before = role_arns(dep)
    dep.update({"Mode": "enforce", "Containment": "on"})
    assert dep.status()[0] == "UPDATE_COMPLETE"
    check_all(dep, permissions)
    assert role_arns(dep) == before  # the roles are updated in place, not replaced
    conf = fresh("lambda").get_function(FunctionName="mamoru-upgrade-guardduty")["Configuration"]
    assert conf["Environment"]["Variables"]["MAMORU_MODE"] == "enforce"


def test_delete_removes_the_stack_and_keeps_the_log_groups(fresh, template):
    dep = Deployment(fresh, "teardown", template).create({"AlertEmail": "security@example.com"})
    functions = [dep.physical(f) for f in FUNCTION_IDS]
    roles = [arn.rsplit("/", 1)[1] for arn in role_arns(dep).values()]
    assert dep.delete() == "DELETE_COMPLETE"
    assert fresh("events").list_rules(NamePrefix="mamoru-teardown-")["Rules"] == []
    names = {f["FunctionName"] for f in fresh("lambda").list_functions()["Functions"]}
    assert not names & set(functions)
    existing_roles = {r["RoleName"] for r in fresh("iam").list_roles()["Roles"]}
    assert not existing_roles & set(roles)
    topics = {t["TopicArn"] for t in fresh("sns").list_topics()["Topics"]}
    assert not any(":mamoru-teardown-" in t for t in topics)
    assert fresh("sqs").list_queues(QueueNamePrefix="teardown-").get("QueueUrls", []) == []
    # The log groups are the audit record: DeletionPolicy Retain.
    groups = fresh("logs").describe_log_groups(logGroupNamePrefix="teardown-")["logGroups"]
    assert len(groups) == len(FUNCTION_IDS)


# --- the test of the test ------------------------------------------------------------------------


def _broken_containment_statement(template: dict) -> dict:
    """The revoke_role_sessions statement names a resource that does not exist, under the
    ContainmentOn condition."""
    t = copy.deepcopy(template)
    statements = t["Resources"]["GuardDutyFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (st,) = [s for s in statements if "Fn::If" in s and s["Fn::If"][1]["Sid"] == "RevokeRoleSessions"]
    st["Fn::If"][1]["Resource"] = {"Fn::GetAtt": ["QuarantineTargetRole", "Arn"]}
    return t


def _broken_subscription(template: dict) -> dict:
    """The alert email subscription (a resource moto does not model) names a missing topic."""
    t = copy.deepcopy(template)
    t["Resources"]["AlertEmailSubscription"]["Properties"]["TopicArn"] = {"Ref": "MissingTopic"}
    return t


@pytest.mark.parametrize(
    "breaks,scenario_name,missing",
    [
        (_broken_containment_statement, "enforce-contain", "QuarantineTargetRole"),
        (_broken_subscription, "alert-email", "MissingTopic"),
    ],
    ids=["missing-ref-under-ContainmentOn", "missing-ref-in-unmodeled-subscription"],
)
def test_a_broken_template_fails_the_deploy_check(fresh, template, permissions, breaks, scenario_name, missing):
    """GIVEN a reference to a missing logical id under a condition only one scenario of the
    matrix activates, THEN deploying and checking that scenario fails, while the default
    scenario, which does not activate it, still passes (the matrix is what catches it)."""
    broken = breaks(template)
    check_all(Deployment(fresh, "broken-defaults", broken).create(), permissions)
    with pytest.raises(DeployFailed, match=missing):
        check_all(Deployment(fresh, "broken", broken).create(SCENARIOS[scenario_name]), permissions)
