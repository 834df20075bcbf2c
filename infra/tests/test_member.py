"""infra/member.yaml, the template each member account of the organization runs (a StackSet).

GIVEN `mamoru permissions` (and `--containment`) and the hub's template
THEN the member role grants exactly what mamoru's actions declare, the three functions together
(the containment-only rights with Containment=on only), on the resources of its own account in
every region, under a permissions boundary allowing no more and denying IAM writes on mamoru's
own roles and policies; only the hub's function roles, inside the organization, may assume it;
the forwarding rules carry exactly the patterns of the hub's rules they feed (the central bus's
twins of its default-bus rules) and may put events on the central bus and nowhere else; and the
hub's account gets none of it.

The deploy of the template on moto, in a second account reached through sts:AssumeRole, is in
test_deploy.py; a member's event travelling to the hub's functions, in test_routing.py.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

import cfn
from iam_eval import Principal
from samples import OTHER_RESOURCE, POLICY_WRITES, ROLE_WRITES
from test_boundary import _allow_grants
from test_permissions import NO_RESOURCE_TYPE
from test_routing import NOT_FORWARDED

MEMBER = "444455556666"
HUB = cfn.PSEUDO_PARAMETERS["AWS::AccountId"]
ORGANIZATION = cfn.MEMBER_PARAMETERS["OrganizationId"]
PRIMARY = "us-east-1"


@pytest.fixture(scope="module")
def member() -> dict:
    return cfn.load_member_template()


def member_params(member: dict, overrides: dict[str, str] | None = None, account: str = MEMBER, region: str = PRIMARY) -> dict[str, str]:
    """The member template's parameters, in `account` and `region` (pseudo parameters)."""
    return cfn.parameter_values(
        member,
        {**cfn.MEMBER_PARAMETERS, "AWS::AccountId": account, "AWS::Region": region, **(overrides or {})},
    )


def role_statements(member: dict, params: dict[str, str]) -> list[dict]:
    return cfn.role_statements(member, "MemberRole", params)


def boundary_statements(member: dict, params: dict[str, str]) -> list[dict]:
    doc = member["Resources"]["MemberRolePermissionsBoundary"]["Properties"]["PolicyDocument"]
    return cfn.policy_statements(member, params, doc)


def granted(statements: list[dict]) -> set[str]:
    out: set[str] = set()
    for st in statements:
        if st["Effect"] == "Allow":
            out |= set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    return out


# --- linting -----------------------------------------------------------------------------------


def test_member_template_passes_cfn_lint():
    """infra/check.sh runs the cfn-lint command (and checkov) on it too."""
    from cfnlint.api import lint_all

    matches = [m for m in lint_all(cfn.MEMBER_TEMPLATE.read_text(encoding="utf-8")) if m.rule.id[0] in "EW"]
    assert [str(m) for m in matches] == []


# --- the member role's permissions ---------------------------------------------------------------

CONTAINMENT = [{}, cfn.CONTAINMENT_OFF, cfn.CONTAINMENT_ON]


@pytest.mark.parametrize("overrides", CONTAINMENT, ids=["defaults", "off", "on"])
def test_member_role_grants_exactly_the_registrys_grants(member, permissions, overrides):
    params = member_params(member, overrides)
    containment = cfn.evaluate_condition(member, params, "ContainmentOn")
    want = cfn.union_of_grants(permissions, containment)
    got = granted(role_statements(member, params))
    assert not want - got, f"the member role is missing {sorted(want - got)}"
    assert not got - want, f"the member role grants {sorted(got - want)}, which no action declares"


def test_containment_is_off_by_default_as_in_the_hub(member, template):
    drop = lambda p: {k: v for k, v in p.items() if k != "Description"}
    assert drop(member["Parameters"]["Containment"]) == drop(template["Parameters"]["Containment"])
    assert member["Conditions"]["ContainmentOn"] == template["Conditions"]["ContainmentOn"]


def test_containment_statements_are_conditional_as_a_whole(member, permissions):
    contained = set().union(*cfn.containment_only(permissions).values())
    always = cfn.union_of_grants(permissions, containment=False)
    for policy in member["Resources"]["MemberRole"]["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in st:
                cond, yes, no = st["Fn::If"]
                assert cond == "ContainmentOn" and no == {"Ref": "AWS::NoValue"}, st
                assert granted([yes]) <= contained - always, yes["Sid"]
            else:
                assert not granted([st]) & (contained - always), st["Sid"]


def member_resource(hub_resource):
    """The member role's resource for an action, from the hub role's (the registry's grants,
    `mamoru permissions --grants`): the same resources of its own account, in every region."""
    if isinstance(hub_resource, list):
        return [member_resource(r) for r in hub_resource]
    if hub_resource == "*":
        return "*"
    return {"Fn::Sub": hub_resource["Fn::Sub"].replace("${AWS::Region}", "*")}


# mamoru's own rules in a member account are the forwarding rules (in the hub: the stack's rules).
MEMBER_RULES = {"Fn::Sub": "arn:${AWS::Partition}:events:*:${AWS::AccountId}:rule/mamoru-forward-*"}


@pytest.fixture(scope="module")
def member_resource_of(grants):
    """The resource of each IAM action in the member role, from the registry's grants."""
    out = {}
    for statements in grants.values():
        for st in statements:
            resources = [r if r == "*" else {"Fn::Sub": r} for r in st["resources"]]
            out[st["action"]] = member_resource(resources[0] if len(resources) == 1 else resources)
    out["events:EnableRule"] = MEMBER_RULES
    return out


def test_each_action_is_granted_on_its_account_in_every_region(member, member_resource_of):
    params = member_params(member, cfn.CONTAINMENT_ON)
    for st in role_statements(member, params):
        assert st["Effect"] == "Allow", st
        assert "Condition" not in st, st  # in every region: the hub acts where the event happened
        for action in st["Action"] if isinstance(st["Action"], list) else [st["Action"]]:
            assert action in member_resource_of, f"{action}: no action of the registry grants it"
            assert st["Resource"] == member_resource_of[action], (action, st["Resource"])
            if st["Resource"] == "*":
                assert action in NO_RESOURCE_TYPE, action


def test_the_forwarding_rules_are_the_rules_enable_rule_reaches(member):
    params = member_params(member)
    pattern = cfn.substitute(member, params, MEMBER_RULES)
    regex = re.escape(pattern).replace(r"\*", ".*")
    names = [r["name"] for r in cfn.forwarding_rules(member, params).values()]
    assert names
    for name in names:
        assert re.fullmatch(regex, f"arn:aws:events:eu-west-1:{MEMBER}:rule/{name}"), name
    assert not re.fullmatch(regex, f"arn:aws:events:eu-west-1:{MEMBER}:rule/nightly-report-schedule")


# --- the boundary -------------------------------------------------------------------------------


def principal(member: dict, params: dict[str, str], identity=None) -> Principal:
    identity = identity if identity is not None else role_statements(member, params)
    return Principal(
        cfn.evaluate(member, params, identity),
        cfn.evaluate(member, params, boundary_statements(member, params)),
    )


def in_member(arn: str, region: str = "eu-west-1") -> str:
    """A resource of OTHER_RESOURCE moved to the member account, in another region than the
    member role's."""
    return arn.replace(f":{HUB}:", f":{MEMBER}:").replace(":us-east-1:", f":{region}:")


@pytest.mark.parametrize("overrides", CONTAINMENT, ids=["defaults", "off", "on"])
def test_the_boundary_allows_exactly_the_role(member, overrides):
    params = member_params(member, overrides)
    boundary = cfn.evaluate(member, params, boundary_statements(member, params))
    role = cfn.evaluate(member, params, role_statements(member, params))
    assert _allow_grants(boundary) == _allow_grants(role)


@pytest.mark.parametrize("overrides", CONTAINMENT, ids=["defaults", "off", "on"])
def test_declared_actions_are_allowed_in_every_region_of_the_account(member, permissions, overrides):
    params = member_params(member, overrides)
    containment = cfn.evaluate_condition(member, params, "ContainmentOn")
    who = principal(member, params)
    grants = cfn.union_of_grants(permissions, containment)
    for action in sorted(set().union(*permissions.values())):
        resource = in_member(OTHER_RESOURCE[action])
        if action == "events:EnableRule":
            resource = f"arn:aws:events:eu-west-1:{MEMBER}:rule/mamoru-forward-trail-tamper"
        assert who.allows(action, resource) == (action in grants), action
        if f":{HUB}:" in OTHER_RESOURCE[action]:  # nothing in another account (bucket ARNs name none)
            assert not who.allows(action, OTHER_RESOURCE[action].replace(f":{HUB}:", ":777788889999:")), action


def test_no_iam_write_on_mamorus_roles_or_boundary(member):
    params = member_params(member, cfn.CONTAINMENT_ON)
    admin = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    boundary = cfn.fake_physical(member, params, "MemberRolePermissionsBoundary", None)
    for identity in [None, admin]:
        who = principal(member, params, identity)
        for arn in [
            f"arn:aws:iam::{MEMBER}:role/mamoru/{params['MemberRoleName']}",
            f"arn:aws:iam::{MEMBER}:role/mamoru/StackSet-mamoru-member-ForwardingRole-0EXAMPLE",
        ]:
            for action in ROLE_WRITES:
                assert who.decide(action, arn) == "explicit-deny", (action, arn)
        for action in POLICY_WRITES:
            assert who.decide(action, boundary) == "explicit-deny", action
        # Given everything, the boundary is still a ceiling.
        assert not who.allows("sts:AssumeRole", f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole")
        assert not who.allows("iam:CreateUser", f"arn:aws:iam::{MEMBER}:user/backdoor")


def test_without_the_deny_the_member_role_could_rewrite_itself(member):
    """The test of the test: drop the boundary's Deny, and the member role (containment on) may
    put an inline policy on itself."""
    m = copy.deepcopy(member)
    doc = m["Resources"]["MemberRolePermissionsBoundary"]["Properties"]["PolicyDocument"]
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Effect") != "Deny"]
    params = member_params(m, cfn.CONTAINMENT_ON)
    own = f"arn:aws:iam::{MEMBER}:role/mamoru/{params['MemberRoleName']}"
    assert principal(m, params).allows("iam:PutRolePolicy", own)
    assert principal(member, params).decide("iam:PutRolePolicy", own) == "explicit-deny"


def test_the_boundary_denies_as_the_hubs_does(member, template):
    hub_deny = [s for s in template["Resources"]["RolesPermissionsBoundary"]["Properties"]["PolicyDocument"]["Statement"] if s.get("Effect") == "Deny"]
    member_deny = [s for s in member["Resources"]["MemberRolePermissionsBoundary"]["Properties"]["PolicyDocument"]["Statement"] if s.get("Effect") == "Deny"]
    assert member_deny == hub_deny


# --- who may assume it ---------------------------------------------------------------------------


def test_only_the_hubs_function_roles_inside_the_organization_may_assume_it(member):
    props = member["Resources"]["MemberRole"]["Properties"]
    assert props["RoleName"] == {"Ref": "MemberRoleName"}
    assert props["Path"] == "/mamoru/"
    assert props["PermissionsBoundary"] == {"Ref": "MemberRolePermissionsBoundary"}
    assert not props.get("ManagedPolicyArns")
    (st,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert st == {
        "Sid": st["Sid"],
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:root"}},
        "Action": sorted(cfn.MEMBER_ROLE_ACTIONS),
        "Condition": {
            "ArnLike": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:role/mamoru/*"}},
            "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
        },
    }


def test_the_hubs_roles_are_the_principals_the_trust_admits(member, template):
    """The hub's function roles live under /mamoru/ in the hub's account: what the trust's
    aws:PrincipalArn pattern admits. The hub asks for the member role by the path and name the
    member template gives it."""
    params = member_params(member)
    pattern = cfn.substitute(member, params, {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:role/mamoru/*"})
    hub_params = cfn.parameter_values(template)
    for role_id in cfn.function_roles(template).values():
        arn = cfn.fake_physical(template, hub_params, role_id, "Arn")
        assert re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), arn), arn
    assert member["Parameters"]["MemberRoleName"]["Default"] == template["Parameters"]["MemberRoleName"]["Default"]
    assert member["Parameters"]["MemberRoleName"]["AllowedPattern"] == template["Parameters"]["MemberRoleName"]["AllowedPattern"]
    asked = cfn.substitute(template, hub_params, {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/mamoru/${MemberRoleName}"})
    created = f"arn:aws:iam::{MEMBER}:role{member['Resources']['MemberRole']['Properties']['Path']}{params['MemberRoleName']}"
    assert re.fullmatch(re.escape(asked).replace(r"\*", "[0-9]{12}"), created)


# --- where each part is created --------------------------------------------------------------------


def test_the_role_once_per_member_account_the_forwarding_in_every_region_nothing_in_the_hub(member):
    cases = [
        (MEMBER, PRIMARY, {"MemberRole", "MemberRolePermissionsBoundary", "ForwardingRole", *cfn.forwarding_rules(member, member_params(member))}),
        (MEMBER, "eu-west-1", {"ForwardingRole", *cfn.forwarding_rules(member, member_params(member))}),
        (HUB, PRIMARY, {"NothingInTheHubAccount"}),
        (HUB, "eu-west-1", {"NothingInTheHubAccount"}),
    ]
    for account, region, want in cases:
        params = member_params(member, account=account, region=region)
        got = {lid for lid, res in member["Resources"].items() if cfn.active(member, params, res)}
        assert got == want, (account, region)
    outputs = member["Outputs"]
    assert outputs["MemberRoleArn"]["Condition"] == "CreateMemberRole"


# --- forwarding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["mamoru", "prod-eu"])
def test_forwarding_patterns_are_the_hubs(member, template, stack):
    """Each forwarding rule carries exactly the pattern of the hub rule it feeds, on the central
    bus and on the default bus; every hub rule with a central twin is fed, and no other."""
    hub = cfn.rules(template, cfn.parameter_values(template, {"AWS::StackName": stack, "OrganizationId": ORGANIZATION}))
    forwarding = cfn.forwarding_rules(member, member_params(member))
    central = {lid[len(cfn.CENTRAL_PREFIX):] for lid, r in hub.items() if r["bus"]}
    assert {r["twin"] for r in forwarding.values()} == central
    for lid, rule in forwarding.items():
        twin = rule["twin"]
        assert rule["pattern"] == hub[twin]["pattern"], lid
        assert rule["pattern"] == hub[cfn.CENTRAL_PREFIX + twin]["pattern"], lid
        assert rule["name"] == "mamoru-forward-" + hub[twin]["name"][len(f"mamoru-{stack}-"):], lid
    # What is not forwarded, and why: test_routing.NOT_FORWARDED.
    # (The rule of read-only calls exists only with ReadOnlyEvents=on.)
    assert set(hub) == {*central, *(cfn.CENTRAL_PREFIX + c for c in central), *NOT_FORWARDED} - {"ReadOnlyCallsRule"}


def test_forwarding_goes_to_the_central_bus_only(member):
    for lid, rule in cfn.forwarding_rules(member, member_params(member)).items():
        res = member["Resources"][lid]
        assert res["Condition"] == "InMemberAccount", lid
        assert res["Properties"]["State"] == "ENABLED", lid
        assert rule["targets"] == [
            {"Id": "mamoru-hub", "Arn": {"Ref": "CentralEventBusArn"}, "RoleArn": {"Fn::GetAtt": ["ForwardingRole", "Arn"]}}
        ], lid
    role = member["Resources"]["ForwardingRole"]["Properties"]
    assert role["Path"] == "/mamoru/"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
    (policy,) = role["Policies"]
    (st,) = policy["PolicyDocument"]["Statement"]
    assert (st["Effect"], st["Action"], st["Resource"]) == ("Allow", "events:PutEvents", {"Ref": "CentralEventBusArn"})
    assert not role.get("ManagedPolicyArns")


def test_the_hub_output_is_what_the_member_parameter_takes(member, template):
    """CentralEventBusArn: the hub's output, the member's parameter; its pattern takes the ARN of
    the hub's bus for any stack name and partition."""
    pattern = member["Parameters"]["CentralEventBusArn"]["AllowedPattern"]
    for stack in ["mamoru", "s" * 40]:
        for partition, region in [("aws", "us-east-1"), ("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-north-1")]:
            params = cfn.parameter_values(
                template,
                {"AWS::StackName": stack, "AWS::Partition": partition, "AWS::Region": region, "OrganizationId": ORGANIZATION},
            )
            arn = cfn.fake_physical(template, params, "CentralEventBus", "Arn")
            assert re.fullmatch(pattern, arn), arn
    assert not re.fullmatch(pattern, "arn:aws:sns:us-east-1:123456789012:mamoru-alerts")
    assert member["Parameters"]["OrganizationId"]["AllowedPattern"] == template["Parameters"]["OrganizationId"]["AllowedPattern"].replace("^$|", "")


def test_member_template_fits_a_template_body():
    """`aws cloudformation create-stack-set --template-body` takes at most 51,200 bytes."""
    assert len(cfn.MEMBER_TEMPLATE.read_bytes()) < 51_200


# --- parliament --------------------------------------------------------------------------------


def test_parliament_on_the_member_role(member):
    """The member role has no sts: right; with containment, iam:PutUserPolicy is its one severe
    finding, as on the hub's guardduty role."""
    from test_parliament import PUT_USER_POLICY, SEVERE, findings

    for overrides, want in [({}, set()), (cfn.CONTAINMENT_ON, {PUT_USER_POLICY})]:
        params = member_params(member, overrides)
        doc = {"Version": "2012-10-17", "Statement": cfn.evaluate(member, params, role_statements(member, params))}
        assert {f for f in findings(doc) if f[1] in SEVERE} == want, overrides
        assert json.dumps(doc)
