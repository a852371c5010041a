"""The xstate front-end's per-event shortcuts (issue 16) keep xstate-statemachine's behaviour.

The action hooks read the interpreter's plugins as one tuple that ``use()`` and assigning
``plugins`` replace, and call the user's action with its own argument form directly: each test
here fails if a hook misses a plugin added or removed after start, or an action gets the wrong
arguments.
"""

from __future__ import annotations

from typing import Any

from statefleet.compat.xstate import (
    Event,
    MachineLogic,
    PluginBase,
    SyncInterpreter,
    create_machine,
)


class Recorder(PluginBase):
    def __init__(self) -> None:
        self.actions: list[str] = []

    def on_action_execute(self, interpreter: Any, action: Any) -> None:
        self.actions.append(action.type)


CONFIG = {
    "id": "m",
    "initial": "s",
    "context": {"got": []},
    "states": {"s": {"on": {"GO": {"actions": ["none", "one", "two", "three", "four"]}}}},
}


def _logic() -> MachineLogic:
    def none() -> None:
        pass

    def one(context: Any) -> None:
        context["got"].append(("one", len(context["got"])))

    def two(context: Any, event: Any) -> None:
        context["got"].append(("two", event.type, dict(event.data)))

    def three(context: Any, event: Any, action: Any) -> None:
        context["got"].append(("three", action.type))

    def four(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        context["got"].append(("four", type(interpreter).__name__, action.type))

    return MachineLogic(
        actions={"none": none, "one": one, "two": two, "three": three, "four": four}
    )


def test_plugins_added_or_removed_after_start_see_exactly_their_actions() -> None:
    interp = SyncInterpreter(create_machine(CONFIG, logic=_logic())).start()
    first, second = Recorder(), Recorder()
    interp.send("GO")
    interp.use(first)
    interp.send("GO")
    interp.plugins = [second]
    interp.send(Event("GO"))
    interp.plugins = []
    interp.send({"type": "GO"})
    names = ["none", "one", "two", "three", "four"]
    assert first.actions == names
    assert second.actions == names


def test_every_action_form_gets_its_own_arguments() -> None:
    interp = SyncInterpreter(create_machine(CONFIG, logic=_logic())).start()
    interp.use(Recorder())  # the hooked path
    interp.send("GO", k=1)
    interp.plugins = []  # and the plain one
    interp.send("GO")
    assert interp.context["got"] == [
        ("one", 0),
        ("two", "GO", {"k": 1}),
        ("three", "three"),
        ("four", "XStateSession", "four"),
        ("one", 4),
        ("two", "GO", {}),
        ("three", "three"),
        ("four", "XStateSession", "four"),
    ]
