"""The stack's roles are not an escalation path.

Each role has the permissions boundary RolesPermissionsBoundary. Evaluated offline with
iam_eval (explicit deny wins; identity AND boundary must allow), under the parameter sets that
change the roles:

* no role may write IAM on mamoru's own roles or on the boundary itself (explicitly denied, so
  that no identity policy, not even one granting everything, can lift it);
* every action a function declares is allowed on a resource that is not mamoru's;
* the boundary allows no more than the union of the roles' own statements;
* with the default parameters no containment permission is allowed at all.
"""

from __future__ import annotations

import copy

import pytest

import cfn
from iam_eval import Principal
from samples import OTHER_RESOURCE, POLICY_WRITES, ROLE_WRITES

ACCOUNT = cfn.PSEUDO_PARAMETERS["AWS::AccountId"]
REGION = cfn.PSEUDO_PARAMETERS["AWS::Region"]
CONTEXT = {"aws:RequestedRegion": REGION}

PARAMETER_SETS = {
    "defaults": {},
    "containment": cfn.CONTAINMENT_ON,
    "enforce+containment+existing-topic": {
        "Mode": "enforce",
        **cfn.CONTAINMENT_ON,
        "ExistingTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:security-alerts",
    },
}

ADMIN = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def boundary_id(template: dict) -> str:
    (bid,) = {
        cfn.ref_target(template["Resources"][r]["Properties"]["PermissionsBoundary"])
        for r in cfn.function_roles(template).values()
    }
    return bid


def boundary_statements(template: dict, params: dict[str, str]) -> list[dict]:
    doc = template["Resources"][boundary_id(template)]["Properties"]["PolicyDocument"]
    return cfn.evaluate(template, params, cfn.policy_statements(template, params, doc))


def principal(template: dict, params: dict[str, str], function: str, identity=None) -> Principal:
    role_id = cfn.function_roles(template)[function]
    if identity is None:
        identity = cfn.evaluate(template, params, cfn.role_statements(template, role_id, params))
    return Principal(identity, boundary_statements(template, params), CONTEXT)


def own_arns(template: dict, params: dict[str, str]) -> tuple[list[str], str]:
    roles = [
        cfn.fake_physical(template, params, r, "Arn") for r in cfn.function_roles(template).values()
    ]
    return roles, cfn.fake_physical(template, params, boundary_id(template), None)


@pytest.fixture(params=list(PARAMETER_SETS), ids=list(PARAMETER_SETS))
def params(request, template) -> dict[str, str]:
    return cfn.parameter_values(template, PARAMETER_SETS[request.param])


def test_every_role_has_the_boundary_under_the_mamoru_path(template):
    bid = boundary_id(template)
    res = template["Resources"][bid]
    assert res["Type"] == "AWS::IAM::ManagedPolicy"
    assert res["Properties"]["Path"] == "/mamoru/"
    assert not res.get("Condition")
    assert len(cfn.function_roles(template)) == 4
    for rid in cfn.resources(template, "AWS::IAM::Role"):
        props = template["Resources"][rid]["Properties"]
        assert props["Path"] == "/mamoru/", rid
        assert props["PermissionsBoundary"] == {"Ref": bid}, rid


@pytest.mark.parametrize("function", ["guardduty", "cloudtrail", "config"])
def test_no_role_may_write_iam_on_mamorus_roles_or_boundary(template, params, function):
    roles, boundary = own_arns(template, params)
    sibling = f"arn:aws:iam::{ACCOUNT}:role/mamoru/prod-eu-GuardDutyFunctionRole-0OTHERSTACK"
    for identity in [None, ADMIN]:  # the role as deployed, and as if it were given everything
        who = principal(template, params, function, identity)
        for arn in [*roles, sibling]:
            for action in ROLE_WRITES:
                assert who.decide(action, arn) == "explicit-deny", (function, action, arn)
        for action in POLICY_WRITES:
            assert who.decide(action, boundary) == "explicit-deny", (function, action, boundary)


@pytest.mark.parametrize("function", ["guardduty", "cloudtrail", "config"])
def test_declared_actions_are_allowed_on_other_resources(template, permissions, params, function):
    containment = cfn.evaluate_condition(template, params, "ContainmentOn")
    declared = cfn.declared_actions(permissions)[function]
    contained = cfn.containment_only(permissions)[function]
    who = principal(template, params, function)
    for action in sorted(declared):
        assert action in OTHER_RESOURCE, f"{action}: add a resource that is not mamoru's to OTHER_RESOURCE"
        allowed = who.allows(action, OTHER_RESOURCE[action])
        assert allowed == (containment or action not in contained), (function, action)


def test_the_boundary_alone_is_a_ceiling(template, permissions, params):
    """A role given everything by its identity policy gets no more than the boundary: the
    declared actions, and nothing else."""
    containment = cfn.evaluate_condition(template, params, "ContainmentOn")
    everything = cfn.expected_actions(permissions, containment)
    who = principal(template, params, "guardduty", ADMIN)
    for function_actions in everything.values():
        for action in function_actions & set(OTHER_RESOURCE):
            assert who.allows(action, OTHER_RESOURCE[action]), action
    for action, resource in [
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/backdoor"),
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        ("iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"),
        ("s3:GetObject", "arn:aws:s3:::customer-data/secrets.csv"),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mamoru-mamoru-guardduty"),
        ("guardduty:CreateDetector", "*"),  # in another region than the stack's
    ]:
        ctx = {"aws:RequestedRegion": "eu-west-1"} if action == "guardduty:CreateDetector" else None
        assert who.decide(action, resource, ctx) != "allow", (action, resource)
    if not containment:
        # The boundary is the union of the roles: a permission the guardduty role uses only for
        # containment stays allowed when another function needs it without (the cloudtrail
        # role's ec2:DescribeSecurityGroups for revoke_added_ingress).
        needed = set().union(*everything.values())
        for action in cfn.containment_permissions()["guardduty"] - needed:
            assert not who.allows(action, OTHER_RESOURCE[action]), action


def _allow_grants(statements: list[dict]) -> set[tuple]:
    """(action, resource, condition) of each Allow statement, one per action and resource."""
    out = set()
    for st in statements:
        if st["Effect"] != "Allow":
            continue
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        cond = repr(sorted((st.get("Condition") or {}).items()))
        out |= {(a, r, cond) for a in actions for r in resources}
    return out


def test_the_boundary_allows_exactly_the_union_of_the_roles(template, params):
    union = set()
    for role_id in cfn.function_roles(template).values():
        union |= _allow_grants(cfn.evaluate(template, params, cfn.role_statements(template, role_id, params)))
    boundary = boundary_statements(template, params)
    for st in boundary:
        if st["Effect"] == "Allow":
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert not any("*" in a or "?" in a for a in actions), st
            assert "NotAction" not in st and "NotResource" not in st, st
    assert _allow_grants(boundary) == union


def test_default_parameters_allow_no_containment_permission_anywhere(template, permissions):
    """No role and not the boundary allows, by default, a permission that only containment
    actions use in every function (one that another function's restoring action needs, such as
    ec2:DescribeSecurityGroups for revoke_added_ingress, is that function's to hold)."""
    params = cfn.parameter_values(template)
    needed = set().union(*cfn.expected_actions(permissions, False).values())
    contained = set().union(*cfn.containment_permissions().values()) - needed
    assert {"ec2:DescribeInstances", "ec2:RevokeSecurityGroupEgress", "iam:PutUserPolicy"} <= contained
    for role_id in cfn.function_roles(template).values():
        grants = _allow_grants(cfn.evaluate(template, params, cfn.role_statements(template, role_id, params)))
        assert not {g[0] for g in grants} & contained, role_id
    assert not {g[0] for g in _allow_grants(boundary_statements(template, params))} & contained


MEMBER = "444455556666"
ORGANIZATION = "o-a1b2c3d4e5"


@pytest.mark.parametrize("function", ["guardduty", "cloudtrail", "config"])
def test_the_member_role_is_assumed_only_inside_the_organization(template, function):
    """GIVEN OrganizationId, THEN a role may assume the member role of an account of the
    organization, not the member role outside it, nor any other role; without OrganizationId,
    the member role of any account."""
    for org in ["", ORGANIZATION]:
        params = cfn.parameter_values(template, {**cfn.CONTAINMENT_ON, "OrganizationId": org})
        who = principal(template, params, function)
        member_role = f"arn:aws:iam::{MEMBER}:role/mamoru/{params['MemberRoleName']}"
        inside = {"aws:ResourceOrgID": ORGANIZATION}
        outside = {"aws:ResourceOrgID": "o-0ther0rg00"}
        for action in sorted(cfn.MEMBER_ROLE_ACTIONS):
            assert who.allows(action, member_role, inside), (org, action)
            assert who.allows(action, member_role, outside) == (org == ""), (org, action)
            for other in [
                f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole",
                f"arn:aws:iam::{MEMBER}:role/mamoru/other-role",
                f"arn:aws:iam::{MEMBER}:role/{params['MemberRoleName']}",  # not under /mamoru/
            ]:
                assert not who.allows(action, other, inside), (org, action, other)


def test_no_role_may_both_write_and_assume_a_role(template):
    """parliament flags iam:PutRolePolicy with sts:AssumeRole (containment on): no role the
    functions may assume is one they may write a policy on, in the hub's account or a member's."""
    params = cfn.parameter_values(template, {**cfn.CONTAINMENT_ON, "OrganizationId": ORGANIZATION})
    context = {"aws:ResourceOrgID": ORGANIZATION}
    for function in ["guardduty", "cloudtrail", "config"]:
        who = principal(template, params, function)
        for account in [ACCOUNT, MEMBER]:
            for name in [params["MemberRoleName"], "app", "mamoru/app"]:
                for path in ["mamoru/", ""]:
                    arn = f"arn:aws:iam::{account}:role/{path}{name}"
                    assumable = who.allows("sts:AssumeRole", arn, context)
                    writable = any(who.allows(a, arn, context) for a in ROLE_WRITES)
                    assert not (assumable and writable), (function, arn)
        assert who.allows("sts:AssumeRole", f"arn:aws:iam::{MEMBER}:role/mamoru/{params['MemberRoleName']}", context)


def test_without_the_deny_the_guardduty_role_could_rewrite_itself(template):
    """The evaluator is not denying by default: remove the boundary's Deny and the guardduty
    role, with containment on, may put an inline policy on its own role."""
    t = copy.deepcopy(template)
    doc = t["Resources"][boundary_id(t)]["Properties"]["PolicyDocument"]
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Effect") != "Deny"]
    params = cfn.parameter_values(t, cfn.CONTAINMENT_ON)
    roles, _ = own_arns(t, params)
    assert principal(t, params, "guardduty").allows("iam:PutRolePolicy", roles[0])
    assert principal(template, params, "guardduty").decide("iam:PutRolePolicy", roles[0]) == "explicit-deny"


@pytest.mark.parametrize("function", ["guardduty", "cloudtrail", "config"])
def test_each_function_writes_only_its_own_keys_of_the_state_table(template, params, function):
    """dynamodb:LeadingKeys: a function may update the items whose key starts with its name, on
    the stack's table only; not another function's, nor a mix of both."""
    who = principal(template, params, function)
    table = OTHER_RESOURCE["dynamodb:UpdateItem"]
    own = {"dynamodb:LeadingKeys": [f"{function}#event#6a5f0000"]}
    assert who.decide("dynamodb:UpdateItem", table, {**CONTEXT, **own}) == "allow"
    for other in {"guardduty", "cloudtrail", "config"} - {function}:
        theirs = {"dynamodb:LeadingKeys": [f"{other}#event#6a5f0000"]}
        assert who.decide("dynamodb:UpdateItem", table, {**CONTEXT, **theirs}) != "allow", other
        both = {"dynamodb:LeadingKeys": [f"{function}#x", f"{other}#x"]}
        assert who.decide("dynamodb:UpdateItem", table, {**CONTEXT, **both}) != "allow", other
    elsewhere = table.replace("mamoru-mamoru-state", "customer-orders")
    assert who.decide("dynamodb:UpdateItem", elsewhere, {**CONTEXT, **own}) != "allow"
    assert who.decide("dynamodb:DeleteItem", table, {**CONTEXT, **own}) != "allow"
