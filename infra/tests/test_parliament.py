"""parliament (IAM policy linter, with the community auditors: Rhino Security Labs' privilege
escalation methods) on each role's policy and on the permissions boundary, as deployed under the
default parameters and with containment on.

With the defaults nothing is HIGH or CRITICAL. With Containment=on, two HIGH findings, on the
guardduty role and on the boundary that mirrors it:

* the accepted cost of quarantine_user: iam:PutUserPolicy is an escalation method (IAM cannot hold
  it to mamoru's deny-all policy; see the template's IAM comment);
* iam:PutRolePolicy with sts:AssumeRole (write a policy on a role, then assume it), which parliament
  reads from the actions alone. No role is both: sts:AssumeRole is granted on the member role
  role/mamoru/<MemberRoleName> only, iam:PutRolePolicy on the hub account's roles only, and the
  boundary denies it on the hub account's role/mamoru/* (test_boundary.py,
  test_no_role_may_both_write_and_assume_a_role, checks it request by request).
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cfn

SEVERE = {"HIGH", "CRITICAL"}
PUT_USER_POLICY = ("PRIVILEGE_ESCALATION", "HIGH", ("iam:putuserpolicy",))
PUT_ROLE_POLICY_AND_ASSUME = ("PRIVILEGE_ESCALATION", "HIGH", ("iam:putrolepolicy", "sts:assumerole"))


def parliament_command() -> list[str]:
    beside = Path(sys.executable).parent / "parliament"
    found = str(beside) if beside.exists() else shutil.which("parliament")
    assert found, "parliament is not installed (infra/requirements-check.txt): the check cannot run"
    return [found, "--include-community-auditors", "--json"]


_FINDINGS: dict[str, set[tuple]] = {}


def findings(document: dict) -> set[tuple]:
    """(issue, severity, actions) of each parliament finding on one policy document."""
    text = json.dumps(document, sort_keys=True)
    if text not in _FINDINGS:
        _FINDINGS[text] = _run_parliament(text)
    return _FINDINGS[text]


def _run_parliament(text: str) -> set[tuple]:
    out = subprocess.run(parliament_command(), input=text, capture_output=True, text=True, timeout=60)
    # parliament exits 1 when it has findings, 0 without; anything else is a failure to run.
    assert out.returncode in (0, 1), out.stderr
    result = set()
    for line in out.stdout.splitlines():
        f = json.loads(line)
        result.add((f["issue"], f["severity"], tuple(sorted(f["location"].get("actions", [])))))
    return result


def documents(template: dict, overrides: dict[str, str]) -> dict[str, dict]:
    params = cfn.parameter_values(template, overrides)
    out = {}
    for function, role_id in cfn.function_roles(template).items():
        statements = cfn.evaluate(template, params, cfn.role_statements(template, role_id, params))
        out[function] = {"Version": "2012-10-17", "Statement": statements}
    doc = template["Resources"]["RolesPermissionsBoundary"]["Properties"]["PolicyDocument"]
    out["boundary"] = {
        "Version": "2012-10-17",
        "Statement": cfn.evaluate(template, params, cfn.policy_statements(template, params, doc)),
    }
    return out


def severe(template: dict, overrides: dict[str, str]) -> dict[str, set[tuple]]:
    return {
        name: {f for f in findings(doc) if f[1] in SEVERE}
        for name, doc in documents(template, overrides).items()
    }


@pytest.mark.parametrize("overrides", [{}, {"OrganizationId": "o-a1b2c3d4e5"}], ids=["defaults", "organization"])
def test_nothing_severe_without_containment(template, overrides):
    assert severe(template, overrides) == {
        "guardduty": set(),
        "cloudtrail": set(),
        "config": set(),
        "securityhub": set(),
        "boundary": set(),
    }


@pytest.mark.parametrize(
    "overrides", [cfn.CONTAINMENT_ON, {**cfn.CONTAINMENT_ON, "OrganizationId": "o-a1b2c3d4e5"}],
    ids=["containment", "containment+organization"],
)
def test_with_containment_only_the_known_escalations_are_severe(template, overrides):
    assert severe(template, overrides) == {
        "guardduty": {PUT_USER_POLICY, PUT_ROLE_POLICY_AND_ASSUME},
        "cloudtrail": set(),
        "config": set(),
        "securityhub": set(),
        "boundary": {PUT_USER_POLICY, PUT_ROLE_POLICY_AND_ASSUME},
    }


def test_an_unconditional_quarantine_grant_is_flagged_by_default(template):
    """The test of the test: iam:PutUserPolicy granted outside ContainmentOn, as the template
    used to, is HIGH under the default parameters."""
    t = copy.deepcopy(template)
    statements = t["Resources"]["GuardDutyFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for i, st in enumerate(statements):
        if "Fn::If" in st and st["Fn::If"][1]["Sid"] == "QuarantineUser":
            statements[i] = st["Fn::If"][1]
    assert severe(t, {})["guardduty"] == {PUT_USER_POLICY}


@pytest.mark.parametrize("overrides", [{}, cfn.CONTAINMENT_ON], ids=["defaults", "containment"])
def test_parliament_reads_every_policy(template, overrides):
    """parliament parsed each document: it reports at least the MEDIUM permissions-management
    finding on the guardduty role (iam:UpdateAccessKey), so an empty answer is not a pass."""
    got = findings(documents(template, overrides)["guardduty"])
    assert any(f[0] == "PERMISSIONS_MANAGEMENT_ACTIONS" for f in got), got
