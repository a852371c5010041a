"""Seed 003, "Guards", "Actions" and "Context": decorators on the machine, inline guards,
action params, exit -> transition -> enter order, execution modes and async actions."""

import asyncio
from pathlib import Path
from typing import Any

from statefleet.formats.pystator import (
    ActionExecutor,
    ExecutionMode,
    StateMachine,
    flatten_context_for_guards,
)

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "signup.yaml")


@machine.guard("token_valid")
def token_valid(ctx: dict[str, Any]) -> bool:
    return ctx.get("token") == ctx.get("expected_token")


for name in ("log_leave", "send_email", "audit", "grant_access"):

    def action(ctx: dict[str, Any], name: str = name) -> None:
        params = ctx.get("_action_params")
        print(f"   {name}" + (f" {params}" if params else ""))

    machine.action(name)(action)

user = machine.create(context={"expected_token": "abc", "profile_age": 30, "country": "fr"})
print("confirm with a bad token:", user.confirm(token="zzz").metadata["reason"])
print("confirm (exit -> transition -> enter):")
user.confirm(token="abc")
print(user.current_state)  # confirmed

# The same actions, phased or in the order the step produced them
result = machine.process("registered", "confirm", {"token": "t", "expected_token": "t"})
print([f"{a.phase}:{a.name}" for a in result.actions_to_run])
phased = ActionExecutor(machine.actions, mode=ExecutionMode.PHASED)
print("phased executor:")
phased.execute(result, {})

# Inline guards see the context; nested data can be flattened for them
print(machine.process("confirmed", "activate", {"profile_age": 16, "country": "fr"}).success)
nested = {"profile": {"age": 40}}
flat = flatten_context_for_guards(nested)
print(flat["profile_age"])  # 40

# Async actions: asend() awaits them after the commit
events: list[str] = []


async def notify_async(ctx: dict[str, Any]) -> None:
    await asyncio.sleep(0)
    events.append("granted")


machine.actions.register("grant_access", notify_async)


async def main() -> None:
    await user.asend("activate")
    print(user.current_state, events)  # active ['granted']


asyncio.run(main())
