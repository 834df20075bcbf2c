"""Permissions: each function's role grants exactly what its actions declare.

GIVEN `mamoru permissions` (the IAM permissions each function's remediation actions declare)
THEN the function's role in infra/template.yaml allows exactly those actions, plus writing its
own log group (logs:CreateLogStream, logs:PutLogEvents), publishing its alerts (sns:Publish)
and the Lambda on-failure destination (sqs:SendMessage), each on the narrowest resource the
Service Authorization Reference allows; the permissions only containment actions use are granted
with Containment=on and not otherwise (`mamoru permissions --containment`).
"""

from __future__ import annotations

import copy
import json

import pytest

import cfn

# Actions whose Service Authorization Reference entry has no resource type: they only accept
# Resource "*". Any other action must name resources.
NO_RESOURCE_TYPE = {
    "cloudtrail:DescribeTrails",
    "guardduty:ListDetectors",
    "guardduty:CreateDetector",
    "config:StartConfigurationRecorder",
    "config:DescribeConfigurationRecorderStatus",
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    # The log destination lookup (shared/src/lookup.rs): lists flow logs.
    "ec2:DescribeFlowLogs",
    # Settings of an account and region (the Service Authorization Reference lists no resource
    # type for them).
    "ec2:GetEbsEncryptionByDefault",
    "ec2:GetSerialConsoleAccessStatus",
    "ec2:DisableSerialConsoleAccess",
    "ec2:EnableEbsEncryptionByDefault",
    # The account's S3 Block Public Access setting (S3 Control).
    "s3:GetAccountPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock",
    # Route 53 Domains has no resource types at all.
    "route53domains:GetDomainDetail",
    "route53domains:EnableDomainTransferLock",
    "route53domains:CancelDomainTransferToAnotherAwsAccount",
}
# Of those, the ones that change something: held to the stack's region by a condition.
NO_RESOURCE_TYPE_WRITES = {
    "guardduty:CreateDetector",
    "config:StartConfigurationRecorder",
    "ec2:DisableSerialConsoleAccess",
    "ec2:EnableEbsEncryptionByDefault",
    "s3:PutAccountPublicAccessBlock",
}

USERS = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}
# This stack's own EventBridge rules (named mamoru-<stack>-<suffix>) on the default bus.
OWN_RULES = {
    "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/mamoru-${AWS::StackName}-*"
}
# The member role of infra/member.yaml, in any account (of the organization, by a condition, when
# OrganizationId is given).
MEMBER_ROLES = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/mamoru/${MemberRoleName}"}

ALERT_TOPIC = {"Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingTopicArn"}]}
DLQ = {"Fn::GetAtt": ["FailureQueue", "Arn"]}
LOG_GROUP = {
    "guardduty": {"Fn::GetAtt": ["GuardDutyLogGroup", "Arn"]},
    "cloudtrail": {"Fn::GetAtt": ["CloudTrailLogGroup", "Arn"]},
    "config": {"Fn::GetAtt": ["ConfigLogGroup", "Arn"]},
    "securityhub": {"Fn::GetAtt": ["SecurityHubLogGroup", "Arn"]},
}

# What a function's role holds beside its actions' grants: its log group, its alerts, its
# on-failure destination and the member role of the organization. The actions' own grants,
# resources and conditions included, come from the registry (`mamoru permissions --grants`).
PLUMBING_RESOURCE_OF = {
    "sns:Publish": ALERT_TOPIC,
    "sqs:SendMessage": DLQ,
    **{a: MEMBER_ROLES for a in cfn.MEMBER_ROLE_ACTIONS},
}

STACK_REGION = {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
# Route 53 Domains is served in us-east-1 only: its writes are held there, whatever the stack's
# region.
DOMAINS_REGION = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
DOMAINS_WRITES = {
    "route53domains:EnableDomainTransferLock",
    "route53domains:CancelDomainTransferToAnotherAwsAccount",
}


def _key(action: str, resources, condition) -> tuple:
    resources = resources if isinstance(resources, list) else [resources]
    return (
        action,
        frozenset(json.dumps(r, sort_keys=True) for r in resources),
        json.dumps(condition, sort_keys=True) if condition else None,
    )


def _condition(st: dict) -> dict | None:
    """A registry statement's condition as the template writes it."""
    if not st.get("condition"):
        return None
    if st["condition"] == "leading_keys":
        # The state table: the function's own key patterns, as `mamoru permissions --grants`
        # names them.
        return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": st["leading_keys"]}}
    return {"stack_region": STACK_REGION, "domains_region": DOMAINS_REGION}[st["condition"]]


def registry_grants(grants: dict, function: str, containment: bool, gates: dict[str, bool] | None = None) -> set[tuple]:
    """(IAM action, resources, condition) for every statement the registry declares for a
    function, the containment ones only when containment is on, and those under a stack
    condition (`when`) only when `gates` says it holds (default: every such condition holds,
    as at the parameters' defaults)."""
    out = set()
    for st in grants[function]:
        if st["containment"] and not containment:
            continue
        if st.get("when") and not (gates or {}).get(st["when"], True):
            continue
        resources = [r if r == "*" else {"Fn::Sub": r} for r in st["resources"]]
        condition = _condition(st)
        out.add(_key(st["action"], resources, condition))
    return out


def template_grants(template: dict, role_id: str, params: dict[str, str]) -> set[tuple]:
    """(IAM action, resources, condition) for every action statement of a role (plumbing left
    out), each action of a statement on its own."""
    out = set()
    for st in cfn.role_statements(template, role_id, params):
        for action in cfn._as_list(st["Action"]):
            if action.startswith("logs:") or action in PLUMBING_RESOURCE_OF:
                continue
            out.add(_key(action, st["Resource"], st.get("Condition")))
    return out


# Every statement of every role: containment on.
ALL = cfn.CONTAINMENT_ON


PUBLISH_OFF = {"PublishFindings": "off"}


@pytest.mark.parametrize(
    "overrides",
    [{}, cfn.CONTAINMENT_OFF, cfn.CONTAINMENT_ON, PUBLISH_OFF],
    ids=["defaults", "off", "on", "publish-off"],
)
def test_roles_grant_exactly_the_declared_permissions(template, permissions, overrides):
    assert cfn.compare_permissions(template, permissions, overrides) == []


def test_publishing_findings_is_on_by_default_and_granted_only_when_on(template, grants):
    """The cloudtrail function's Security Hub import: the stack parameter PublishFindings is on
    by default; its grant is the registry's (`by: publish_findings`, under PublishFindingsOn),
    on the default product of the stack's account and region, in the cloudtrail role only when
    on, and the function is told (MAMORU_PUBLISH_FINDINGS)."""
    p = template["Parameters"]["PublishFindings"]
    assert p["Default"] == "on" and sorted(p["AllowedValues"]) == ["off", "on"]
    (st,) = [s for s in grants["cloudtrail"] if s["by"] == ["publish_findings"]]
    assert st["action"] == "securityhub:BatchImportFindings"
    assert st["when"] == "PublishFindingsOn"
    assert st["resources"] == [
        "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"
    ]
    roles = cfn.function_roles(template)
    for value, granted in [("on", True), ("off", False)]:
        params = cfn.parameter_values(template, {**cfn.CONTAINMENT_ON, "PublishFindings": value})
        for function, role_id in roles.items():
            has = "securityhub:BatchImportFindings" in cfn.granted_actions(template, role_id, params)
            assert has == (granted and function == "cloudtrail"), (value, function)
        env = cfn.environment(template, params, "CloudTrailFunction")
        assert env["MAMORU_PUBLISH_FINDINGS"] == value


def test_the_log_destination_lookup_is_granted_to_the_cloudtrail_role_and_the_member_role(template, grants, permissions):
    """The log destination lookup (shared/src/lookup.rs): its two reads are the registry's
    (`by: log_destination_lookup`, no resource type, always granted), held by the cloudtrail
    function's role under every parameter set, and owed by the member role (the lookup is made in
    the account that owns the key or group)."""
    lookup = [s for s in grants["cloudtrail"] if s["by"] == ["log_destination_lookup"]]
    assert sorted(s["action"] for s in lookup) == ["cloudtrail:DescribeTrails", "ec2:DescribeFlowLogs"]
    for st in lookup:
        assert st["resources"] == ["*"] and not st.get("when") and not st["containment"], st
    for function, statements in grants.items():
        if function != "cloudtrail":
            assert not [s for s in statements if "log_destination_lookup" in s["by"]], function
    role = cfn.function_roles(template)["cloudtrail"]
    for overrides in [{}, cfn.CONTAINMENT_OFF, cfn.CONTAINMENT_ON, PUBLISH_OFF]:
        params = cfn.parameter_values(template, overrides)
        granted = cfn.granted_actions(template, role, params)
        assert {"cloudtrail:DescribeTrails", "ec2:DescribeFlowLogs"} <= granted, overrides
    # They are in `mamoru permissions` of the cloudtrail function, not hub-only: the member role
    # must grant them (test_member compares it with the registry both ways).
    assert {"cloudtrail:DescribeTrails", "ec2:DescribeFlowLogs"} <= cfn.union_of_grants(permissions, containment=False)


def test_containment_is_off_by_default(template):
    p = template["Parameters"]["Containment"]
    assert p["Default"] == "off" and sorted(p["AllowedValues"]) == ["off", "on"]
    assert template["Conditions"]["ContainmentOn"] == {"Fn::Equals": [{"Ref": "Containment"}, "on"]}


def test_default_parameters_grant_no_containment_permission(template, permissions):
    """With every parameter at its default, no role grants a permission that only containment
    actions use, and each of those is granted with Containment=on."""
    contained = cfn.containment_only(permissions)
    assert contained["guardduty"] and contained["config"], contained
    defaults = cfn.parameter_values(template)
    on = cfn.parameter_values(template, cfn.CONTAINMENT_ON)
    for function, role_id in cfn.function_roles(template).items():
        assert not cfn.granted_actions(template, role_id, defaults) & contained[function], role_id
        assert contained[function] <= cfn.granted_actions(template, role_id, on), role_id


def test_containment_permissions_are_declared_permissions(permissions):
    """`mamoru permissions --containment` names, per function, a part of what `mamoru
    permissions` declares: the template grants that part only with Containment=on."""
    declared = cfn.declared_actions(permissions)
    contained = cfn.containment_permissions()
    assert set(contained) == set(declared)
    for function, actions in contained.items():
        assert actions <= declared[function], (function, actions - declared[function])


def test_containment_statements_are_conditional_as_a_whole(template, permissions):
    """A statement granting a containment-only permission is `!If [ContainmentOn, statement,
    !Ref AWS::NoValue]` and grants nothing else."""
    contained = cfn.containment_only(permissions)
    for function, role_id in cfn.function_roles(template).items():
        for policy in template["Resources"][role_id]["Properties"]["Policies"]:
            for st in policy["PolicyDocument"]["Statement"]:
                if "Fn::If" in st and st["Fn::If"][0] == "PublishFindingsOn":
                    # The Security Hub import, under its own parameter (not containment).
                    assert st["Fn::If"][1]["Action"] == "securityhub:BatchImportFindings", st
                elif "Fn::If" in st:
                    cond, yes, no = st["Fn::If"]
                    assert cond == "ContainmentOn" and no == {"Ref": "AWS::NoValue"}, st
                    actions = set(yes["Action"] if isinstance(yes["Action"], list) else [yes["Action"]])
                    assert actions <= contained[function], (role_id, actions)
                else:
                    actions = set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
                    assert not actions & contained[function], (role_id, st["Sid"])


def test_one_role_per_function(template):
    roles = cfn.function_roles(template)
    assert sorted(roles) == ["cloudtrail", "config", "guardduty", "securityhub"]
    assert len(set(roles.values())) == 4, roles
    for role_id in roles.values():
        assert template["Resources"][role_id]["Type"] == "AWS::IAM::Role"


def _without_action(template: dict, role_id: str, action: str, params: dict[str, str]) -> dict:
    t = copy.deepcopy(template)
    for policy in t["Resources"][role_id]["Properties"]["Policies"]:
        statements = cfn.policy_statements(t, params, policy["PolicyDocument"])
        for st in statements:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            st["Action"] = [a for a in actions if a != action]
        policy["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"]]
    return t


@pytest.mark.parametrize(
    "function,action",
    [
        ("guardduty", "iam:UpdateAccessKey"),
        ("guardduty", "iam:PutRolePolicy"),
        ("guardduty", "ec2:ModifyInstanceAttribute"),
        ("guardduty", "s3:PutBucketPublicAccessBlock"),
        ("cloudtrail", "config:StartConfigurationRecorder"),
        ("cloudtrail", "events:EnableRule"),
        ("cloudtrail", "cloudtrail:PutEventSelectors"),
        ("cloudtrail", "guardduty:UpdateIPSet"),
        ("config", "ec2:RevokeSecurityGroupIngress"),
        ("config", "cloudtrail:GetTrailStatus"),
        ("config", "sns:Publish"),
    ],
)
def test_a_permission_missing_from_the_template_is_reported(template, permissions, function, action):
    role_id = cfn.function_roles(template)[function]
    params = cfn.parameter_values(template, ALL)
    broken = _without_action(template, role_id, action, params)
    assert action not in cfn.granted_actions(broken, role_id, params)
    assert cfn.compare_permissions(broken, permissions, ALL) == [
        f"{function}: role {role_id} is missing {action}"
    ]


def test_a_containment_permission_granted_unconditionally_is_reported(template, permissions):
    """GIVEN iam:PutRolePolicy granted outside the ContainmentOn condition, THEN the default
    deployment is reported as granting it."""
    t = copy.deepcopy(template)
    role_id = cfn.function_roles(t)["guardduty"]
    statements = t["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for i, st in enumerate(statements):
        if "Fn::If" in st and st["Fn::If"][1]["Sid"] == "RevokeRoleSessions":
            statements[i] = st["Fn::If"][1]
    assert cfn.compare_permissions(t, permissions) == [
        f"guardduty: role {role_id} grants iam:PutRolePolicy, which no action declares"
    ]


def test_an_action_added_on_the_rust_side_without_its_permission_fails(template, permissions):
    """GIVEN a new action declaring ec2:CreateSnapshot for the config function,
    WHEN the template is not updated, THEN the comparison names the missing permission."""
    declared = copy.deepcopy(permissions)
    declared["config"] = [*declared["config"], "ec2:CreateSnapshot"]
    role_id = cfn.function_roles(template)["config"]
    assert cfn.compare_permissions(template, declared, ALL) == [
        f"config: role {role_id} is missing ec2:CreateSnapshot"
    ]


def test_a_permission_no_action_declares_is_reported(template, permissions):
    t = copy.deepcopy(template)
    role_id = cfn.function_roles(t)["guardduty"]
    t["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "iam:DeleteAccessKey", "Resource": USERS}
    )
    assert cfn.compare_permissions(t, permissions) == [
        f"guardduty: role {role_id} grants iam:DeleteAccessKey, which no action declares"
    ]


@pytest.mark.parametrize("containment", [False, True], ids=["containment-off", "containment-on"])
def test_the_roles_statements_are_the_registrys_grants_resources_and_conditions_included(
    template, grants, containment
):
    """Both ways: every statement the registry declares for a function is in its role, with the
    same resources and condition, and the role holds no action statement the registry does not
    declare."""
    params = cfn.parameter_values(template, cfn.CONTAINMENT_ON if containment else cfn.CONTAINMENT_OFF)
    for function, role_id in cfn.function_roles(template).items():
        want = registry_grants(grants, function, containment)
        got = template_grants(template, role_id, params)
        assert want, function
        assert sorted(want - got) == [], f"{role_id} lacks these grants of the registry"
        assert sorted(got - want) == [], f"{role_id} grants what no action of the registry declares"


def test_a_grant_on_a_wider_resource_than_the_registry_declares_is_reported(template, grants):
    """GIVEN iam:UpdateAccessKey granted on every IAM resource instead of user/*, THEN the
    comparison names it both ways."""
    t = copy.deepcopy(template)
    role_id = cfn.function_roles(t)["guardduty"]
    for st in t["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if isinstance(st, dict) and st.get("Sid") == "DeactivateAccessKey":
            st["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:*"}
    params = cfn.parameter_values(t, cfn.CONTAINMENT_OFF)
    want = registry_grants(grants, "guardduty", False)
    got = template_grants(t, role_id, params)
    assert [k[0] for k in want - got] == ["iam:UpdateAccessKey"]
    assert [k[0] for k in got - want] == ["iam:UpdateAccessKey"]


def test_a_condition_dropped_from_a_grant_is_reported(template, grants):
    """GIVEN config:StartConfigurationRecorder granted without its region condition, THEN the
    comparison names it."""
    t = copy.deepcopy(template)
    role_id = cfn.function_roles(t)["cloudtrail"]
    for st in t["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if isinstance(st, dict) and "config:StartConfigurationRecorder" in cfn._as_list(st.get("Action", [])):
            st.pop("Condition")
    params = cfn.parameter_values(t, cfn.CONTAINMENT_OFF)
    missing = registry_grants(grants, "cloudtrail", False) - template_grants(t, role_id, params)
    assert [k[0] for k in missing] == ["config:StartConfigurationRecorder"]


def test_plumbing_is_granted_on_its_own_resource(template):
    """Beside the registry's grants, a role holds only its log group, its alert topic, its
    on-failure queue and the member role, each on exactly that resource."""
    params = cfn.parameter_values(template, ALL)
    for function, role_id in cfn.function_roles(template).items():
        for st in cfn.role_statements(template, role_id, params):
            assert st["Effect"] == "Allow", (role_id, st)
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for action in actions:
                assert "*" not in action, f"{role_id}: wildcard action {action}"
                if action.startswith("logs:"):
                    want = LOG_GROUP[function]
                elif action in PLUMBING_RESOURCE_OF:
                    want = PLUMBING_RESOURCE_OF[action]
                else:
                    continue
                want = cfn.resolve_conditions(template, params, want)
                assert st["Resource"] == want, (role_id, action, st["Resource"])


def test_statements_on_every_resource_hold_only_actions_without_resource_types(template):
    params = cfn.parameter_values(template, ALL)
    for role_id in cfn.function_roles(template).values():
        for st in cfn.role_statements(template, role_id, params):
            if st["Resource"] == "*":
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert set(actions) <= NO_RESOURCE_TYPE, (role_id, actions)


def test_write_on_every_resource_is_held_to_the_stack_region(template):
    params = cfn.parameter_values(template, ALL)
    seen = set()
    for role_id in cfn.function_roles(template).values():
        for st in cfn.role_statements(template, role_id, params):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            writes = set(actions) & NO_RESOURCE_TYPE_WRITES
            if writes:
                assert actions == [*writes], f"{role_id}: {actions}: one write per statement"
                assert st["Condition"] == {
                    "StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}
                }, (role_id, actions)
                seen |= writes
    assert seen == NO_RESOURCE_TYPE_WRITES


def test_route53_domains_writes_are_held_to_us_east_1(template):
    params = cfn.parameter_values(template, ALL)
    seen = set()
    for role_id in cfn.function_roles(template).values():
        for st in cfn.role_statements(template, role_id, params):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            writes = set(actions) & DOMAINS_WRITES
            if writes:
                assert actions == [*writes], f"{role_id}: {actions}: one write per statement"
                assert st["Condition"] == DOMAINS_REGION, (role_id, actions)
                seen |= writes
    assert seen == DOMAINS_WRITES


def test_enable_rule_reaches_every_rule_of_the_stack_and_only_them(template):
    """events:EnableRule is granted on rule/mamoru-<stack>-*: that pattern covers the ARN of each
    rule of the stack (rule/<bus>/<name> on the central bus), whatever the stack is called."""
    import fnmatch

    for stack in ["mamoru", "prod-eu", "x" * 40]:
        params = cfn.parameter_values(template, {"AWS::StackName": stack, "OrganizationId": "o-a1b2c3d4e5"})
        arn = cfn.substitute(template, params, OWN_RULES)
        for rule_id in cfn.resources(template, "AWS::Events::Rule"):
            rule_arn = cfn.fake_physical(template, params, rule_id, "Arn")
            assert fnmatch.fnmatchcase(rule_arn, arn), (rule_arn, arn)
        assert not fnmatch.fnmatchcase(
            "arn:aws:events:us-east-1:123456789012:rule/nightly-report-schedule", arn
        )


MEMBER_ROLE_IN_ORGANIZATION = {
    "Fn::If": [
        "HasOrganization",
        {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}},
        {"Ref": "AWS::NoValue"},
    ]
}


def test_every_role_may_assume_the_member_role_inside_the_organization(template):
    """One statement per role grants the member role actions, on the member role, with the
    organization condition when OrganizationId is given and none otherwise."""
    for role_id in cfn.function_roles(template).values():
        (st,) = [
            s
            for policy in template["Resources"][role_id]["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]
            if "Action" in s and set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]) & cfn.MEMBER_ROLE_ACTIONS
        ]
        assert set(st["Action"]) == cfn.MEMBER_ROLE_ACTIONS, role_id
        assert st["Resource"] == MEMBER_ROLES, role_id
        assert st["Condition"] == MEMBER_ROLE_IN_ORGANIZATION, role_id
        for org, want in [("", None), ("o-a1b2c3d4e5", {"StringEquals": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}})]:
            params = cfn.parameter_values(template, {"OrganizationId": org})
            (resolved,) = [
                s for s in cfn.role_statements(template, role_id, params) if s.get("Sid") == st["Sid"]
            ]
            assert cfn.evaluate(template, params, resolved.get("Condition")) == want, (role_id, org)


def test_roles_trust_only_lambda_and_have_no_managed_policies(template):
    for role_id in cfn.function_roles(template).values():
        props = template["Resources"][role_id]["Properties"]
        assert not props.get("ManagedPolicyArns"), role_id
        assert props["Path"] == "/mamoru/", role_id
        assert props["PermissionsBoundary"] == {"Ref": "RolesPermissionsBoundary"}, role_id
        (st,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert st == {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
