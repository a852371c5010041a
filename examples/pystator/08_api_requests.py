"""Seed 002, step 9: what the REST API's validate and process endpoints compute.

statefleet ships no HTTP server; these two functions are what a handler for
`POST /api/v1/validate` and `POST /api/v1/process` would call, with the same JSON bodies.
Entity endpoints map onto sessions and the persistence layer.
"""

import json
from typing import Any

from statefleet.formats.pystator import StateMachine


def validate(body: dict[str, Any]) -> dict[str, Any]:
    errors = StateMachine.validate_config(body["config"])
    return {"valid": not errors, "errors": errors}


def process(body: dict[str, Any]) -> dict[str, Any]:
    machine = StateMachine.from_dict(body["config"])
    result = machine.process(body["current_state"], body["trigger"], body.get("context", {}))
    return {
        "success": result.success,
        "source_state": result.source_state,
        "target_state": result.target_state,
        "actions": result.action_names,
        "error": result.metadata.get("reason") if not result.success else None,
    }


config = {
    "meta": {"machine_name": "order_management", "version": "1.0.0"},
    "states": [
        {"name": "pending", "type": "initial"},
        {"name": "open", "type": "stable"},
        {"name": "filled", "type": "terminal"},
    ],
    "transitions": [
        {"trigger": "exchange_ack", "source": "pending", "dest": "open"},
        {"trigger": "fill", "source": "open", "dest": "filled", "actions": ["notify"]},
    ],
}

print(json.dumps(validate({"config": config})))
broken = {**config, "states": [{"name": "Pending", "type": "initial"}]}
print(json.dumps(validate({"config": broken})))
print(json.dumps(process({"config": config, "current_state": "open", "trigger": "fill"})))
print(json.dumps(process({"config": config, "current_state": "pending", "trigger": "fill"})))
