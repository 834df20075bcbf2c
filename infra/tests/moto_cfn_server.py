"""moto_server with two CloudFormation deviations corrected, for the deploy tests.

    python moto_cfn_server.py -H 127.0.0.1 -p PORT

CloudFormation drops a list item that is `{"Ref": "AWS::NoValue"}`, or an `Fn::If` whose chosen
branch is one: `Statement: [A, !If [ContainmentOn, B, !Ref AWS::NoValue]]` is `[A]` when the
condition is false. moto 5.2.5 keeps a null in the list instead, and its IAM policy validator then
rejects the whole policy document ("Syntax errors in policy"), so the stack cannot be created
under the parameters where a conditional statement is off. This wraps moto's template evaluation
(moto.cloudformation.parsing.clean_json) so that such list items are dropped, as CloudFormation
does; conditions are still evaluated by moto, and every other value goes through moto unchanged.

moto 5.2.5's AWS::Events::EventBus has no physical resource id: the stack lists the bus with an
empty PhysicalResourceId and `Ref` of it yields moto's object instead of the bus's name (what
CloudFormation returns). The bus's physical id is made its name.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.cloudformation import parsing

_NO_VALUE = {"Ref": "AWS::NoValue"}
_clean_json = parsing.clean_json


def _is_no_value(value: Any, resources_map: Any) -> bool:
    if value == _NO_VALUE:
        return True
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, yes, no = value["Fn::If"]
        chosen = yes if resources_map.lazy_condition_map[condition] else no
        return _is_no_value(chosen, resources_map)
    return False


def clean_json(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, list):
        return [
            clean_json(v, resources_map)
            for v in resource_json
            if not _is_no_value(v, resources_map)
        ]
    return _clean_json(resource_json, resources_map)


# clean_json recurses through the module global, so nested lists are corrected too.
parsing.clean_json = clean_json

from moto.events.models import EventBus  # noqa: E402

if not hasattr(EventBus, "physical_resource_id"):
    EventBus.physical_resource_id = property(lambda bus: bus.name)

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
