"""Permissions: each function's role grants exactly what its actions declare.

GIVEN `mamoru permissions` (the IAM permissions each function's remediation actions declare)
THEN the function's role in infra/template.yaml allows exactly those actions, plus writing its
own log group (logs:CreateLogStream, logs:PutLogEvents), publishing its alerts (sns:Publish)
and the Lambda on-failure destination (sqs:SendMessage), each on the narrowest resource the
Service Authorization Reference allows.
"""

from __future__ import annotations

import copy

import pytest

import cfn

# Actions whose Service Authorization Reference entry has no resource type: they only accept
# Resource "*". Any other action must name resources.
NO_RESOURCE_TYPE = {
    "cloudtrail:DescribeTrails",
    "guardduty:ListDetectors",
    "config:StartConfigurationRecorder",
}

TRAILS = {"Fn::Sub": "arn:${AWS::Partition}:cloudtrail:*:${AWS::AccountId}:trail/*"}
DETECTORS = {"Fn::Sub": "arn:${AWS::Partition}:guardduty:${AWS::Region}:${AWS::AccountId}:detector/*"}
USERS = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}
ALERT_TOPIC = {"Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingTopicArn"}]}
DLQ = {"Fn::GetAtt": ["FailureQueue", "Arn"]}
LOG_GROUP = {
    "guardduty": {"Fn::GetAtt": ["GuardDutyLogGroup", "Arn"]},
    "cloudtrail": {"Fn::GetAtt": ["CloudTrailLogGroup", "Arn"]},
    "config": {"Fn::GetAtt": ["ConfigLogGroup", "Arn"]},
}

# The resource each action is granted on. A new action on the Rust side needs an entry here,
# decided from the Service Authorization Reference.
RESOURCE_OF = {
    "iam:UpdateAccessKey": USERS,
    "cloudtrail:StartLogging": TRAILS,  # a trail is restarted in its home region: any region
    "cloudtrail:GetTrailStatus": TRAILS,
    "guardduty:UpdateDetector": DETECTORS,
    "guardduty:GetDetector": DETECTORS,
    "sns:Publish": ALERT_TOPIC,
    "sqs:SendMessage": DLQ,
    **{a: "*" for a in NO_RESOURCE_TYPE},
}


def test_roles_grant_exactly_the_declared_permissions(template, permissions):
    assert cfn.compare_permissions(template, permissions) == []


def test_one_role_per_function(template):
    roles = cfn.function_roles(template)
    assert sorted(roles) == ["cloudtrail", "config", "guardduty"]
    assert len(set(roles.values())) == 3, roles
    for role_id in roles.values():
        assert template["Resources"][role_id]["Type"] == "AWS::IAM::Role"


def _without_action(template: dict, role_id: str, action: str) -> dict:
    t = copy.deepcopy(template)
    for policy in t["Resources"][role_id]["Properties"]["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        for st in statements:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            st["Action"] = [a for a in actions if a != action]
        policy["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"]]
    return t


@pytest.mark.parametrize(
    "function,action",
    [
        ("guardduty", "iam:UpdateAccessKey"),
        ("cloudtrail", "config:StartConfigurationRecorder"),
        ("config", "cloudtrail:GetTrailStatus"),
        ("config", "sns:Publish"),
    ],
)
def test_a_permission_missing_from_the_template_is_reported(template, permissions, function, action):
    role_id = cfn.function_roles(template)[function]
    broken = _without_action(template, role_id, action)
    assert action not in cfn.granted_actions(broken, role_id)
    assert cfn.compare_permissions(broken, permissions) == [
        f"{function}: role {role_id} is missing {action}"
    ]


def test_an_action_added_on_the_rust_side_without_its_permission_fails(template, permissions):
    """GIVEN a new action declaring ec2:RevokeSecurityGroupIngress for the config function,
    WHEN the template is not updated, THEN the comparison names the missing permission."""
    declared = copy.deepcopy(permissions)
    declared["config"] = [*declared["config"], "ec2:RevokeSecurityGroupIngress"]
    role_id = cfn.function_roles(template)["config"]
    assert cfn.compare_permissions(template, declared) == [
        f"config: role {role_id} is missing ec2:RevokeSecurityGroupIngress"
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


def test_each_action_is_granted_on_its_narrowest_resource(template):
    for function, role_id in cfn.function_roles(template).items():
        for st in cfn.role_statements(template, role_id):
            assert st["Effect"] == "Allow", (role_id, st)
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for action in actions:
                assert "*" not in action, f"{role_id}: wildcard action {action}"
                if action.startswith("logs:"):
                    want = LOG_GROUP[function]
                else:
                    assert action in RESOURCE_OF, (
                        f"{action}: decide its resource from the Service Authorization "
                        "Reference and add it to RESOURCE_OF"
                    )
                    want = RESOURCE_OF[action]
                assert st["Resource"] == want, (role_id, action, st["Resource"])


def test_statements_on_every_resource_hold_only_actions_without_resource_types(template):
    for role_id in cfn.function_roles(template).values():
        for st in cfn.role_statements(template, role_id):
            if st["Resource"] == "*":
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert set(actions) <= NO_RESOURCE_TYPE, (role_id, actions)


def test_write_on_every_resource_is_held_to_the_stack_region(template):
    role_id = cfn.function_roles(template)["cloudtrail"]
    (st,) = [
        s
        for s in cfn.role_statements(template, role_id)
        if s["Action"] == "config:StartConfigurationRecorder"
    ]
    assert st["Condition"] == {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}


def test_roles_trust_only_lambda_and_have_no_managed_policies(template):
    for role_id in cfn.function_roles(template).values():
        props = template["Resources"][role_id]["Properties"]
        assert not props.get("ManagedPolicyArns"), role_id
        (st,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert st == {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
