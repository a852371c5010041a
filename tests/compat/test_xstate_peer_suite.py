"""xstate-statemachine's own SyncInterpreter test suite, case by case, on statefleet.

Source: basiltt/xstate-statemachine (MIT License, (c) Basil T T), ``tests/test_sync_interpreter.py``
at commit 014b385b4762b9d4d20a639e0404750d08ad7719: 51 public-behaviour tests. Each case below
has that test's name and checks the behaviour it checks, through the same public API
(``create_machine``, ``MachineLogic``, ``SyncInterpreter``, ``PluginBase``, ``Event``, the
exception classes), imported from ``statefleet.compat.xstate``. The cases are written here
rather than copied: the peer's test code is not vendored.

Result: 46 of 51 pass; 5 are strict xfails, each with its reason (the deliberate
differences are listed in docs/migrate-xstate-statemachine.md):

- 1 expects the guard plugin hook ``on_guard_evaluated`` (guards are bound into the chart
  and get no interpreter to find the plugins by);
- 1 expects a compound state to be done when a non-final child finished (SCXML: only its own
  final children make it done; deliberate);
- 1 expects ``NotSupportedError`` for an ``async def`` action (statefleet runs it);
- 1 expects the old "spawning is not supported" error (statefleet spawns, as the peer's
  later versions do);
- 1 expects a background thread to fire ``after`` timers (statefleet's interpreter fires
  them in ``advance()``/``poll()``, on a virtual clock unless given a ``RealClock``).

Three pass as adapted: an unknown target is refused when the machine is created
(``InvalidConfigError``, as the peer's 0.8+ validation does; the peer's old test expected
``StateNotFoundError`` on send), the malformed-transition message differs, and an
``async def`` service runs (its result is the ``done.invoke`` data). Targets only the peer
resolves (``".x"`` falling back to a sibling, a plain name found among an ancestor's
children) work: ``create_machine`` reads them as the peer does.
"""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock

import pytest

from statefleet import RealClock
from statefleet.compat.xstate import (
    Event,
    ImplementationMissingError,
    InvalidConfigError,
    MachineLogic,
    NotSupportedError,
    PluginBase,
    StateNotFoundError,
    SyncInterpreter,
    create_machine,
)

SCXML_DONE = "SCXML: a compound state is done when one of its own final children is entered"
HOOKS = "the guard plugin hook (on_guard_evaluated) is not called"


def _run(config: dict[str, Any], **logic: Any) -> SyncInterpreter:
    return SyncInterpreter(create_machine(config, logic=MachineLogic(**logic))).start()


def _recorder(order: list[str], *names: str) -> dict[str, Any]:
    return {n: (lambda i, c, e, a, n=n: order.append(n)) for n in names}


NESTED = {
    "id": "nest",
    "initial": "outer",
    "states": {
        "outer": {
            "initial": "inner",
            "entry": "inOuter",
            "exit": "outOuter",
            "states": {
                "inner": {
                    "entry": "inInner",
                    "exit": "outInner",
                    "on": {"LEAVE": "away", "SIDE": ".inner2"},
                },
                "inner2": {},
            },
        },
        "away": {"entry": "inAway"},
    },
}


# -- transitions and actions ------------------------------------------------------------------
def test_simple_transition() -> None:
    interp = _run(
        {"id": "lamp", "initial": "off", "states": {"off": {"on": {"PUSH": "on"}}, "on": {}}}
    )
    assert interp.current_state_ids == {"lamp.off"}
    interp.send("PUSH")
    assert interp.current_state_ids == {"lamp.on"}
    interp.stop()


def test_context_and_actions() -> None:
    def add(i: Any, context: dict[str, Any], event: Any, a: Any) -> None:
        context["total"] += event.payload.get("by", 1)

    config = {
        "id": "acc",
        "initial": "on",
        "context": {"total": 0},
        "states": {"on": {"on": {"ADD": {"actions": "add"}}}},
    }
    interp = _run(config, actions={"add": add})
    interp.send("ADD", by=4)
    assert interp.context["total"] == 4


def test_multiple_actions_on_transition() -> None:
    first, second = MagicMock(), MagicMock()
    interp = _run(
        {
            "id": "two",
            "initial": "s",
            "states": {"s": {"on": {"GO": {"actions": ["first", "second"]}}}},
        },
        actions={"first": first, "second": second},
    )
    interp.send("GO")
    first.assert_called_once()
    second.assert_called_once()


def test_internal_transition_does_not_change_state() -> None:
    act = MagicMock()
    interp = _run(
        {"id": "t", "initial": "s", "states": {"s": {"on": {"POKE": {"actions": "act"}}}}},
        actions={"act": act},
    )
    interp.send("POKE")
    assert interp.current_state_ids == {"t.s"}
    act.assert_called_once()


def test_event_payload_is_passed_to_actions() -> None:
    act = MagicMock()
    interp = _run(
        {"id": "p", "initial": "s", "states": {"s": {"on": {"IN": {"actions": "act"}}}}},
        actions={"act": act},
    )
    interp.send("IN", user="ann", n=7)
    assert act.call_args[0][2].payload == {"user": "ann", "n": 7}


def test_reentrant_send_from_action_is_queued() -> None:
    order: list[str] = []

    def first(interp: Any, c: Any, e: Any, a: Any) -> None:
        order.append("first")
        interp.send("SECOND")
        order.append("first done")

    config = {
        "id": "re",
        "initial": "a",
        "states": {
            "a": {"on": {"FIRST": {"target": "b", "actions": "first"}}},
            "b": {"on": {"SECOND": "c"}},
            "c": {"entry": "second"},
        },
    }
    interp = _run(
        config, actions={"first": first, "second": lambda i, c, e, a: order.append("second")}
    )
    interp.send("FIRST")
    assert order == ["first", "first done", "second"]
    assert interp.current_state_ids == {"re.c"}


def test_context_is_copied_not_referenced() -> None:
    config = {"id": "c", "initial": "s", "context": {"deep": {"k": "v"}}, "states": {"s": {}}}
    interp = _run(config)
    interp.context["deep"]["k"] = "changed"
    assert config["context"]["deep"]["k"] == "v"  # type: ignore[index]


def test_self_transition_on_state() -> None:
    enter, leave = MagicMock(), MagicMock()
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"AGAIN": ".a"}, "entry": "enter", "exit": "leave"}},
    }
    interp = _run(config, actions={"enter": enter, "leave": leave})
    interp.send("AGAIN")
    assert (enter.call_count, leave.call_count) == (2, 1)


# -- guards ---------------------------------------------------------------------------------
AUTH = {
    "id": "auth",
    "initial": "out",
    "states": {"out": {"on": {"LOGIN": {"target": "in", "guard": "allowed"}}}, "in": {}},
}
PICK = {
    "id": "pick",
    "initial": "start",
    "context": {"v": 15},
    "states": {
        "start": {
            "on": {
                "CHECK": [
                    {"target": "low", "guard": "isLow"},
                    {"target": "mid", "guard": "isMid"},
                    {"target": "high"},
                ]
            }
        },
        "low": {},
        "mid": {},
        "high": {},
    },
}
PICK_GUARDS = {"isLow": lambda c, e: c["v"] < 10, "isMid": lambda c, e: c["v"] < 20}


def test_guards_allow_transition() -> None:
    interp = _run(AUTH, guards={"allowed": lambda c, e: True})
    interp.send("LOGIN")
    assert interp.current_state_ids == {"auth.in"}


def test_guards_block_transition() -> None:
    interp = _run(AUTH, guards={"allowed": lambda c, e: False})
    interp.send("LOGIN")
    assert interp.current_state_ids == {"auth.out"}


def test_chooses_first_passing_guarded_transition() -> None:
    interp = _run(PICK, guards=PICK_GUARDS)
    interp.send("CHECK")
    assert interp.current_state_ids == {"pick.mid"}


def test_falls_through_to_unguarded_transition() -> None:
    interp = _run({**PICK, "context": {"v": 99}}, guards=PICK_GUARDS)
    interp.send("CHECK")
    assert interp.current_state_ids == {"pick.high"}


def test_guard_receives_context_and_event_payload_correctly() -> None:
    guard = MagicMock(return_value=True)
    interp = _run(
        {
            "id": "g",
            "initial": "s",
            "context": {"x": 1},
            "states": {"s": {"on": {"E": {"guard": "g"}}}},
        },
        guards={"g": guard},
    )
    interp.send("E", y=2)
    assert guard.call_args[0][0]["x"] == 1
    assert guard.call_args[0][1].payload == {"y": 2}


def test_eventless_transition_is_taken_immediately() -> None:
    config = {
        "id": "tr",
        "initial": "a",
        "states": {"a": {"on": {"NEXT": "b"}}, "b": {"on": {"": {"target": "c"}}}, "c": {}},
    }
    interp = _run(config)
    interp.send("NEXT")
    assert interp.current_state_ids == {"tr.c"}


def test_guarded_eventless_transitions() -> None:
    config = {
        "id": "ev",
        "initial": "idle",
        "context": {"ok": True},
        "states": {
            "idle": {"on": {"CHECK": "judging"}},
            "judging": {"on": {"": [{"target": "yes", "guard": "ok"}, {"target": "no"}]}},
            "yes": {},
            "no": {},
        },
    }
    machine = create_machine(config, logic=MachineLogic(guards={"ok": lambda c, e: c["ok"]}))
    good = SyncInterpreter(machine).start()
    good.send("CHECK")
    assert good.current_state_ids == {"ev.yes"}
    bad = SyncInterpreter(machine).start()
    bad.context["ok"] = False
    bad.send("CHECK")
    assert bad.current_state_ids == {"ev.no"}


# -- hierarchy and lifecycle ------------------------------------------------------------------
def test_entry_and_exit_actions_fire_in_order() -> None:
    order: list[str] = []
    config = {
        "id": "l",
        "initial": "a",
        "states": {"a": {"exit": "leaveA", "on": {"GO": "b"}}, "b": {"entry": "enterB"}},
    }
    interp = _run(config, actions=_recorder(order, "leaveA", "enterB"))
    interp.send("GO")
    assert order == ["leaveA", "enterB"]


def test_nested_entry_exit_actions_fire_correctly() -> None:
    order: list[str] = []
    names = ("inOuter", "outOuter", "inInner", "outInner", "inAway")
    interp = _run(NESTED, actions=_recorder(order, *names))
    assert order == ["inOuter", "inInner"]
    order.clear()
    interp.send("LEAVE")
    assert order == ["outInner", "outOuter", "inAway"]


def test_complex_nested_entry_actions() -> None:
    order: list[str] = []
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "entry": "A",
                "initial": "b",
                "states": {"b": {"entry": "B", "initial": "c", "states": {"c": {"entry": "C"}}}},
            }
        },
    }
    _run(config, actions=_recorder(order, "A", "B", "C"))
    assert order == ["A", "B", "C"]


def test_complex_nested_exit_actions() -> None:
    order: list[str] = []
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "exit": "A",
                "initial": "b",
                "states": {
                    "b": {
                        "exit": "B",
                        "initial": "c",
                        "states": {"c": {"exit": "C", "on": {"OUT": "#m.z"}}},
                    }
                },
            },
            "z": {},
        },
    }
    interp = _run(config, actions=_recorder(order, "A", "B", "C"))
    interp.send("OUT")
    assert order == ["C", "B", "A"]


def test_compound_state_onDone_transition() -> None:
    config = {
        "id": "job",
        "initial": "work",
        "states": {
            "work": {
                "initial": "one",
                "onDone": "over",
                "states": {"one": {"on": {"NEXT": "two"}}, "two": {"type": "final"}},
            },
            "over": {},
        },
    }
    interp = _run(config)
    assert "job.work.one" in interp.current_state_ids
    interp.send("NEXT")
    assert interp.current_state_ids == {"job.over"}


def _region(event: str) -> dict[str, Any]:
    return {"initial": "x", "states": {"x": {"on": {event: "y"}}, "y": {"type": "final"}}}


def test_parallel_state_onDone_transition() -> None:
    config = {
        "id": "par",
        "initial": "both",
        "states": {
            "both": {
                "type": "parallel",
                "onDone": "over",
                "states": {"a": _region("A"), "b": _region("B")},
            },
            "over": {},
        },
    }
    interp = _run(config)
    assert interp.current_state_ids == {"par.both.a.x", "par.both.b.x"}
    interp.send("A")
    assert "par.over" not in interp.current_state_ids
    interp.send("B")
    assert interp.current_state_ids == {"par.over"}


def test_transition_from_nested_state_to_ancestor_sibling() -> None:
    config = {
        "id": "deep",
        "initial": "a",
        "states": {
            "a": {
                "initial": "b",
                "states": {"b": {"initial": "c", "states": {"c": {"on": {"OUT": "z"}}}}},
            },
            "z": {},
        },
    }
    interp = _run(config)
    interp.send("OUT")
    assert interp.current_state_ids == {"deep.z"}


@pytest.mark.xfail(strict=True, reason=SCXML_DONE)
def test_deeply_nested_parallel_state_on_done() -> None:
    done_region = {"initial": "f", "states": {"f": {"type": "final"}}}
    config = {
        "id": "m",
        "initial": "outer",
        "states": {
            "outer": {
                "initial": "wrap",
                "onDone": "after",
                "states": {
                    "wrap": {
                        "initial": "par",
                        "states": {
                            "par": {
                                "type": "parallel",
                                "onDone": "end",
                                "states": {"a": done_region, "b": done_region},
                            },
                            "end": {"type": "final"},
                        },
                    }
                },
            },
            "after": {},
        },
    }
    assert _run(config).current_state_ids == {"m.after"}


def test_final_state_in_parallel_machine_triggers_onDone() -> None:
    config = {
        "id": "pf",
        "type": "parallel",
        "states": {"a": _region("A"), "b": {"initial": "x", "states": {"x": {}}}},
    }
    interp = _run(config)
    interp.send("A")
    assert interp.current_state_ids == {"pf.a.y", "pf.b.x"}


# -- invoked services --------------------------------------------------------------------------
def _fetcher(**extra: Any) -> dict[str, Any]:
    return {
        "id": "fetch",
        "initial": "loading",
        "context": {"user": None},
        "states": {"loading": {"invoke": {"src": "load", **extra}}, "ok": {}, "failed": {}},
    }


def test_invoke_sync_service_on_entry() -> None:
    interp = _run(_fetcher(onDone="ok"), services={"load": lambda i, c, e: {"name": "Ann"}})
    assert interp.current_state_ids == {"fetch.ok"}


def test_invoke_sync_service_onError_transition() -> None:
    def boom(i: Any, c: Any, e: Any) -> None:
        raise ValueError("down")

    interp = _run(_fetcher(onError="failed"), services={"load": boom})
    assert interp.current_state_ids == {"fetch.failed"}


def test_invoke_service_populates_context_from_event_data() -> None:
    interp = _run(
        _fetcher(onDone={"target": "ok", "actions": "keep"}),
        services={"load": lambda i, c, e: {"name": "Bo", "id": 9}},
        actions={"keep": lambda i, c, e, a: c.update(user=e.data)},
    )
    assert interp.context["user"] == {"name": "Bo", "id": 9}


def test_invoke_sync_service_that_returns_none() -> None:
    act = MagicMock()
    interp = _run(
        _fetcher(onDone={"target": "ok", "actions": "act"}),
        services={"load": lambda i, c, e: None},
        actions={"act": act},
    )
    assert interp.current_state_ids == {"fetch.ok"}
    assert act.call_args[0][2].data is None


def test_invoke_service_with_no_on_done_handler() -> None:
    interp = _run(_fetcher(), services={"load": lambda i, c, e: "data"})
    assert interp.current_state_ids == {"fetch.loading"}


# -- snapshots ---------------------------------------------------------------------------------
def test_snapshot_and_restore() -> None:
    config = {
        "id": "snap",
        "initial": "a",
        "context": {"n": 0},
        "states": {"a": {"on": {"GO": {"target": "b", "actions": "inc"}}}, "b": {}},
    }
    machine = create_machine(
        config, logic=MachineLogic(actions={"inc": lambda i, c, e, a: c.update(n=1)})
    )
    first = SyncInterpreter(machine).start()
    first.send("GO")
    saved = first.get_snapshot()
    first.stop()
    again = SyncInterpreter.from_snapshot(saved, machine)
    assert isinstance(again, SyncInterpreter)
    assert again.status == "running"
    assert again.current_state_ids == {"snap.b"}
    assert again.context["n"] == 1


def test_snapshot_of_parallel_state() -> None:
    config = {
        "id": "p",
        "type": "parallel",
        "states": {
            "a": {"initial": "a1", "states": {"a1": {}}},
            "b": {"initial": "b1", "states": {"b1": {}}},
        },
    }
    saved = json.loads(_run(config).get_snapshot())
    assert set(saved["state_ids"]) == {"p.a.a1", "p.b.b1"}


def test_restore_from_snapshot_with_missing_state_id_raises_error() -> None:
    machine = create_machine({"id": "m", "initial": "s1", "states": {"s1": {}}})
    foreign = '{"status": "running", "context": {}, "state_ids": ["m.gone"]}'
    with pytest.raises(StateNotFoundError, match=r"Could not find state with ID 'm\.gone'"):
        SyncInterpreter.from_snapshot(foreign, machine)


# -- plugins -----------------------------------------------------------------------------------
def test_plugins_are_called_during_lifecycle() -> None:
    plugin = MagicMock(spec=PluginBase)
    config = {
        "id": "plug",
        "initial": "a",
        "states": {"a": {"entry": "act", "on": {"NEXT": "b"}}, "b": {}},
    }
    interp = SyncInterpreter(
        create_machine(config, logic=MachineLogic(actions={"act": lambda i, c, e, a: None}))
    )
    interp.use(plugin)
    interp.start()
    plugin.on_interpreter_start.assert_called_once_with(interp)
    assert plugin.on_transition.call_count == 1
    interp.send("NEXT")
    plugin.on_event_received.assert_called_once()
    assert plugin.on_transition.call_count == 2
    interp.stop()
    plugin.on_interpreter_stop.assert_called_once_with(interp)
    plugin.on_action_execute.assert_called_once()


def test_internal_transition_fires_on_transition_hook() -> None:
    plugin = MagicMock(spec=PluginBase)
    interp = (
        SyncInterpreter(
            create_machine({"id": "m", "initial": "s", "states": {"s": {"on": {"NOOP": {}}}}})
        )
        .use(plugin)
        .start()
    )
    before = plugin.on_transition.call_count
    interp.send("NOOP")
    assert plugin.on_transition.call_count == before + 1


def test_unhandled_event_does_not_fire_on_transition_hook() -> None:
    plugin = MagicMock(spec=PluginBase)
    interp = (
        SyncInterpreter(
            create_machine({"id": "m", "initial": "s", "states": {"s": {"on": {"REAL": {}}}}})
        )
        .use(plugin)
        .start()
    )
    plugin.on_transition.assert_called_once()  # the initial transition
    interp.send("OTHER")
    plugin.on_transition.assert_called_once()


def _guarded() -> Any:
    config = {
        "id": "gm",
        "initial": "s",
        "states": {
            "s": {
                "on": {
                    "GO": [{"target": "yes", "guard": "pass"}, {"target": "no", "guard": "fail"}]
                }
            },
            "yes": {},
            "no": {},
        },
    }
    return create_machine(
        config, logic=MachineLogic(guards={"pass": lambda c, e: True, "fail": lambda c, e: False})
    )


@pytest.mark.xfail(strict=True, reason=HOOKS)
def test_plugin_on_guard_evaluated_hook() -> None:
    plugin = MagicMock(spec=PluginBase)
    interp = SyncInterpreter(_guarded()).use(plugin).start()
    interp.send(Event("GO", payload={"v": 1}))
    assert interp.current_state_ids == {"gm.yes"}
    assert plugin.on_guard_evaluated.call_count == 2


def _service_machine(service: Any) -> Any:
    config = {
        "id": "svc",
        "initial": "run",
        "states": {
            "run": {"invoke": {"src": "work", "onDone": "done", "onError": "failed"}},
            "done": {},
            "failed": {},
        },
    }
    return create_machine(config, logic=MachineLogic(services={"work": service}))


def test_plugin_on_service_start_hook() -> None:
    plugin = MagicMock(spec=PluginBase)
    service = MagicMock(return_value=1)
    interp = SyncInterpreter(_service_machine(service)).use(plugin).start()
    plugin.on_service_start.assert_called_once()
    args = plugin.on_service_start.call_args[0]
    assert args[0] is interp and args[1].src == "work" and service.called


def test_plugin_on_service_done_hook() -> None:
    plugin = MagicMock(spec=PluginBase)
    result = {"ok": 1}
    interp = SyncInterpreter(_service_machine(MagicMock(return_value=result))).use(plugin).start()
    assert interp.current_state_ids == {"svc.done"}
    plugin.on_service_done.assert_called_once()
    args = plugin.on_service_done.call_args[0]
    assert args[0] is interp and args[1].src == "work" and args[2] == result


def test_plugin_on_service_error_hook() -> None:
    plugin = MagicMock(spec=PluginBase)
    error = RuntimeError("x")
    interp = SyncInterpreter(_service_machine(MagicMock(side_effect=error))).use(plugin).start()
    assert interp.current_state_ids == {"svc.failed"}
    plugin.on_service_error.assert_called_once()
    args = plugin.on_service_error.call_args[0]
    assert args[0] is interp and args[1].src == "work" and args[2] is error


def test_start_on_already_started_interpreter() -> None:
    interp = _run({"id": "m", "initial": "a", "states": {"a": {}}})
    plugin = MagicMock(spec=PluginBase)
    interp.use(plugin)
    interp.start()
    plugin.on_interpreter_start.assert_not_called()


def test_stop_on_already_stopped_interpreter() -> None:
    interp = _run({"id": "m", "initial": "a", "states": {"a": {}}})
    interp.stop()
    plugin = MagicMock(spec=PluginBase)
    interp.use(plugin)
    interp.stop()
    plugin.on_interpreter_stop.assert_not_called()


# -- errors and edge cases ---------------------------------------------------------------------
@pytest.mark.xfail(
    strict=True, reason="statefleet runs an async def action (awaited by the driver)"
)
def test_error_on_unsupported_async_action() -> None:
    async def act(i: Any, c: Any, e: Any, a: Any) -> None:
        pass

    with pytest.raises(NotSupportedError, match="is async"):
        _run({"id": "x", "initial": "s", "states": {"s": {"entry": ["act"]}}}, actions={"act": act})


def test_error_on_unsupported_async_service() -> None:
    # the peer refuses an async service in SyncInterpreter; statefleet runs it to completion
    async def load(i: Any, c: Any, e: Any) -> dict[str, Any]:
        return {"name": "Cy"}

    interp = _run(
        _fetcher(onDone={"target": "ok", "actions": "keep"}),
        services={"load": load},
        actions={"keep": lambda i, c, e, a: c.update(user=e.data)},
    )
    assert interp.current_state_ids == {"fetch.ok"} and interp.context["user"] == {"name": "Cy"}


@pytest.mark.xfail(
    strict=True,
    reason="statefleet's SyncInterpreter spawns children (as the peer's later versions do)",
)
def test_error_on_unsupported_spawn_action() -> None:
    child = create_machine({"id": "kid", "initial": "a", "states": {"a": {}}})
    machine = create_machine(
        {"id": "parent", "initial": "s", "states": {"s": {"entry": "spawn_kid"}}},
        logic=MachineLogic(services={"kid": lambda *a: child}),
    )
    with pytest.raises(NotSupportedError, match="not supported"):
        SyncInterpreter(machine).start()


def test_error_on_missing_action_implementation() -> None:
    with pytest.raises(ImplementationMissingError):
        create_machine({"id": "x", "initial": "a", "states": {"a": {"entry": ["nowhere"]}}})


def test_error_on_missing_guard_implementation() -> None:
    with pytest.raises(ImplementationMissingError):
        create_machine(
            {
                "id": "x",
                "initial": "a",
                "states": {"a": {"on": {"E": {"target": "a", "guard": "nowhere"}}}},
            }
        )


def test_error_on_unresolvable_target_state() -> None:
    # the peer (0.8+) and statefleet refuse it when the machine is created, not on send
    with pytest.raises(InvalidConfigError, match="unknown target 'missing'"):
        create_machine({"id": "bad", "initial": "a", "states": {"a": {"on": {"E": "missing"}}}})


def test_invalid_config_shorthand_transition_raises_error() -> None:
    with pytest.raises(InvalidConfigError, match="expected a target, a transition object"):
        create_machine({"id": "m", "initial": "s", "states": {"s": {"on": {"E": 123}}}})


def test_transition_with_unhandled_event() -> None:
    interp = _run({"id": "m", "initial": "a", "states": {"a": {"on": {"REAL": "b"}}, "b": {}}})
    interp.send("FAKE")
    assert interp.current_state_ids == {"m.a"}


# -- timers ------------------------------------------------------------------------------------
@pytest.mark.xfail(
    strict=True, reason="timers fire on advance()/poll() (virtual clock by default), no thread"
)
def test_after_transition_is_scheduled_and_fires() -> None:
    # the peer's test polls current_state_ids while a background thread fires the timer; a
    # timer due at once shows the difference without waiting: nothing fires it until poll()
    config = {
        "id": "timer",
        "initial": "wait",
        "states": {"wait": {"after": {0: "done"}}, "done": {}},
    }
    interp = SyncInterpreter(create_machine(config), clock=RealClock()).start()
    assert interp.current_state_ids == {"timer.done"}


def test_after_transition_is_cancelled_on_state_exit() -> None:
    config = {
        "id": "tc",
        "initial": "wait",
        "states": {
            "wait": {"after": {1000: "late"}, "on": {"CANCEL": "off"}},
            "late": {},
            "off": {},
        },
    }
    interp = _run(config)
    interp.send("CANCEL")
    assert interp.current_state_ids == {"tc.off"}
    interp.advance(5)
    assert interp.current_state_ids == {"tc.off"}
