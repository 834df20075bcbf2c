"""Reading infra/template.yaml in tests: a YAML loader for the CloudFormation short-form tags,
condition evaluation with parameter values, and the few facts the tests compare (which function a
resource belongs to, the actions a role grants, the rules' patterns)."""

from __future__ import annotations

import copy
import functools
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
# The member accounts' template (a StackSet); MAMORU_MEMBER_TEMPLATE likewise.
MEMBER_TEMPLATE = Path(os.environ.get("MAMORU_MEMBER_TEMPLATE") or INFRA / "member.yaml")
FIXTURES = REPO / "tests" / "fixtures" / "events"

# The one Lambda binary of the four functions. The Rust side's function names, as `mamoru
# permissions` / `mamoru routes` key them, are each function's MAMORU_FUNCTION.
BINARY = "mamoru-lambda"

# Assuming the member role in a member account of the organization (infra/member.yaml), naming
# the session's source identity and tags: what the functions do before acting outside the hub's
# own account.
MEMBER_ROLE_ACTIONS = frozenset({"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"})

# What every role grants on top of the actions' own permissions: writing its log group,
# publishing to the alert topic, the Lambda on-failure destination (the SQS DLQ), which Lambda
# sends to with the function's execution role, and assuming the member role.
EXTRA_ACTIONS = frozenset(
    {"logs:CreateLogStream", "logs:PutLogEvents", "sns:Publish", "sqs:SendMessage"}
) | MEMBER_ROLE_ACTIONS


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
    "AWS::Events::EventBus": "Name",
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
    EventPattern, plus the names it may hold: a string Fn::Sub of parameters, the Ref of a
    parameter, and the Ref of an EventBridge rule (its name, for a rule on the default bus). Any
    other intrinsic function is an error: a pattern has to be data."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            cond, yes, no = value["Fn::If"]
            chosen = yes if evaluate_condition(template, params, cond) else no
            return resolve_literal(template, params, chosen)
        if set(value) == {"Ref"}:
            if value["Ref"] == "AWS::NoValue":
                return _NO_VALUE
            if value["Ref"] in template.get("Parameters", {}):
                return params[value["Ref"]]
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


@functools.cache
def state_actions() -> frozenset[str]:
    """The IAM actions on the state table (`mamoru permissions --grants`, the statements under
    the `leading_keys` condition): the hub's own table, never granted in a member account."""
    return frozenset(
        st["action"]
        for statements in mamoru_json("permissions", "--grants").values()
        for st in statements
        if st.get("condition") == "leading_keys"
    )


@functools.cache
def hub_only_actions() -> frozenset[str]:
    """The IAM actions of grants that are the hub's own, not an action's (`mamoru permissions
    --grants`, the statements `by` `write_back`: the Security Hub write-back, made in the hub that
    delivered the finding), never granted in a member account."""
    return frozenset(
        st["action"]
        for statements in mamoru_json("permissions", "--grants").values()
        for st in statements
        if st.get("by") in (["write_back"], ["publish_findings"])
    )


@functools.cache
def gated_grants() -> dict[str, dict[str, str]]:
    """Function -> {IAM action: template condition} of the registry's grants that exist only
    under a stack condition (`mamoru permissions --grants`, the statements' `when`: the
    Security Hub import under PublishFindingsOn)."""
    out: dict[str, dict[str, str]] = {}
    for function, statements in mamoru_json("permissions", "--grants").items():
        for st in statements:
            if st.get("when"):
                out.setdefault(function, {})[st["action"]] = st["when"]
    return out


def gated_off(template: dict, params: dict[str, str]) -> dict[str, set[str]]:
    """Function -> the IAM actions of gated grants (`gated_grants`) whose condition is false
    under `params`: the role must not grant them."""
    return {
        function: {a for a, cond in actions.items() if not evaluate_condition(template, params, cond)}
        for function, actions in gated_grants().items()
    }


def union_of_grants(permissions: dict, containment: bool) -> set[str]:
    """What the member role grants (infra/member.yaml): the permissions of the functions
    together, without the containment-only ones when containment is off. Assuming the member
    role, the state table and the Security Hub write-back are the hub's part: should the
    registry declare them, the member role still does not get them (it assumes no role, holds no
    state and writes back to no finding)."""
    contained = containment_only(permissions)
    return set().union(
        *(set(actions) - (set() if containment else contained[name]) for name, actions in permissions.items())
    ) - MEMBER_ROLE_ACTIONS - state_actions() - hub_only_actions()


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
    """Logical id of each AWS::Serverless::Function -> mamoru function name (guardduty, ...):
    every function runs the one binary, and its MAMORU_FUNCTION says which function it is."""
    out = {}
    for logical_id, res in resources(template, "AWS::Serverless::Function").items():
        binary = res["Metadata"]["BuildProperties"]["Binary"]
        assert binary == BINARY, (logical_id, binary)
        out[logical_id] = res["Properties"]["Environment"]["Variables"]["MAMORU_FUNCTION"]
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


def resolve_conditions(template: dict, params: dict[str, str], value: Any) -> Any:
    """Resolves every Fn::If of a value with `params` and drops AWS::NoValue (a property, or a
    list item, as CloudFormation does); other intrinsic functions are kept as they are."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            cond, yes, no = value["Fn::If"]
            chosen = yes if evaluate_condition(template, params, cond) else no
            return resolve_conditions(template, params, chosen)
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        out = {}
        for k, v in value.items():
            r = resolve_conditions(template, params, v)
            if r is not _NO_VALUE:
                out[k] = r
        return out
    if isinstance(value, list):
        items = [resolve_conditions(template, params, v) for v in value]
        return [v for v in items if v is not _NO_VALUE]
    return value


def policy_statements(template: dict, params: dict[str, str], document: dict) -> list[dict]:
    """The statements of a policy document in force under `params`."""
    return _as_list(resolve_conditions(template, params, document)["Statement"])


def role_statements(template: dict, role_id: str, params: dict[str, str]) -> list[dict]:
    """The statements of a role's inline policies in force under `params` (conditional
    statements resolved)."""
    role = template["Resources"][role_id]
    assert role["Type"] == "AWS::IAM::Role", role_id
    statements = []
    for policy in role["Properties"].get("Policies", []):
        statements.extend(policy_statements(template, params, policy["PolicyDocument"]))
    return statements


def granted_actions(template: dict, role_id: str, params: dict[str, str]) -> set[str]:
    role = template["Resources"][role_id]["Properties"]
    if role.get("ManagedPolicyArns"):
        raise AssertionError(f"{role_id} has managed policies; the test cannot read them")
    actions: set[str] = set()
    for st in role_statements(template, role_id, params):
        if st.get("Effect") == "Allow":
            actions.update(_as_list(st["Action"]))
    return actions


# Parameter values that turn containment on and off.
CONTAINMENT_ON = {"Containment": "on"}
CONTAINMENT_OFF = {"Containment": "off"}

def declared_actions(permissions: dict) -> dict[str, set[str]]:
    """`mamoru permissions` as function -> set of IAM actions."""
    return {name: set(actions) for name, actions in permissions.items()}


@functools.cache
def containment_permissions() -> dict[str, frozenset[str]]:
    """`mamoru permissions --containment`: function -> the permissions only containment actions
    (quarantine_user, revoke_role_sessions, isolate_instance, revoke_world_open_admin_ingress,
    restore_bucket_public_access_block, ...) use, which the template grants only with
    Containment=on."""
    return {name: frozenset(actions) for name, actions in mamoru_json("permissions", "--containment").items()}


def containment_only(permissions: dict) -> dict[str, set[str]]:
    """Function -> the permissions of `permissions` (`mamoru permissions`, or a test's changed
    copy of it) that only containment actions use, as `mamoru permissions --containment` says."""
    contained = containment_permissions()
    unknown = sorted(set(contained) - set(permissions))
    assert not unknown, f"`mamoru permissions --containment` names unknown functions {unknown}"
    return {name: set(contained.get(name, ())) & set(actions) for name, actions in permissions.items()}


def expected_actions(permissions: dict, containment: bool) -> dict[str, set[str]]:
    """Function -> the actions its role must grant with containment on or off: the declared
    permissions (without the containment-only ones when off) plus EXTRA_ACTIONS."""
    declared = declared_actions(permissions)
    contained = containment_only(permissions)
    return {
        name: (actions if containment else actions - contained[name]) | EXTRA_ACTIONS
        for name, actions in declared.items()
    }


def compare_permissions(
    template: dict, permissions: dict, params: dict[str, str] | None = None
) -> list[str]:
    """Compares each function role's granted actions under `params` (default: every parameter
    at its default, containment off) with the Rust side's declared permissions plus
    EXTRA_ACTIONS, less the containment-only permissions when containment is off. Returns the
    problems found, empty when they match exactly."""
    params = parameter_values(template, params)
    containment = evaluate_condition(template, params, "ContainmentOn")
    wanted = expected_actions(permissions, containment)
    for function, off in gated_off(template, params).items():
        if function in wanted:
            wanted[function] = wanted[function] - off
    problems = []
    roles = function_roles(template)
    for name in sorted(set(roles) | set(permissions)):
        if name not in roles:
            problems.append(f"{name}: declared by `mamoru permissions` but no function in the template")
            continue
        if name not in permissions:
            problems.append(f"{name}: a function in the template unknown to `mamoru permissions`")
            continue
        expected = wanted[name]
        granted = granted_actions(template, roles[name], params)
        for action in sorted(expected - granted):
            problems.append(f"{name}: role {roles[name]} is missing {action}")
        for action in sorted(granted - expected):
            problems.append(f"{name}: role {roles[name]} grants {action}, which no action declares")
    return problems


def event_bus(template: dict, params: dict[str, str], rule_id: str) -> str | None:
    """The name of the event bus a rule is on: None for the default bus, else the physical name of
    the template's AWS::Events::EventBus it names (by Ref or GetAtt Name)."""
    props = template["Resources"][rule_id]["Properties"]
    if "EventBusName" not in props:
        return None
    expr = props["EventBusName"]
    bus_id = ref_target(expr)
    assert bus_id and template["Resources"][bus_id]["Type"] == "AWS::Events::EventBus", (rule_id, expr)
    assert "Ref" in expr or expr["Fn::GetAtt"][1] == "Name", (rule_id, expr)
    return physical_name(template, params, bus_id)


def rules(template: dict, params: dict[str, str]) -> dict[str, dict]:
    """Active AWS::Events::Rule -> {"name": physical name, "bus": event bus name (None: the
    default bus), "pattern": resolved EventPattern, "functions": [names]}."""
    fns = functions(template)
    out = {}
    for logical_id, res in resources(template, "AWS::Events::Rule").items():
        if not active(template, params, res):
            continue
        props = res["Properties"]
        targets = [fns[ref_target(t["Arn"])] for t in props.get("Targets", [])]
        out[logical_id] = {
            "name": physical_name(template, params, logical_id),
            "bus": event_bus(template, params, logical_id),
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


def mamoru_binary() -> str:
    """The `mamoru` CLI: MAMORU_BIN, else MAMORU_BIN_DIR/mamoru, else target/debug/mamoru (built
    when missing; infra/check.sh rebuilds it so it is current)."""
    binary = os.environ.get("MAMORU_BIN")
    if not binary and os.environ.get("MAMORU_BIN_DIR"):
        binary = str(Path(os.environ["MAMORU_BIN_DIR"]) / "mamoru")
    binary = binary or str(REPO / "target" / "debug" / "mamoru")
    if not Path(binary).exists():
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "mamoru-cli"], cwd=REPO, check=True
        )
    return binary


def mamoru_json(*args: str) -> Any:
    """Runs `mamoru <args>` and reads its JSON output."""
    out = subprocess.run([mamoru_binary(), *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def mamoru_decisions(events: list[dict], tmp_dir: Path, env: dict[str, str]) -> list[dict]:
    """`mamoru replay --json` of each event (dry-run: parse and decide, no AWS access) with the
    MAMORU_* settings `env`, one decision per event, in order."""
    files = []
    for i, event in enumerate(events):
        f = tmp_dir / f"event-{i:04d}.json"
        f.write_text(json.dumps(event), encoding="utf-8")
        files.append(str(f))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAMORU_") or k.startswith("MAMORU_BIN")}
    out = subprocess.run(
        [mamoru_binary(), "replay", "--json", *files],
        capture_output=True, text=True, env={**clean, **env},
    )
    decisions = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(decisions) == len(events), out.stderr
    by_file = {d["file"]: d for d in decisions}
    return [by_file[f] for f in files]


# --- the stack's own resources ---------------------------------------------------------------


def own_resources(template: dict, params: dict[str, str]) -> dict[str, list[str]]:
    """The resources the stack creates that mamoru watches as its own: "rules" and "functions"
    by physical name, "topics" by ARN (the alert topic given as ExistingTopicArn in its place)."""
    active_ids = lambda type_: [
        lid for lid, res in resources(template, type_).items() if active(template, params, res)
    ]
    topics = [fake_physical(template, params, lid, None) for lid in active_ids("AWS::SNS::Topic")]
    if not evaluate_condition(template, params, "CreateTopic"):
        topics.append(params["ExistingTopicArn"])
    return {
        "rules": [physical_name(template, params, lid) for lid in active_ids("AWS::Events::Rule")],
        "functions": [
            physical_name(template, params, lid) for lid in active_ids("AWS::Serverless::Function")
        ],
        "topics": topics,
    }


def self_resources(value: str) -> list[str]:
    """MAMORU_SELF_RESOURCES as the functions read it: comma-separated, each entry with at most
    one group `prefix{a|b}suffix` naming `prefixasuffix` and `prefixbsuffix` (settings.rs)."""
    out = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        m = re.fullmatch(r"([^{}]*)\{([^{}]*)\}([^{}]*)", entry)
        if m is None:
            assert "{" not in entry and "}" not in entry, entry
            out.append(entry)
            continue
        prefix, group, suffix = m.groups()
        alternatives = group.split("|")
        assert all(a.strip() for a in alternatives), entry
        out.extend(f"{prefix}{a.strip()}{suffix}" for a in alternatives)
    return out


def environment(template: dict, params: dict[str, str], function_id: str) -> dict[str, str]:
    """A function's environment variables, evaluated (made-up values for generated names)."""
    variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
    return {k: str(v) for k, v in evaluate(template, params, variables).items()}


# --- concrete values, for evaluating policies offline ------------------------------------------


def fake_physical(template: dict, params: dict[str, str], logical_id: str, attribute: str | None) -> str:
    """What CloudFormation would return for `Ref` (attribute None) or `Fn::GetAtt` of a
    resource, with a made-up suffix where the name is generated."""
    p = _with_pseudo(params)
    stack, region, account, partition = (
        p["AWS::StackName"], p["AWS::Region"], p["AWS::AccountId"], p["AWS::Partition"]
    )
    res = template["Resources"][logical_id]
    props = res.get("Properties", {})
    generated = f"{stack}-{logical_id}-FAKE0SUFFIX"
    t = res["Type"]
    if t == "AWS::IAM::Role" and attribute == "Arn":
        return f"arn:{partition}:iam::{account}:role{props.get('Path', '/')}{generated}"
    if t == "AWS::IAM::ManagedPolicy" and attribute is None:
        return f"arn:{partition}:iam::{account}:policy{props.get('Path', '/')}{generated}"
    if t == "AWS::SNS::Topic" and attribute is None:
        name = substitute(template, params, props["TopicName"]) if "TopicName" in props else generated
        return f"arn:{partition}:sns:{region}:{account}:{name}"
    if t == "AWS::SQS::Queue" and attribute == "Arn":
        return f"arn:{partition}:sqs:{region}:{account}:{generated}"
    if t == "AWS::Logs::LogGroup" and attribute == "Arn":
        return f"arn:{partition}:logs:{region}:{account}:log-group:{generated}:*"
    if t == "AWS::Events::Rule" and attribute == "Arn":
        bus = event_bus(template, params, logical_id)
        name = physical_name(template, params, logical_id)
        return f"arn:{partition}:events:{region}:{account}:rule/{bus + '/' if bus else ''}{name}"
    if t == "AWS::Events::EventBus" and attribute in (None, "Name"):
        return physical_name(template, params, logical_id)
    if t == "AWS::Events::EventBus" and attribute == "Arn":
        return f"arn:{partition}:events:{region}:{account}:event-bus/{physical_name(template, params, logical_id)}"
    if t == "AWS::Serverless::Function" and attribute == "Arn":
        return f"arn:{partition}:lambda:{region}:{account}:function:{physical_name(template, params, logical_id)}"
    if t == "AWS::DynamoDB::Table" and attribute is None:
        return substitute(template, params, props["TableName"]) if "TableName" in props else generated
    raise ValueError(f"no made-up value for {logical_id} ({t}) {attribute or 'Ref'}")


def evaluate(template: dict, params: dict[str, str], value: Any, physical=None) -> Any:
    """Evaluates a template value to plain data: Fn::If, Ref, Fn::GetAtt, Fn::Sub and Fn::Join,
    with `params`, the pseudo parameters and `physical(logical_id, attribute)` for resources
    (default: fake_physical). A reference to an unknown name is an error."""
    physical = physical or (lambda lid, attr: fake_physical(template, params, lid, attr))
    values = _with_pseudo(params)

    def ref(name: str, attr: str | None = None) -> Any:
        if attr is None and name in values:
            return values[name]
        if name not in template["Resources"]:
            raise ValueError(f"reference to an unknown name {name}")
        return physical(name, attr)

    def ev(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"Fn::If"}:
                cond, yes, no = v["Fn::If"]
                return ev(yes if evaluate_condition(template, params, cond) else no)
            if v == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            if set(v) == {"Ref"}:
                return ref(v["Ref"])
            if set(v) == {"Fn::GetAtt"}:
                lid, attr = v["Fn::GetAtt"]
                return ref(lid, attr)
            if set(v) == {"Fn::Join"}:
                sep, items = v["Fn::Join"]
                return sep.join(str(x) for x in ev(items))
            if set(v) == {"Fn::Sub"}:
                text, local = (v["Fn::Sub"], {}) if isinstance(v["Fn::Sub"], str) else v["Fn::Sub"]
                local = {k: ev(x) for k, x in local.items()}

                def one(m: re.Match) -> str:
                    name = m.group(1)
                    if name in local:
                        return str(local[name])
                    if "." in name and not name.startswith("AWS::"):
                        lid, attr = name.split(".", 1)
                        return str(ref(lid, attr))
                    return str(ref(name))

                return re.sub(r"\$\{([^}!]+)\}", one, text)
            if any(k.startswith("Fn::") for k in v):
                raise ValueError(f"evaluate: unsupported intrinsic function in {v!r}")
            out = {}
            for k, x in v.items():
                r = ev(x)
                if r is not _NO_VALUE:
                    out[k] = r
            return out
        if isinstance(v, list):
            return [r for r in (ev(x) for x in v) if r is not _NO_VALUE]
        return v

    return ev(value)


# --- the member accounts' template ---------------------------------------------------------------

# A member template's forwarding rule is Forward<Rule>, feeding the hub's Central<Rule>, the twin
# on the central bus of the hub's default-bus <Rule>.
FORWARD_PREFIX = "Forward"
CENTRAL_PREFIX = "Central"

# Parameter values for reading infra/member.yaml offline (its hub parameters have no default).
MEMBER_PARAMETERS = {
    "HubAccountId": PSEUDO_PARAMETERS["AWS::AccountId"],
    "OrganizationId": "o-a1b2c3d4e5",
    "CentralEventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/mamoru-mamoru-central",
}


def load_member_template() -> dict:
    return load_template(MEMBER_TEMPLATE)


def forwarding_rules(member: dict, params: dict[str, str]) -> dict[str, dict]:
    """AWS::Events::Rule of the member template -> {"name", "twin" (the hub's default-bus rule it
    mirrors), "pattern" (resolved), "targets" (as written)}."""
    out = {}
    for logical_id, res in resources(member, "AWS::Events::Rule").items():
        assert logical_id.startswith(FORWARD_PREFIX), logical_id
        props = res["Properties"]
        out[logical_id] = {
            "name": substitute(member, params, props["Name"]),
            "twin": logical_id[len(FORWARD_PREFIX):],
            "pattern": resolve_literal(member, params, props["EventPattern"]),
            "targets": props["Targets"],
        }
    return out
