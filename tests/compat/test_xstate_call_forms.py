"""xstate-statemachine machines whose guarded transitions stay put (run by the engine's
specialised step, which calls the user's functions in XState's argument forms itself) behave
as the same transitions that move (the full macrostep, through the adapters): ``assign``,
function actions and the interpreter argument."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.compat.xstate import MachineLogic, SyncInterpreter, assign, create_machine


def _machine(shape: str, on: dict[str, Any], logic: MachineLogic) -> Any:
    def handler(other: str) -> dict[str, Any]:
        return on if shape == "targetless" else {**on, "target": other}

    config = {
        "id": "m",
        "initial": "s",
        "context": {"n": 0},
        "states": {"s": {"on": {"go": handler("t")}}, "t": {"on": {"go": handler("s")}}},
    }
    return create_machine(config, logic=logic)


@pytest.mark.parametrize("shape", ["targetless", "moving"])
def test_assign_and_a_function_action_in_a_guarded_transition(shape: str) -> None:
    seen: list[tuple[Any, int, Any]] = []

    def ok(context: Any, event: Any) -> bool:
        return bool(context["n"] < 2)

    def note(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        seen.append((interpreter, context["n"], event.data.get("by")))

    logic = MachineLogic(guards={"ok": ok}, actions={"note": note})
    on = {
        "guard": "ok",
        "actions": [assign({"n": lambda a: a["context"]["n"] + a["event"]["by"]}), "note"],
    }
    interp = SyncInterpreter(_machine(shape, on, logic)).start()
    for _ in range(3):
        interp.send("go", by=1)
    assert interp.context["n"] == 2
    assert [s[1:] for s in seen] == [(1, 1), (2, 1)]
    assert all(s[0] is seen[0][0] for s in seen)


@pytest.mark.parametrize("shape", ["targetless", "moving"])
def test_a_lone_assign_behind_a_guard_reads_the_event(shape: str) -> None:
    def ok(context: Any, event: Any) -> bool:
        return "by" in event.data

    logic = MachineLogic(guards={"ok": ok})
    on = {"guard": "ok", "actions": assign({"n": lambda a: a["context"]["n"] + a["event"]["by"]})}
    interp = SyncInterpreter(_machine(shape, on, logic)).start()
    interp.send("go", by=5)
    interp.send("go")
    interp.send("go", by=2)
    assert interp.context["n"] == 7
