"""xstate-statemachine's documented public API, used the way its README shows.

``from xstate_statemachine import ...`` becomes ``from statefleet.compat.xstate import ...``;
everything else in these programs is what an xstate-statemachine user writes.
"""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from statefleet import ActorSystem, ChartDefinitionError, StatefleetError, VirtualClock
from statefleet.compat.xstate import (
    ImplementationMissingError,
    Interpreter,
    InvalidConfigError,
    LoggingInspector,
    LogicLoader,
    MachineLogic,
    PluginBase,
    StateNotFoundError,
    SyncInterpreter,
    XStateMachineError,
    assign,
    create_machine,
    emit,
    log,
    raise_,
)

LIGHT = {
    "id": "lightSwitch",
    "initial": "off",
    "context": {"flips": 0},
    "states": {
        "off": {"on": {"TOGGLE": {"target": "on", "actions": "increment_flips"}}},
        "on": {"on": {"TOGGLE": {"target": "off", "actions": "increment_flips"}}},
    },
}

ORDER = {
    "id": "order",
    "initial": "cart",
    "context": {"items": 0, "emails": []},
    "states": {
        "cart": {
            "on": {
                "ADD": {"actions": "addItem"},
                "CHECKOUT": {"target": "paid", "guard": "hasItems"},
            }
        },
        "paid": {"entry": "sendConfirmationEmail", "type": "final"},
    },
}


def increment_flips_action(i: Any, ctx: dict[str, Any], e: Any, a: Any) -> None:
    ctx["flips"] += 1


# -- the README's quick start: async Interpreter ------------------------------------------------
@pytest.mark.anyio
async def test_readme_quick_start_with_the_async_interpreter() -> None:
    logic = MachineLogic(actions={"increment_flips": increment_flips_action})
    machine = create_machine(LIGHT, logic=logic)
    service = await Interpreter(machine).start()
    assert service.current_state_ids == {"lightSwitch.off"}
    await service.send("TOGGLE")
    assert service.current_state_ids == {"lightSwitch.on"}
    await service.send({"type": "TOGGLE"})
    assert service.context["flips"] == 2
    assert service.current_state_ids == {"lightSwitch.off"}
    await service.stop()
    assert service.status == "stopped"
    await service.send("TOGGLE")  # ignored once stopped, as in xstate-statemachine
    await service.stop()


@pytest.mark.anyio
async def test_async_interpreter_in_a_running_actor_system() -> None:
    machine = create_machine(
        LIGHT, logic=MachineLogic(actions={"increment_flips": increment_flips_action})
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        async with Interpreter(machine, system=system, id="switch-1") as service:
            await service.send("TOGGLE")
            assert system.get("switch-1") is service.ref
            assert service.ref.is_active("lightSwitch.on")
        assert system.get("switch-1") is None or service.status == "stopped"


# -- SyncInterpreter: current_state_ids ----------------------------------------------------------
def test_sync_interpreter_current_state_ids() -> None:
    machine = create_machine(
        LIGHT, logic=MachineLogic(actions={"increment_flips": increment_flips_action})
    )
    interp = SyncInterpreter(machine).start()
    assert interp.current_state_ids == {"lightSwitch.off"}
    interp.send("TOGGLE")
    assert interp.current_state_ids == {"lightSwitch.on"}
    assert interp.context == {"flips": 1}


# -- logic discovery: logic_providers, logic_modules, LogicLoader -------------------------------
class OrderLogic:
    """A provider: methods in snake_case implement the config's camelCase names."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def add_item(self, interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
        context["items"] += 1

    def has_items(self, context: dict[str, Any], event: Any) -> bool:
        return bool(context["items"])

    def send_confirmation_email(
        self, interpreter: Any, context: dict[str, Any], event: Any, action: Any
    ) -> None:
        self.sent.append(context["items"])


def test_logic_providers_find_snake_case_methods() -> None:
    provider = OrderLogic()
    machine = create_machine(ORDER, logic_providers=[provider])
    interp = SyncInterpreter(machine).start()
    interp.send("CHECKOUT")
    assert interp.current_state_ids == {"order.cart"}  # guard hasItems: no items yet
    interp.send("ADD")
    interp.send("CHECKOUT")
    assert interp.current_state_ids == {"order.paid"}
    assert provider.sent == [1]


def test_logic_modules_by_dotted_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "k13_order_logic.py").write_text(
        textwrap.dedent(
            """
            def add_item(interpreter, context, event, action):
                context["items"] += event.data.get("n", 1)

            def has_items(context, event):
                return context["items"] > 0

            def send_confirmation_email(interpreter, context, event, action):
                context["emails"].append("sent")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        machine = create_machine(ORDER, logic_modules=["k13_order_logic"])
        interp = SyncInterpreter(machine).start()
        interp.send("ADD", n=3)
        interp.send("CHECKOUT")
        assert interp.context == {"items": 3, "emails": ["sent"]}
    finally:
        sys.modules.pop("k13_order_logic", None)


def test_explicit_logic_wins_over_providers_and_modules() -> None:
    provider = OrderLogic()
    logic = MachineLogic(guards={"hasItems": lambda context, event: True})
    machine = create_machine(ORDER, logic=logic, logic_providers=[provider])
    interp = SyncInterpreter(machine).start()
    interp.send("CHECKOUT")  # the explicit guard lets it through with no items
    assert interp.current_state_ids == {"order.paid"}
    assert provider.sent == [0]


def test_logic_loader_registers_later() -> None:
    loader = LogicLoader()
    loader.register_logic_provider(OrderLogic())
    machine = create_machine(ORDER, logic=loader)
    interp = SyncInterpreter(machine).start()
    interp.send("ADD")
    interp.send("CHECKOUT")
    assert interp.current_state_ids == {"order.paid"}


def test_bad_logic_sources_are_typed_errors() -> None:
    with pytest.raises(InvalidConfigError, match="cannot be imported"):
        create_machine(ORDER, logic_modules=["no_such_module_k13"])
    with pytest.raises(InvalidConfigError, match="takes a list"):
        create_machine(ORDER, logic_modules="k13_order_logic")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="logic_providers"):
        create_machine(ORDER, logic_providers=[{"addItem": print}])


# -- exceptions ---------------------------------------------------------------------------------
def test_missing_implementation_and_bad_config_exceptions() -> None:
    with pytest.raises(ImplementationMissingError) as missing:
        create_machine(ORDER, logic_providers=[object()])
    assert isinstance(missing.value, XStateMachineError)
    assert isinstance(missing.value, ChartDefinitionError)
    assert "addItem" in str(missing.value)
    bad = {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "nowhere"}}}}
    with pytest.raises(InvalidConfigError) as invalid:
        create_machine(bad)
    assert invalid.value.path == "states.a.on.GO"
    assert isinstance(invalid.value, StatefleetError)


# -- plugins ------------------------------------------------------------------------------------
class Recorder(PluginBase):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_interpreter_start(self, interpreter: Any) -> None:
        self.calls.append(("start",))

    def on_event_received(self, interpreter: Any, event: Any) -> None:
        self.calls.append(("event", event.type, dict(event.data)))

    def on_transition(
        self, interpreter: Any, from_states: Any, to_states: Any, transition: Any
    ) -> None:
        self.calls.append(
            ("transition", sorted(s.id for s in from_states), sorted(s.id for s in to_states))
        )

    def on_done(self, interpreter: Any, output: Any) -> None:
        self.calls.append(("done",))

    def on_interpreter_stop(self, interpreter: Any) -> None:
        self.calls.append(("stop",))


def test_plugins_observe_the_sync_interpreter() -> None:
    rec = Recorder()
    interp = SyncInterpreter(create_machine(ORDER, logic_providers=[OrderLogic()]))
    assert interp.use(rec) is interp
    interp.start()
    interp.send("ADD", n=1)
    interp.send("CHECKOUT")
    interp.stop()
    assert rec.calls == [
        ("start",),
        ("transition", [], ["order.cart"]),  # the initial transition
        ("event", "ADD", {"n": 1}),
        ("transition", ["order.cart"], ["order.cart"]),  # a targetless one is reported too
        ("event", "CHECKOUT", {}),
        ("transition", ["order.cart"], ["order.paid"]),
        ("done",),
        ("stop",),
    ]


@pytest.mark.anyio
async def test_plugins_observe_the_async_interpreter() -> None:
    rec = Recorder()
    service = Interpreter(create_machine(ORDER, logic_providers=[OrderLogic()])).use(rec)
    await service.start()
    await service.send("ADD")
    await service.send("CHECKOUT")
    await service.stop()
    kinds = [c[0] for c in rec.calls]
    assert kinds == [
        "start",
        "transition",
        "event",
        "transition",
        "event",
        "transition",
        "done",
        "stop",
    ]


def test_logging_inspector_logs_events_and_transitions(caplog: pytest.LogCaptureFixture) -> None:
    logic = MachineLogic(actions={"increment_flips": increment_flips_action})
    interp = SyncInterpreter(create_machine(LIGHT, logic=logic)).use(LoggingInspector())
    with caplog.at_level(logging.INFO, logger="statefleet.xstate"):
        interp.start()
        interp.send("TOGGLE")
    text = caplog.text
    assert "TOGGLE" in text and "lightSwitch.on" in text


def test_a_failing_plugin_does_not_break_the_machine(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(PluginBase):
        def on_event_received(self, interpreter: Any, event: Any) -> None:
            raise RuntimeError("plugin bug")

    logic = MachineLogic(actions={"increment_flips": increment_flips_action})
    interp = SyncInterpreter(create_machine(LIGHT, logic=logic)).use(Broken()).start()
    interp.send("TOGGLE")
    assert interp.current_state_ids == {"lightSwitch.on"}
    assert "plugin bug" in caplog.text
    with pytest.raises(TypeError, match="PluginBase"):
        interp.use(object())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_get_state_by_id_and_state_not_found() -> None:
    machine = create_machine(ORDER, logic_providers=[OrderLogic()])
    interp = SyncInterpreter(machine).start()
    node = interp.get_state_by_id("order.paid")
    assert node.id == "order.paid" and node.is_final
    with pytest.raises(StateNotFoundError, match=r"did you mean 'order\.paid'"):
        interp.get_state_by_id("order.payd")
    service = await Interpreter(machine).start()
    assert service.get_state_by_id("order.cart").id == "order.cart"
    with pytest.raises(XStateMachineError):
        service.get_state_by_id("nope")
    await service.stop()


def test_builtin_assign_raise_and_log_actions(caplog: pytest.LogCaptureFixture) -> None:
    config = {
        "id": "counter",
        "initial": "idle",
        "context": {"count": 0, "last": None},
        "states": {
            "idle": {
                "on": {
                    "INC": {
                        "actions": [
                            assign({"count": lambda ctx, e: ctx["count"] + e.data.get("by", 1)}),
                            assign(lambda ctx, e: {"last": "INC"}),
                            log(lambda ctx, e: f"count is {ctx['count']}", label="counter"),
                        ]
                    },
                    "CHECK": {"actions": [raise_({"type": "LIMIT", "at": 3})]},
                    "LIMIT": {"target": "full", "guard": "atLimit"},
                },
            },
            "full": {"entry": [{"type": "xstate.assign", "params": {"assignment": {"count": 0}}}]},
        },
    }
    logic = MachineLogic(guards={"atLimit": lambda ctx, e: ctx["count"] >= e.data["at"]})
    interp = SyncInterpreter(create_machine(config, logic=logic)).start()
    with caplog.at_level(logging.INFO, logger="statefleet.xstate"):
        interp.send("INC", by=2)
    assert interp.context == {"count": 2, "last": "INC"}
    assert "counter: count is 2" in caplog.text
    interp.send("CHECK")
    assert interp.current_state_ids == {"counter.idle"}
    interp.send("INC")
    interp.send("CHECK")
    assert interp.current_state_ids == {"counter.full"}
    assert interp.context["count"] == 0


def test_a_user_action_named_like_a_builtin_wins() -> None:
    seen: list[Any] = []
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"actions": [assign({"x": 1})]}}}},
    }
    logic = MachineLogic(actions={"xstate.assign": lambda i, ctx, e, a: seen.append(a.params)})
    interp = SyncInterpreter(create_machine(config, logic=logic)).start()
    interp.send("GO")
    assert seen == [{"assignment": {"x": 1}}] and "x" not in interp.context


def test_a_bad_assign_is_an_error_event_not_a_crash() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {
            "a": {"on": {"GO": {"actions": [assign(lambda ctx, e: 5)]}, "error.*": "failed"}},
            "failed": {},
        },
    }
    interp = SyncInterpreter(create_machine(config)).start()
    interp.send("GO")
    assert interp.current_state_ids == {"m.failed"} and interp.context == {"n": 0}


def test_emit_publishes_to_on_subscribers_not_to_the_machine() -> None:
    config = {
        "id": "job",
        "initial": "running",
        "states": {
            "running": {
                "on": {
                    "FINISH": {
                        "target": "done",
                        "actions": [emit({"type": "job.finished", "ok": True}), emit("tick")],
                    },
                    "job.finished": "wrong",  # emitted events are not sent to the machine
                }
            },
            "done": {},
            "wrong": {},
        },
    }
    interp = SyncInterpreter(create_machine(config)).start()
    got: list[tuple[str, Any]] = []
    everything: list[str] = []
    stop = interp.on("job.finished", lambda e: got.append((e.type, e.data)))
    interp.on("*", lambda e: everything.append(e.type))
    interp.send("FINISH")
    assert interp.current_state_ids == {"job.done"}
    assert got == [("job.finished", {"ok": True})]
    assert everything == ["job.finished", "tick"]
    stop()
    interp.publish("job.finished")
    assert len(got) == 1
    with pytest.raises(TypeError):
        interp.on("x", "not callable")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_parallel_machine_is_done_when_every_region_is_under_both_interpreters() -> None:
    region = {"initial": "x", "states": {"x": {"on": {"GO": "y"}}, "y": {"type": "final"}}}
    config = {
        "id": "p",
        "type": "parallel",
        "states": {
            "a": region,
            "b": {**region, "states": {"x": {"on": {"GO2": "y"}}, "y": {"type": "final"}}},
        },
    }
    machine = create_machine(config)
    rec = Recorder()
    service = await Interpreter(machine).use(rec).start()
    await service.send("GO")
    assert service.status == "running" and not service.done
    await service.send("GO2")
    assert service.done and service.status == "done"
    assert ("done",) in rec.calls
    await service.send("GO")  # ignored once done
    await service.stop()
    sync = SyncInterpreter(machine).start()
    sync.send("GO")
    sync.send("GO2")
    assert sync.done and sync.current_state_ids == {"p.a.y", "p.b.y"}
