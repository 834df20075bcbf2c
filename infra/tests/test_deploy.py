"""The stack deploys: infra/template.yaml, transformed by aws-sam-translator, created with
cloudformation:CreateStack on a moto server (HTTP, loopback), under every parameter combination
that changes what is created, then read back from moto and checked: functions and their
environment, roles with their policies and permissions boundary (evaluated with iam_eval), the
EventBridge rules with their patterns and targets, the topics, subscriptions, queue, alarms,
Config rules and every stack output. Then an update (dry-run to enforce) and a delete.

What moto cannot show: the functions' architecture (it records x86_64 whatever the template
says), and whether the real CloudFormation accepts what moto accepts (it validates every Ref and
GetAtt of the template whatever the conditions, and checks capabilities); cfn-lint covers those.
"""

from __future__ import annotations

import copy
import json

import pytest

import cfn
from moto_process import reset_moto
from deploy import ACCOUNT, REGION, Deployment, DeployFailed, clients, policy_document
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
    },
    "existing-topic": {"ExistingTopicArn": EXISTING_TOPIC},
    "config-rules": {"CreateConfigRules": "true", "ConfigRulesFrequency": "One_Hour"},
    "alert-email": {
        "AlertEmail": "security@example.com",
        "UrgentAlertEmail": "oncall@example.com",
        "GuardDutyMinSeverity": "4",
    },
}

FUNCTION_IDS = ["GuardDutyFunction", "CloudTrailFunction", "ConfigFunction"]


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


def role_arns(dep: Deployment) -> dict[str, str]:
    """mamoru function name -> the ARN of its deployed role."""
    return {f: dep.physical(r, "Arn") for f, r in cfn.function_roles(dep.template).items()}


def check_functions(dep: Deployment) -> None:
    lam, iam = dep.client("lambda"), dep.client("iam")
    roles = role_arns(dep)
    names = cfn.functions(dep.template)
    own_rules = [r["Name"] for r in dep.client("events").list_rules(NamePrefix=f"mamoru-{dep.stack}-")["Rules"]]
    assert len(own_rules) == len(cfn.resources(dep.template, "AWS::Events::Rule"))
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
        assert env["MAMORU_TOPIC_ARN"] == alert_topic(dep)
        dep.client("sns").get_topic_attributes(TopicArn=env["MAMORU_TOPIC_ARN"])
        assert str(env["MAMORU_MIN_REMEDIATION_SEVERITY"]) == dep.params["MinRemediationSeverity"]
        assert env["MAMORU_PROTECTED_PRINCIPALS"] == dep.params["ProtectedPrincipals"]
        assert sorted(env["MAMORU_SELF_ROLE_ARNS"].split(",")) == sorted(roles.values())
        # The stack's own rules and functions by name, its topics by ARN, read back from moto.
        own = sorted(own_rules + own_functions + [alert_topic(dep), dep.physical("AlarmTopic")])
        assert sorted(env["MAMORU_SELF_RESOURCES"].split(",")) == own, fid
        assert set(env) == {
            "MAMORU_MODE",
            "MAMORU_TOPIC_ARN",
            "MAMORU_MIN_REMEDIATION_SEVERITY",
            "MAMORU_PROTECTED_PRINCIPALS",
            "MAMORU_SELF_ROLE_ARNS",
            "MAMORU_SELF_RESOURCES",
        }
        invoke = lam.get_function_event_invoke_config(FunctionName=name, Qualifier="$LATEST")
        assert invoke["MaximumRetryAttempts"] == 2
        assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == dep.physical("FailureQueue", "Arn")
    groups = dep.client("logs").describe_log_groups(logGroupNamePrefix=f"{dep.stack}-")["logGroups"]
    assert len(groups) == 3
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
            assert allowed == (containment or action not in contained[function]), (function, action)
        assert who.allows("sns:Publish", alert_topic(dep)), function
        assert who.allows("sqs:SendMessage", dep.physical("FailureQueue", "Arn")), function
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
    deployed = ev.list_rules(NamePrefix=f"mamoru-{dep.stack}-")["Rules"]
    assert sorted(r["Name"] for r in deployed) == sorted(r["name"] for r in rules.values())
    invokers: dict[str, set[str]] = {}
    for rule_id, rule in rules.items():
        got = ev.describe_rule(Name=rule["name"])
        assert got["State"] == "ENABLED", rule_id
        assert json.loads(got["EventPattern"]) == rule["pattern"], rule_id
        (target,) = ev.list_targets_by_rule(Rule=rule["name"])["Targets"]
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
    rule_arns = {r["Arn"] for r in dep.client("events").list_rules(NamePrefix=f"mamoru-{dep.stack}-")["Rules"]}
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
        f"{dep.stack}-{s}" for s in ["dead-letters", "guardduty-errors", "cloudtrail-errors", "config-errors"]
    )
    functions = {dep.physical(f) for f in FUNCTION_IDS}
    seen = set()
    for a in alarms.values():
        assert a["AlarmActions"] == [dep.physical("AlarmTopic")]
        (dim,) = a["Dimensions"]
        if dim["Name"] == "FunctionName":
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
    }
    assert set(exists) >= set(outputs), f"add a check for the new outputs {set(outputs) - set(exists)}"
    for key, value in outputs.items():
        assert value, key
        exists[key](value)
    assert outputs["AlertTopicArn"] == alert_topic(dep)
    assert outputs["DeadLetterQueueUrl"] == dep.physical("FailureQueue")


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


def test_containment_rights_only_where_turned_on(deployments, permissions):
    contained = cfn.containment_only(permissions)["guardduty"]
    off = deployed_principals(deployments("defaults"))["guardduty"]
    on = deployed_principals(deployments("enforce-contain"))["guardduty"]
    for action in sorted(contained):
        assert not off.allows(action, OTHER_RESOURCE[action]), action
        assert on.allows(action, OTHER_RESOURCE[action]), action


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
    assert len(groups) == 3


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
