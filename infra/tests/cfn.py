"""Reading infra/template.yaml in tests: a YAML loader for the CloudFormation short-form tags,
condition evaluation with parameter values, and the few facts the tests compare (which function a
resource belongs to, the actions a role grants, the rules' patterns)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

INFRA = Path(__file__).resolve().parent.parent
REPO = INFRA.parent
# MAMORU_TEMPLATE lets a maintainer run the tests on an edited copy (mutation checks).
TEMPLATE = Path(os.environ.get("MAMORU_TEMPLATE") or INFRA / "template.yaml")
FIXTURES = REPO / "tests" / "fixtures" / "events"

# The Rust side's function names, as `mamoru permissions` / `mamoru routes` key them, are the
# binary names without the `mamoru-` prefix.
BINARY_PREFIX = "mamoru-"

# What every role grants on top of the actions' own permissions: writing its log group,
# publishing to the alert topic, and the Lambda on-failure destination (the SQS DLQ), which
# Lambda sends to with the function's execution role.
EXTRA_ACTIONS = frozenset(
    {"logs:CreateLogStream", "logs:PutLogEvents", "sns:Publish", "sqs:SendMessage"}
)


class _Loader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into {"Ref": x}, `!GetAtt A.B` into
    {"Fn::GetAtt": ["A", "B"]} and any other `!Fn` into {"Fn::Fn": ...}."""


def _construct_tag(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def resources(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


# --- parameters and conditions -------------------------------------------------------------------


def parameter_values(template: dict, overrides: dict[str, str] | None = None) -> dict[str, str]:
    values = {k: str(p.get("Default", "")) for k, p in template.get("Parameters", {}).items()}
    values.update(overrides or {})
    return values


# Pseudo parameters for resolving physical names and patterns (`!Sub mamoru-${AWS::StackName}-x`);
# `params` may override them (a test deploys under several stack names).
PSEUDO_PARAMETERS = {
    "AWS::StackName": "mamoru",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
}


def _with_pseudo(params: dict[str, str]) -> dict[str, str]:
    return {**PSEUDO_PARAMETERS, **params}


def substitute(template: dict, params: dict[str, str], value: Any) -> str:
    """Evaluates a string, or an Fn::Sub of its string form, with parameters and pseudo
    parameters."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        values = _with_pseudo(params)

        def one(m: re.Match) -> str:
            name = m.group(1)
            if name not in values:
                raise ValueError(f"cannot substitute ${{{name}}}")
            return values[name]

        return re.sub(r"\$\{([^}!]+)\}", one, value["Fn::Sub"])
    raise ValueError(f"not a string or a string Fn::Sub: {value!r}")


# The property holding each named resource type's physical name.
NAME_PROPERTY = {
    "AWS::Events::Rule": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::SNS::Topic": "TopicName",
}


def physical_name(template: dict, params: dict[str, str], logical_id: str) -> str:
    res = template["Resources"][logical_id]
    prop = NAME_PROPERTY[res["Type"]]
    if prop not in res.get("Properties", {}):
        raise ValueError(f"{logical_id} has no {prop}: its name would be generated")
    return substitute(template, params, res["Properties"][prop])


def _value(template: dict, params: dict[str, str], expr: Any) -> Any:
    if isinstance(expr, dict) and set(expr) == {"Ref"}:
        name = expr["Ref"]
        if name not in params:
            raise ValueError(f"cannot evaluate Ref {name} in a condition")
        return params[name]
    return expr


def evaluate_condition(template: dict, params: dict[str, str], expr: Any) -> bool:
    """Evaluates a condition expression (Fn::Equals/Not/And/Or, Condition) with `params`."""
    if isinstance(expr, str):
        return evaluate_condition(template, params, template["Conditions"][expr])
    if not isinstance(expr, dict) or len(expr) != 1:
        raise ValueError(f"not a condition: {expr!r}")
    (fn, args), = expr.items()
    if fn == "Condition":
        return evaluate_condition(template, params, template["Conditions"][args])
    if fn == "Fn::Equals":
        a, b = (_value(template, params, x) for x in args)
        return str(a) == str(b)
    if fn == "Fn::Not":
        return not evaluate_condition(template, params, args[0])
    if fn == "Fn::And":
        return all(evaluate_condition(template, params, a) for a in args)
    if fn == "Fn::Or":
        return any(evaluate_condition(template, params, a) for a in args)
    raise ValueError(f"unsupported condition function {fn}")


_NO_VALUE = object()


def resolve_literal(template: dict, params: dict[str, str], value: Any) -> Any:
    """Resolves Fn::If (and AWS::NoValue) in a value that must otherwise be literal, such as an
    EventPattern, plus the names it may hold: a string Fn::Sub of parameters, and the Ref of an
    EventBridge rule (its name, for a rule on the default bus). Any other intrinsic function is an
    error: a pattern has to be data."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            cond, yes, no = value["Fn::If"]
            chosen = yes if evaluate_condition(template, params, cond) else no
            return resolve_literal(template, params, chosen)
        if set(value) == {"Ref"}:
            if value["Ref"] == "AWS::NoValue":
                return _NO_VALUE
            target = template["Resources"].get(value["Ref"])
            if target and target["Type"] == "AWS::Events::Rule":
                return physical_name(template, params, value["Ref"])
            raise ValueError(f"unexpected Ref {value['Ref']} in a literal value")
        if set(value) == {"Fn::Sub"}:
            return substitute(template, params, value)
        if any(k.startswith("Fn::") for k in value):
            raise ValueError(f"unexpected intrinsic function in a literal value: {value!r}")
        out = {}
        for k, v in value.items():
            r = resolve_literal(template, params, v)
            if r is not _NO_VALUE:
                out[k] = r
        return out
    if isinstance(value, list):
        items = [resolve_literal(template, params, v) for v in value]
        return [v for v in items if v is not _NO_VALUE]
    return value


def active(template: dict, params: dict[str, str], resource: dict) -> bool:
    cond = resource.get("Condition")
    return cond is None or evaluate_condition(template, params, cond)


# --- functions, roles and rules ---------------------------------------------------------------


def ref_target(expr: Any) -> str | None:
    """The logical id a Ref or GetAtt points at."""
    if isinstance(expr, dict):
        if "Ref" in expr:
            return expr["Ref"]
        if "Fn::GetAtt" in expr:
            return expr["Fn::GetAtt"][0]
    return None


def functions(template: dict) -> dict[str, str]:
    """Logical id of each AWS::Serverless::Function -> mamoru function name (guardduty, ...)."""
    out = {}
    for logical_id, res in resources(template, "AWS::Serverless::Function").items():
        binary = res["Metadata"]["BuildProperties"]["Binary"]
        assert binary.startswith(BINARY_PREFIX), binary
        out[logical_id] = binary[len(BINARY_PREFIX):]
    return out


def function_roles(template: dict) -> dict[str, str]:
    """mamoru function name -> logical id of its IAM role."""
    out = {}
    for logical_id, name in functions(template).items():
        role = ref_target(template["Resources"][logical_id]["Properties"]["Role"])
        out[name] = role
    return out


def _as_list(x: Any) -> list:
    return x if isinstance(x, list) else [x]


def role_statements(template: dict, role_id: str) -> list[dict]:
    role = template["Resources"][role_id]
    assert role["Type"] == "AWS::IAM::Role", role_id
    statements = []
    for policy in role["Properties"].get("Policies", []):
        statements.extend(_as_list(policy["PolicyDocument"]["Statement"]))
    return statements


def granted_actions(template: dict, role_id: str) -> set[str]:
    role = template["Resources"][role_id]["Properties"]
    if role.get("ManagedPolicyArns"):
        raise AssertionError(f"{role_id} has managed policies; the test cannot read them")
    actions: set[str] = set()
    for st in role_statements(template, role_id):
        if st.get("Effect") == "Allow":
            actions.update(_as_list(st["Action"]))
    return actions


def compare_permissions(template: dict, permissions: dict[str, list[str]]) -> list[str]:
    """Compares each function role's granted actions with the Rust side's declared permissions
    plus EXTRA_ACTIONS. Returns the problems found, empty when they match exactly."""
    problems = []
    roles = function_roles(template)
    for name in sorted(set(roles) | set(permissions)):
        if name not in roles:
            problems.append(f"{name}: declared by `mamoru permissions` but no function in the template")
            continue
        if name not in permissions:
            problems.append(f"{name}: a function in the template unknown to `mamoru permissions`")
            continue
        expected = set(permissions[name]) | EXTRA_ACTIONS
        granted = granted_actions(template, roles[name])
        for action in sorted(expected - granted):
            problems.append(f"{name}: role {roles[name]} is missing {action}")
        for action in sorted(granted - expected):
            problems.append(f"{name}: role {roles[name]} grants {action}, which no action declares")
    return problems


def rules(template: dict, params: dict[str, str]) -> dict[str, dict]:
    """Active AWS::Events::Rule -> {"name": physical name, "pattern": resolved EventPattern,
    "functions": [names]}."""
    fns = functions(template)
    out = {}
    for logical_id, res in resources(template, "AWS::Events::Rule").items():
        if not active(template, params, res):
            continue
        props = res["Properties"]
        targets = [fns[ref_target(t["Arn"])] for t in props.get("Targets", [])]
        out[logical_id] = {
            "name": physical_name(template, params, logical_id),
            "pattern": resolve_literal(template, params, props["EventPattern"]),
            "functions": targets,
        }
    return out


def pattern_alternatives(pattern: dict) -> list[dict]:
    """Expands the `$or` of a pattern's `detail` into plain alternatives (one level, as used in
    the template)."""
    detail = pattern.get("detail", {})
    if "$or" not in detail:
        return [pattern]
    base = {k: v for k, v in detail.items() if k != "$or"}
    out = []
    for alt in detail["$or"]:
        p = copy.deepcopy(pattern)
        p["detail"] = {**copy.deepcopy(base), **alt}
        out.append(p)
    return out


# --- the Rust side ------------------------------------------------------------------------------


def mamoru_json(subcommand: str) -> Any:
    """Runs `mamoru <subcommand>`: MAMORU_BIN, else MAMORU_BIN_DIR/mamoru, else
    target/debug/mamoru (built when missing; infra/check.sh rebuilds it so it is current)."""
    binary = os.environ.get("MAMORU_BIN")
    if not binary and os.environ.get("MAMORU_BIN_DIR"):
        binary = str(Path(os.environ["MAMORU_BIN_DIR"]) / "mamoru")
    binary = binary or str(REPO / "target" / "debug" / "mamoru")
    if not Path(binary).exists():
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "mamoru-cli"], cwd=REPO, check=True
        )
    out = subprocess.run([binary, subcommand], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)
