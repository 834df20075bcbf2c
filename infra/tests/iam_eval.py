"""A small IAM policy evaluator for the tests: does a role, with its identity policies and its
permissions boundary, allow one request (action, resource, request context)?

It follows the IAM evaluation logic for a principal in the account that owns the resource, with
no resource-based policy, session policy or SCP in play:

* an explicit Deny in any of the policies (identity or boundary) wins;
* otherwise the request is allowed only if an identity policy allows it AND the boundary allows
  it (when the role has one);
* otherwise it is implicitly denied.

A statement applies when its Action (or NotAction) matches the action, case-insensitively, with
`*` and `?` wildcards; its Resource (or NotResource) matches the resource ARN, case-sensitively,
with the same wildcards (`*` may cross `:` and `/`, as in IAM); and its Condition holds. Only the
condition operators the template uses are implemented (StringEquals, StringLike, ArnEquals,
ArnLike, their negations, Bool, and ForAllValues: over these); any other operator is an error,
never silently true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable


def _as_list(x: Any) -> list:
    return x if isinstance(x, list) else [x]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _action_matches(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(matches(p, action, ignore_case=True) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(matches(p, action, ignore_case=True) for p in _as_list(statement["NotAction"]))
    raise ValueError(f"statement without Action or NotAction: {statement!r}")


def _resource_matches(statement: dict, resource: str) -> bool:
    if "Resource" in statement:
        return any(matches(p, resource) for p in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(matches(p, resource) for p in _as_list(statement["NotResource"]))
    raise ValueError(f"statement without Resource or NotResource: {statement!r}")


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        if operator.startswith("ForAllValues:"):
            # A multivalued key (dynamodb:LeadingKeys): every value of the request must pass;
            # a request without the key passes (IAM's ForAllValues semantics).
            op = operator[len("ForAllValues:") :]
            for key, wanted in tests.items():
                actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
                for value in _as_list(actual) if actual is not None else []:
                    if not _condition_holds({op: {key: wanted}}, {key: value}):
                        return False
            continue
        if_exists = operator.endswith("IfExists")
        op = operator[: -len("IfExists")] if if_exists else operator
        for key, wanted in tests.items():
            # Condition keys are case-insensitive.
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if actual is None:
                if if_exists:
                    continue
                # A missing key never satisfies a positive operator; the negated string and
                # ARN operators are true when the key is absent.
                if op.startswith(("StringNot", "ArnNot")):
                    continue
                return False
            wanted = [str(w) for w in _as_list(wanted)]
            if op in ("StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif op in ("StringLike", "ArnLike"):
                ok = any(matches(w, actual) for w in wanted)
            elif op in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in wanted
            elif op in ("StringNotLike", "ArnNotLike"):
                ok = not any(matches(w, actual) for w in wanted)
            elif op == "Bool":
                ok = actual.lower() in [w.lower() for w in wanted]
            else:
                raise ValueError(f"condition operator {operator} is not implemented")
            if not ok:
                return False
    return True


def statement_applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    return (
        _action_matches(statement, action)
        and _resource_matches(statement, resource)
        and _condition_holds(statement.get("Condition", {}), context)
    )


def _effects(statements: Iterable[dict], action: str, resource: str, context: dict[str, str]) -> set[str]:
    return {
        st["Effect"] for st in statements if statement_applies(st, action, resource, context)
    }


@dataclass
class Principal:
    """A role: the statements of its identity policies and, if it has one, of its boundary."""

    identity: list[dict]
    boundary: list[dict] | None = None
    context: dict[str, str] = field(default_factory=dict)

    def decide(self, action: str, resource: str, context: dict[str, str] | None = None) -> str:
        """'allow', 'explicit-deny' or 'implicit-deny'."""
        ctx = {**self.context, **(context or {})}
        identity = _effects(self.identity, action, resource, ctx)
        boundary = _effects(self.boundary, action, resource, ctx) if self.boundary is not None else set()
        if "Deny" in identity or "Deny" in boundary:
            return "explicit-deny"
        if "Allow" in identity and (self.boundary is None or "Allow" in boundary):
            return "allow"
        return "implicit-deny"

    def allows(self, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
        return self.decide(action, resource, context) == "allow"
