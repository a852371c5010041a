"""xstate-statemachine's XState v5 parity suite, case by case, on statefleet.

Source: basiltt/xstate-statemachine (MIT License, (c) Basil T T),
``tests/test_xstate_v5_parity.py`` (the suite of its 0.6.0 feature work: guard forms, event
descriptors, tags and meta, ``always``, built-in actions, the actor system, snapshots,
completion, observation, the pure transition API, named delays, action creators). Each case
has the peer test's name and checks what it checks through the public API imported from
``statefleet.compat.xstate``; the cases are written here, not copied. Tests of the peer's
private attributes (``interpreter._actors``) check the same thing through the public one
(``children``).

Result: all 110 of the peer's cases; 89 pass (a few as adapted: a missing guard is refused
when the machine is made, ``after`` timers are moved with ``advance()`` or the system's
virtual clock instead of waited for in real time), 21 are strict xfails with reasons (two
more cases, named as statefleet's, check the adapted form beside an xfail):

- 10 use the peer's internals: the pure transition API (``initial_transition``,
  ``pure_transition``, ``get_next_snapshot``, ``PureSnapshot``; statefleet's pure step is
  ``chart.transition`` and runs actions rather than listing them) and its parser's
  ``GuardDefinition`` class (6 cases);
- 3 expect ``spawnChild`` children inside a snapshot (statefleet's snapshot holds the machine
  and its invoked charts);
- 4 are deliberate differences: ``maxIterations`` stops the machine; the first child is the
  default initial state (the peer refuses several children without ``initial``); an unknown
  named delay is refused when the machine is made; ``machine.initial`` is statefleet's pure
  initial step (the key is ``machine.root_node.initial``);
- 2 expect a failed invocation without ``onError`` to put the machine in status ``"error"``
  (SCXML drops an error event nobody handles; the machine keeps running);
- 1 waits for a background timer thread (timers fire on the clock: ``advance()``/``poll()``);
- 1 assigns ``interpreter.status``.
"""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import ActorSystem, VirtualClock
from statefleet.compat import xstate
from statefleet.compat.xstate import (
    ActionEnqueuer,
    ImplementationMissingError,
    Interpreter,
    MachineLogic,
    SyncInterpreter,
    assign,
    cancel,
    choose,
    create_machine,
    emit,
    enqueue_actions,
    escalate,
    forward_to,
    log,
    pure,
    raise_,
    send_parent,
    send_to,
    spawn_child,
    stop_child,
    to_promise,
    wait_for,
)


def build(config: dict[str, Any], **logic: Any) -> Any:
    return create_machine(config, logic=MachineLogic(**logic))


def start(config: dict[str, Any], **logic: Any) -> SyncInterpreter:
    return SyncInterpreter(build(config, **logic)).start()


def yes(c: Any, e: Any) -> bool:
    return True


def no(c: Any, e: Any) -> bool:
    return False


def two(guard: Any, event: str = "GO") -> dict[str, Any]:
    """A machine ``m``: ``a`` --event [guard]--> ``b``."""
    return {
        "id": "m",
        "initial": "a",
        "context": {"limit": 4},
        "states": {"a": {"on": {event: {"target": "b", **guard}}}, "b": {}},
    }


def after(interp: Any, event: str) -> Any:
    interp.send(event)
    return interp.current_state_ids


# -- guards -------------------------------------------------------------------------------------
def test_cond_alias_blocks_transition() -> None:
    assert after(start(two({"cond": "g"}), guards={"g": no}), "GO") == {"m.a"}


def test_cond_alias_allows_transition() -> None:
    assert after(start(two({"cond": "g"}), guards={"g": yes}), "GO") == {"m.b"}


def test_object_guard_with_params() -> None:
    guard = {"guard": {"type": "atLeast", "params": {"min": 3}}}
    interp = start(two(guard), guards={"atLeast": lambda c, e, p: p["min"] > 2})
    assert after(interp, "GO") == {"m.b"}


@pytest.mark.anyio
async def test_object_guard_does_not_kill_async_loop() -> None:
    config = two({"guard": {"type": "g"}})
    config["states"]["a"]["on"]["OTHER"] = "c"
    config["states"]["c"] = {}
    service = await Interpreter(build(config, guards={"g": no})).start()
    await service.send("GO")
    await service.send("OTHER")
    assert service.status == "running" and service.current_state_ids == {"m.c"}
    await service.stop()


def test_composite_and_requires_all() -> None:
    guard = {"guard": {"type": "and", "children": ["yes", "no"]}}
    assert after(start(two(guard), guards={"yes": yes, "no": no}), "GO") == {"m.a"}


def test_composite_or_requires_any() -> None:
    guard = {"guard": {"type": "or", "children": ["no", "yes"]}}
    assert after(start(two(guard), guards={"yes": yes, "no": no}), "GO") == {"m.b"}


def test_composite_not_inverts() -> None:
    guard = {"guard": {"type": "not", "children": ["no"]}}
    assert after(start(two(guard), guards={"no": no}), "GO") == {"m.b"}


def test_nested_composite_guards() -> None:
    guard = {"guard": {"type": "and", "children": ["yes", {"type": "not", "children": ["no"]}]}}
    assert after(start(two(guard), guards={"yes": yes, "no": no}), "GO") == {"m.b"}


def test_state_in_guard() -> None:
    region_b = {
        "initial": "b1",
        "states": {
            "b1": {
                "on": {
                    "TRY": {
                        "target": "b2",
                        "guard": {"type": "stateIn", "params": {"state": "#p.A.a2"}},
                    }
                }
            },
            "b2": {},
        },
    }
    config = {
        "id": "p",
        "type": "parallel",
        "states": {
            "A": {"initial": "a1", "states": {"a1": {"on": {"T": "a2"}}, "a2": {}}},
            "B": region_b,
        },
    }
    interp = start(config)
    assert "p.B.b1" in after(interp, "TRY")
    interp.send("T")
    assert "p.B.b2" in after(interp, "TRY")


def test_dynamic_params_are_resolved() -> None:
    guard = {"guard": {"type": "g", "params": lambda a: {"limit": a["context"]["limit"]}}}
    assert after(start(two(guard), guards={"g": lambda c, e, p: p["limit"] == 4}), "GO") == {"m.b"}


def test_two_argument_guards_still_work() -> None:
    assert after(start(two({"guard": "g"}), guards={"g": yes}), "GO") == {"m.b"}


def test_missing_guard_still_raises() -> None:
    # the peer raises when the guard is first evaluated; statefleet when the machine is made
    with pytest.raises(ImplementationMissingError, match="ghost"):
        start(two({"guard": "ghost"}))


# -- event descriptors --------------------------------------------------------------------------
def _on(on: dict[str, Any], *targets: str) -> dict[str, Any]:
    return {"id": "m", "initial": "a", "states": {"a": {"on": on}, **{t: {} for t in targets}}}


def test_wildcard_matches_any_event() -> None:
    assert after(start(_on({"*": "b"}, "b")), "WHATEVER") == {"m.b"}


def test_partial_descriptor_matches_namespace() -> None:
    assert after(start(_on({"key.*": "b"}, "b")), "key.down") == {"m.b"}


def test_exact_beats_partial_beats_wildcard() -> None:
    config = _on({"*": "w", "key.*": "p", "key.down": "x"}, "w", "p", "x")
    assert after(start(config), "key.down") == {"m.x"}
    assert after(start(config), "key.up") == {"m.p"}
    assert after(start(config), "mouse.up") == {"m.w"}


def test_longer_partial_wins() -> None:
    assert after(start(_on({"a.*": "s", "a.b.*": "l"}, "s", "l")), "a.b.c") == {"m.l"}


def _parent_handles(child_on: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {"initial": "c", "on": {"E": "out"}, "states": {"c": {"on": child_on}}},
            "out": {},
        },
    }


def test_forbidden_transition_blocks_ancestor() -> None:
    assert after(start(_parent_handles({"E": None})), "E") == {"m.p.c"}


def test_ancestor_still_fires_without_forbidden() -> None:
    assert after(start(_parent_handles({})), "E") == {"m.out"}


@pytest.mark.anyio
async def test_descriptors_work_in_async_engine() -> None:
    service = await Interpreter(build(_on({"ns.*": "b"}, "b"))).start()
    await service.send("ns.thing")
    assert service.current_state_ids == {"m.b"}
    await service.stop()


# -- tags, meta, description --------------------------------------------------------------------
TAGGED = {
    "id": "m",
    "initial": "a",
    "states": {
        "a": {
            "tags": ["loading", "busy"],
            "meta": {"note": "hi"},
            "description": "the A state",
            "on": {"E": "b"},
        },
        "b": {"tags": "done"},
    },
}


def test_tags_are_parsed_and_queryable() -> None:
    interp = start(TAGGED)
    assert interp.has_tag("loading") and interp.has_tag("busy") and not interp.has_tag("done")
    assert interp.tags == {"loading", "busy"}


def test_tags_update_on_transition() -> None:
    interp = start(TAGGED)
    interp.send("E")
    assert interp.has_tag("done") and not interp.has_tag("loading")


def test_string_tag_is_normalised_to_a_set() -> None:
    assert build(TAGGED).states["b"].tags == {"done"}


def test_meta_is_collected_from_active_states() -> None:
    assert start(TAGGED).get_meta() == {"m.a": {"note": "hi"}}


def test_description_is_retained() -> None:
    assert build(TAGGED).states["a"].description == "the A state"


# -- always -------------------------------------------------------------------------------------
def test_top_level_always_fires() -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"always": "b"}, "b": {}}}
    assert start(config).current_state_ids == {"m.b"}


def test_always_respects_guards() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"ready": False},
        "states": {
            "a": {"always": {"target": "b", "guard": "ready"}, "on": {"FLIP": {"actions": "flip"}}},
            "b": {},
        },
    }
    interp = start(
        config,
        guards={"ready": lambda c, e: c["ready"]},
        actions={"flip": lambda i, c, e, a: c.update(ready=True)},
    )
    assert interp.current_state_ids == {"m.a"}
    assert after(interp, "FLIP") == {"m.b"}


def test_legacy_empty_string_still_works() -> None:
    assert start(_on({"": "b"}, "b")).current_state_ids == {"m.b"}


@pytest.mark.xfail(strict=True, reason="maxIterations stops the machine (RunawayChainError)")
def test_max_iterations_breaks_infinite_loop() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "maxIterations": 25,
        "states": {"a": {"always": "b"}, "b": {"always": "a"}},
    }
    assert start(config).current_state_ids


# -- built-in actions ---------------------------------------------------------------------------
def _entry(*actions: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "a",
        "context": {},
        "states": {"a": {"entry": list(actions), **extra}},
    }


def test_assign_with_literal_values() -> None:
    assert start(_entry({"type": "assign", "params": {"assignment": {"n": 5}}})).context == {"n": 5}


def test_assign_with_callable_values() -> None:
    config = _entry(
        {"type": "assign", "params": {"assignment": {"n": lambda a: len(a["context"]) + 9}}}
    )
    assert start(config).context["n"] == 9


def test_raise_sends_event_to_self() -> None:
    config = _entry({"type": "raise", "params": {"event": "GO"}}, on={"GO": "b"})
    config["states"]["b"] = {}
    assert start(config).current_state_ids == {"m.b"}


def test_log_action_does_not_crash() -> None:
    config = _entry({"type": "log", "params": {"expr": "hello", "label": "L"}})
    assert start(config).current_state_ids == {"m.a"}


def test_choose_picks_first_passing_branch() -> None:
    branches = [
        {"guard": "no", "actions": [{"type": "assign", "params": {"assignment": {"v": 1}}}]},
        {"actions": [{"type": "assign", "params": {"assignment": {"v": 2}}}]},
    ]
    config = _entry({"type": "choose", "params": {"conditions": branches}})
    assert start(config, guards={"no": no}).context == {"v": 2}


def test_pure_returns_actions_to_run() -> None:
    made = [{"type": "assign", "params": {"assignment": {"p": True}}}]
    config = _entry({"type": "pure", "params": {"get": lambda a: made}})
    assert start(config).context == {"p": True}


def test_enqueue_actions_with_check() -> None:
    def callback(a: dict[str, Any]) -> None:
        a["enqueue"].assign({"always": 1})
        if a["check"]("yes"):
            a["enqueue"].assign({"guarded": True})

    config = _entry({"type": "enqueueActions", "params": {"callback": callback}})
    assert start(config, guards={"yes": yes}).context == {"always": 1, "guarded": True}


def _emitter(event: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "on": {
                    "E": {"target": "b", "actions": [{"type": "emit", "params": {"event": event}}]}
                }
            },
            "b": {},
        },
    }


def test_emit_reaches_listener() -> None:
    interp = start(_emitter({"type": "OUT", "v": 1}))
    got: list[Any] = []
    interp.on("OUT", lambda e: got.append((e.type, e.data)))
    interp.send("E")
    assert got == [("OUT", {"v": 1})]


def test_emit_wildcard_listener() -> None:
    interp = start(_emitter("ANY"))
    got: list[str] = []
    interp.on("*", lambda e: got.append(e.type))
    interp.send("E")
    assert got == ["ANY"]


def test_emit_listener_failure_is_contained() -> None:
    interp = start(_emitter("OUT"))

    def bad(e: Any) -> None:
        raise ValueError("listener")

    interp.on("OUT", bad)
    assert after(interp, "E") == {"m.b"}


def test_user_action_wins_over_builtin_name() -> None:
    calls: list[str] = []
    start(_entry("log"), actions={"log": lambda i, c, e, a: calls.append("user")})
    assert calls == ["user"]


def test_spawn_child_alias_is_not_hijacked() -> None:
    # "spawn_child" means: spawn the service named "child" (spawnChild is the built-in)
    kid = build({"id": "kid", "initial": "x", "states": {"x": {}}})
    interp = start(_entry("spawn_child"), services={"child": kid})
    assert [c.chart.id for c in interp.children.values()] == ["kid"]


@pytest.mark.anyio
async def test_builtin_actions_work_in_async_engine() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {
            "a": {
                "on": {
                    "E": {
                        "target": "b",
                        "actions": [{"type": "assign", "params": {"assignment": {"n": 3}}}],
                    }
                }
            },
            "b": {},
        },
    }
    service = await Interpreter(build(config)).start()
    await service.send("E")
    assert service.context["n"] == 3 and service.current_state_ids == {"m.b"}
    await service.stop()


# -- actor system -------------------------------------------------------------------------------
KID = {
    "id": "kid",
    "initial": "idle",
    "states": {
        "idle": {"on": {"PING": {"actions": [{"type": "sendParent", "params": {"event": "PONG"}}]}}}
    },
}
PARENT = {
    "id": "p",
    "initial": "a",
    "context": {},
    "states": {
        "a": {
            "entry": [
                {"type": "spawnChild", "params": {"src": "kid", "id": "worker", "systemId": "w"}}
            ],
            "on": {
                "GO": {"actions": [{"type": "sendTo", "params": {"to": "w", "event": "PING"}}]},
                "PONG": "done",
                "STOPIT": {"actions": [{"type": "stopChild", "params": {"id": "worker"}}]},
            },
        },
        "done": {},
    },
}


def _parent() -> SyncInterpreter:
    return start(PARENT, services={"kid": lambda i, c, e: build(KID)})


def test_spawn_child_registers_system_id() -> None:
    interp = _parent()
    assert "w" in interp.system and interp.system.get("w") is not None
    assert "w" in interp.system.get_all()


def test_explicit_actor_id_is_used() -> None:
    assert list(_parent().children) == ["worker"]


def test_send_to_and_send_parent_round_trip() -> None:
    assert after(_parent(), "GO") == {"p.done"}


def test_stop_child_removes_the_actor() -> None:
    interp = _parent()
    assert len(interp.children) == 1
    interp.send("STOPIT")
    assert len(interp.children) == 0


@pytest.mark.anyio
async def test_actor_system_in_async_engine() -> None:
    machine = create_machine(
        PARENT, logic=MachineLogic(services={"kid": lambda i, c, e: build(KID)})
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(machine, system=system).start()
        assert service.system.get("w") is not None
        await service.send("GO")
        await service.ref.wait_for("p.done")
        assert service.current_state_ids == {"p.done"}
        await service.stop()


# -- snapshots ----------------------------------------------------------------------------------
DEEP_KID = {"id": "kid", "initial": "idle", "states": {"idle": {"on": {"N": "busy"}}, "busy": {}}}
DEEP = {
    "id": "p",
    "initial": "a",
    "context": {"n": 1},
    "states": {
        "a": {
            "entry": [{"type": "spawnChild", "params": {"src": "kid", "id": "w"}}],
            "on": {"E": "b"},
        },
        "b": {},
    },
}


def _deep() -> Any:
    return create_machine(
        DEEP, logic=MachineLogic(services={"kid": lambda i, c, e: build(DEEP_KID)})
    )


@pytest.mark.xfail(strict=True, reason="snapshots hold invoked charts, not spawnChild children")
def test_snapshot_includes_child_actors() -> None:
    import json

    data = json.loads(SyncInterpreter(_deep()).start().get_snapshot())
    assert "w" in data["actors"]


@pytest.mark.xfail(strict=True, reason="snapshots hold invoked charts, not spawnChild children")
def test_child_state_survives_round_trip() -> None:
    interp = SyncInterpreter(_deep()).start()
    interp.children["w"].send("N")
    restored = SyncInterpreter.from_snapshot(interp.get_snapshot(), _deep())
    assert restored.children["w"].current_state_ids == {"kid.busy"}


def test_snapshot_records_full_configuration() -> None:
    import json

    data = json.loads(SyncInterpreter(_deep()).start().get_snapshot())
    assert "p.a" in data["configuration"]


HISTORY = {
    "id": "m",
    "initial": "p",
    "states": {
        "p": {
            "initial": "c1",
            "states": {
                "c1": {"on": {"N": "c2"}},
                "c2": {"on": {"O": "#m.away"}},
                "h": {"type": "history"},
            },
        },
        "away": {"on": {"B": "#m.p.h"}},
    },
}


@pytest.mark.xfail(strict=True, raises=AttributeError, reason="status cannot be assigned")
def test_history_survives_round_trip() -> None:
    interp = start(HISTORY)
    interp.send("N")
    interp.send("O")
    restored = SyncInterpreter.from_snapshot(interp.get_snapshot(), build(HISTORY))
    restored.status = "running"  # type: ignore[misc]
    assert after(restored, "B") == {"m.p.c2"}


def test_history_survives_round_trip_without_touching_status() -> None:
    interp = start(HISTORY)
    interp.send("N")
    interp.send("O")
    restored = SyncInterpreter.from_snapshot(interp.get_snapshot(), build(HISTORY))
    assert after(restored, "B") == {"m.p.c2"}


# -- completion and errors ----------------------------------------------------------------------
def test_top_level_final_sets_done_and_output() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"E": "f"}}, "f": {"type": "final", "output": {"result": 42}}},
    }
    interp = start(config)
    interp.send("E")
    assert interp.status == "done" and interp.output == {"result": 42}


def test_on_done_carries_output_as_event_data() -> None:
    seen: dict[str, Any] = {}
    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {
                "initial": "w",
                "onDone": {"target": "end", "actions": ["cap"]},
                "states": {"w": {"on": {"E": "f"}}, "f": {"type": "final", "output": {"n": 7}}},
            },
            "end": {},
        },
    }
    interp = start(config, actions={"cap": lambda i, c, e, a: seen.update(data=e.data)})
    interp.send("E")
    assert seen == {"data": {"n": 7}} and interp.current_state_ids == {"m.end"}


def test_callable_output_is_resolved() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 3},
        "states": {
            "a": {"on": {"E": "f"}},
            "f": {"type": "final", "output": lambda a: a["context"]["n"] * 2},
        },
    }
    interp = start(config)
    interp.send("E")
    assert interp.output == 6


async def _boom(i: Any, c: Any, e: Any) -> None:
    raise ValueError("kaboom")


@pytest.mark.xfail(strict=True, reason="an error event nobody handles is dropped (SCXML)")
@pytest.mark.anyio
async def test_unhandled_service_error_sets_error_status() -> None:
    config = {"id": "m", "initial": "l", "states": {"l": {"invoke": {"src": "b"}}}}
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(build(config, services={"b": _boom}), system=system).start()
        await service.ref.wait_for(lambda snap: not snap.invocations)
        assert service.status == "error"


@pytest.mark.anyio
async def test_handled_service_error_keeps_running() -> None:
    config = {
        "id": "m",
        "initial": "l",
        "states": {"l": {"invoke": {"src": "b", "onError": "e"}}, "e": {}},
    }
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(build(config, services={"b": _boom}), system=system).start()
        await service.ref.wait_for("m.e")
        assert service.status == "running" and service.current_state_ids == {"m.e"}
        await service.stop()


@pytest.mark.anyio
async def test_to_promise_returns_output() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"E": "f"}}, "f": {"type": "final", "output": {"r": 7}}},
    }
    service = await Interpreter(build(config)).start()
    await service.send("E")
    assert await to_promise(service, timeout=2) == {"r": 7}
    await service.stop()


@pytest.mark.anyio
async def test_wait_for_predicate() -> None:
    service = await Interpreter(build(_on({"E": "b"}, "b"))).start()
    await service.send("E")
    await wait_for(service, lambda i: i.matches("m.b"), timeout=2)
    assert service.current_state_ids == {"m.b"}
    await service.stop()


# -- observation --------------------------------------------------------------------------------
NESTED = {
    "id": "m",
    "initial": "p",
    "states": {"p": {"initial": "c", "states": {"c": {"on": {"E": "d"}}, "d": {}}}},
}


def test_matches_accepts_several_spellings() -> None:
    interp = start(NESTED)
    assert interp.matches("m.p.c") and interp.matches("p.c") and interp.matches("#m.p.c")
    assert not interp.matches("m.p.d")


def test_matches_an_active_ancestor() -> None:
    assert start(NESTED).matches("m.p")


def test_can_predicts_transitions() -> None:
    interp = start(NESTED)
    assert interp.can("E") and not interp.can("NOPE")
    assert interp.current_state_ids == {"m.p.c"}


def test_can_respects_guards() -> None:
    assert not start(two({"guard": "no"}, "E"), guards={"no": no}).can("E")


def test_subscribe_and_unsubscribe() -> None:
    seen: list[Any] = []
    interp = start(NESTED)
    unsubscribe = interp.subscribe(lambda i: seen.append(sorted(i.current_state_ids)))
    interp.send("E")
    count = len(seen)
    unsubscribe()
    interp.send("E")
    assert count == 1 and len(seen) == count


def test_subscriber_exception_is_contained() -> None:
    interp = start(NESTED)

    def bad(i: Any) -> None:
        raise ValueError("subscriber")

    interp.subscribe(bad)
    assert after(interp, "E") == {"m.p.d"}


def test_input_seeds_context() -> None:
    config = {"id": "m", "initial": "a", "context": {"n": 1}, "states": {"a": {}}}
    interp = SyncInterpreter(build(config), input={"k": 9}).start()
    assert interp.input == {"k": 9} and interp.context["input"] == {"k": 9}


def test_context_factory_receives_input() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": lambda a: {"greeting": "hi " + a["input"]["name"]},
        "states": {"a": {}},
    }
    interp = SyncInterpreter(build(config), input={"name": "Ada"}).start()
    assert interp.context["greeting"] == "hi Ada"


# -- the pure transition API ----------------------------------------------------------------------
PURE_API = "not offered: the pure step is chart.transition(snapshot, event) (it runs actions)"


@pytest.mark.xfail(strict=True, raises=AttributeError, reason=PURE_API)
def test_initial_transition_returns_snapshot() -> None:
    snapshot, _ = xstate.initial_transition(build(NESTED))  # type: ignore[attr-defined]
    assert snapshot.state_ids == {"m.p.c"}


@pytest.mark.xfail(strict=True, raises=AttributeError, reason=PURE_API)
def test_transition_computes_next_state() -> None:
    machine = build(NESTED)
    snapshot, _ = xstate.initial_transition(machine)  # type: ignore[attr-defined]
    result, _ = xstate.pure_transition(machine, snapshot, "E")  # type: ignore[attr-defined]
    assert result.state_ids == {"m.p.d"}


@pytest.mark.xfail(strict=True, raises=AttributeError, reason=PURE_API)
def test_get_next_snapshot_wrapper() -> None:
    machine = build(NESTED)
    snapshot, _ = xstate.initial_transition(machine)  # type: ignore[attr-defined]
    assert xstate.get_next_snapshot(machine, snapshot, "E").state_ids == {"m.p.d"}  # type: ignore[attr-defined]


# -- named delays -------------------------------------------------------------------------------
DELAYED = {"id": "m", "initial": "a", "states": {"a": {"after": {"SHORT": "b"}}, "b": {}}}


@pytest.mark.xfail(strict=True, reason="timers fire in advance()/poll(), there is no timer thread")
def test_named_delay_resolves_and_fires() -> None:
    interp = start(
        {**DELAYED, "states": {"a": {"after": {"SHORT": "b"}}, "b": {}}}, delays={"SHORT": 0}
    )
    assert interp.current_state_ids == {"m.b"}  # the peer polls until its thread fired it


def test_named_delay_resolves_and_fires_on_the_clock() -> None:
    interp = start(DELAYED, delays={"SHORT": 20})
    assert interp.current_state_ids == {"m.a"}
    interp.advance(0.02)
    assert interp.current_state_ids == {"m.b"}


def test_numeric_delay_still_works() -> None:
    interp = start({"id": "m", "initial": "a", "states": {"a": {"after": {20: "b"}}, "b": {}}})
    interp.advance(0.02)
    assert interp.current_state_ids == {"m.b"}


# -- action creators ----------------------------------------------------------------------------
def test_helpers_produce_dispatchable_actions() -> None:
    cases = [
        (raise_("GO"), "xstate.raise"),
        (send_to("a", "GO"), "xstate.sendTo"),
        (send_parent("GO"), "xstate.sendParent"),
        (forward_to("a"), "xstate.forwardTo"),
        (escalate("boom"), "xstate.escalate"),
        (log("hi"), "xstate.log"),
        (cancel("x"), "xstate.cancel"),
        (stop_child("kid"), "xstate.stopChild"),
        (spawn_child("kid"), "xstate.spawnChild"),
        (emit("OUT"), "xstate.emit"),
        (assign({"n": 1}), "xstate.assign"),
        (pure(lambda a: None), "xstate.pure"),
        (choose([{"actions": []}]), "xstate.choose"),
        (enqueue_actions(lambda a: None), "xstate.enqueueActions"),
    ]
    for action, kind in cases:
        assert action["type"] == kind and "params" in action


def test_helper_built_action_executes() -> None:
    assert start(_entry(assign({"via": "helper"}))).context == {"via": "helper"}


def test_enqueuer_convenience_methods() -> None:
    enqueue = ActionEnqueuer(None, None)
    enqueue.assign({"a": 1})
    enqueue.raise_("R")
    enqueue.send_to("t", "S")
    enqueue.send_parent("P")
    enqueue.emit("E")
    enqueue.log("L")
    enqueue.cancel("c")
    enqueue.stop_child("k")
    enqueue.spawn_child("s")
    enqueue("named")
    kinds = [i["type"] if isinstance(i, dict) else i for i in enqueue.items]
    assert kinds == [
        "xstate.assign",
        "xstate.raise",
        "xstate.sendTo",
        "xstate.sendParent",
        "xstate.emit",
        "xstate.log",
        "xstate.cancel",
        "xstate.stopChild",
        "xstate.spawnChild",
        "named",
    ]


def test_alias_spellings_resolve_identically() -> None:
    # the peer checks its resolve_builtin(); here: each spelling runs the same built-in
    for spelling in ("sendTo", "send_to", "xstate.sendTo"):
        config = _entry(
            {"type": "spawnChild", "params": {"src": "kid", "id": "k"}},
            {"type": spelling, "params": {"to": "k", "event": "N"}},
        )
        interp = start(config, services={"kid": build(DEEP_KID)})
        assert interp.children["k"].current_state_ids == {"kid.busy"}


# -- initial state resolution -------------------------------------------------------------------
@pytest.mark.xfail(
    strict=True,
    reason="machine.initial() is statefleet's pure initial step; the key is root_node.initial",
)
def test_single_child_is_inferred() -> None:
    assert build({"id": "m", "states": {"only": {}}}).initial == "only"


@pytest.mark.xfail(strict=True, reason="the first child is the default initial state (SCXML)")
def test_ambiguous_parent_raises_on_start() -> None:
    from statefleet.compat.xstate import InvalidConfigError

    with pytest.raises(InvalidConfigError):
        start({"id": "m", "states": {"a": {}, "b": {}}})


def test_history_child_is_not_inferred_as_initial() -> None:
    machine = build(
        {"id": "m", "states": {"p": {"states": {"real": {}, "h": {"type": "history"}}}}}
    )
    assert machine.states["p"].initial == "real"


# -- history ------------------------------------------------------------------------------------
SHALLOW = {
    "id": "m",
    "initial": "p",
    "states": {
        "p": {
            "initial": "c1",
            "states": {
                "c1": {"on": {"N": "c2"}},
                "c2": {"on": {"OUT": "#m.away"}},
                "h": {"type": "history"},
            },
        },
        "away": {"on": {"BACK": "#m.p.h"}},
    },
}
DEEP_HISTORY = {
    "id": "m",
    "initial": "p",
    "states": {
        "p": {
            "initial": "x",
            "states": {
                "x": {
                    "initial": "x1",
                    "states": {"x1": {"on": {"D": "x2"}}, "x2": {"on": {"OUT": "#m.away"}}},
                },
                "h": {"type": "history", "history": "deep"},
            },
        },
        "away": {"on": {"BACK": "#m.p.h"}},
    },
}


def test_history_node_is_parsed_as_history() -> None:
    node = build(DEEP_HISTORY).states["p"].states["h"]
    assert (node.type, node.history) == ("history", "deep")


def test_shallow_history_restores_immediate_child() -> None:
    interp = start(SHALLOW)
    interp.send("N")
    interp.send("OUT")
    assert after(interp, "BACK") == {"m.p.c2"}


def test_deep_history_restores_nested_leaf() -> None:
    interp = start(DEEP_HISTORY)
    interp.send("D")
    interp.send("OUT")
    assert after(interp, "BACK") == {"m.p.x.x2"}


def test_unvisited_history_falls_back_to_initial() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"on": {"GO": "#m.p.h"}},
            "p": {"initial": "c1", "states": {"c1": {}, "h": {"type": "history"}}},
        },
    }
    assert after(start(config), "GO") == {"m.p.c1"}


@pytest.mark.anyio
async def test_history_in_async_engine() -> None:
    service = await Interpreter(build(SHALLOW)).start()
    for event in ("N", "OUT", "BACK"):
        await service.send(event)
    assert service.current_state_ids == {"m.p.c2"}
    await service.stop()


# -- robustness ---------------------------------------------------------------------------------
def test_invalid_guard_shape_raises() -> None:
    from statefleet.compat.xstate import InvalidConfigError

    with pytest.raises(InvalidConfigError):
        build(two({"guard": {}}))


def test_composite_guard_without_children_raises() -> None:
    from statefleet.compat.xstate import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="'and' guard needs children"):
        build(two({"guard": {"type": "and"}}))


def test_not_guard_requires_exactly_one_child() -> None:
    from statefleet.compat.xstate import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="exactly one child"):
        build(two({"guard": {"type": "not", "children": ["x", "y"]}}), guards={"x": yes, "y": no})


def test_state_in_without_params_is_false() -> None:
    assert after(start(two({"guard": {"type": "stateIn"}})), "GO") == {"m.a"}


@pytest.mark.xfail(
    strict=True,
    raises=ImplementationMissingError,
    reason="names are resolved when the machine is made: an unknown delay is refused",
)
def test_unknown_named_delay_is_skipped_not_fatal() -> None:
    config = {"id": "m", "initial": "a", "states": {"a": {"after": {"MISSING": "b"}}, "b": {}}}
    assert start(config).current_state_ids == {"m.a"}


def test_send_to_unknown_target_is_not_fatal() -> None:
    config = two({"actions": [{"type": "sendTo", "params": {"to": "ghost", "event": "X"}}]}, "E")
    assert after(start(config), "E") == {"m.b"}


def test_coerce_event_accepts_dict_form() -> None:
    assert start(_on({"E": "b"}, "b")).can({"type": "E", "payload": 1})


# -- the async engine's built-ins ---------------------------------------------------------------
@pytest.mark.anyio
async def test_raise_in_async_engine() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "on": {
                    "E": {"target": "b", "actions": [{"type": "raise", "params": {"event": "GO"}}]}
                }
            },
            "b": {"on": {"GO": "c"}},
            "c": {},
        },
    }
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(build(config), system=system).start()
        await service.send("E")
        await service.ref.wait_for("m.c")
        await service.stop()


def _late(*extra: tuple[str, Any]) -> dict[str, Any]:
    on: dict[str, Any] = {
        "S": {
            "actions": [
                {"type": "raise", "params": {"event": "LATE", "delay": 30, "id": "x"}},
            ]
        },
        "LATE": "b",
    }
    on.update(dict(extra))
    return {"id": "m", "initial": "a", "states": {"a": {"on": on}, "b": {}}}


@pytest.mark.anyio
async def test_delayed_send_fires() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(build(_late()), system=system).start()
        await service.send("S")
        await wait_for(service, lambda i: i.matches("m.b"), timeout=3)
        assert service.current_state_ids == {"m.b"}
        await service.stop()


@pytest.mark.anyio
async def test_cancel_aborts_delayed_send() -> None:
    cancel_x = ("C", {"actions": [{"type": "cancel", "params": {"sendId": "x"}}]})
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(build(_late(cancel_x)), system=system).start()
        await service.send("S")
        await service.send("C")
        with pytest.raises(TimeoutError):  # 0.15 s of virtual time pass: nothing arrives
            await service.ref.wait_for("m.b", timeout=0.15)
        assert service.current_state_ids == {"m.a"}
        await service.stop()


def _with_kid(kid: dict[str, Any], on: dict[str, Any]) -> Any:
    parent = {
        "id": "p",
        "initial": "a",
        "context": {},
        "states": {
            "a": {"entry": [{"type": "spawnChild", "params": {"src": "kid", "id": "k"}}], "on": on},
            "caught": {},
        },
    }
    return create_machine(parent, logic=MachineLogic(services={"kid": lambda i, c, e: build(kid)}))


@pytest.mark.anyio
async def test_escalate_reaches_parent() -> None:
    kid = {
        "id": "kid",
        "initial": "idle",
        "states": {
            "idle": {
                "on": {"FAIL": {"actions": [{"type": "escalate", "params": {"error": "bad"}}]}}
            }
        },
    }
    machine = _with_kid(
        kid,
        {
            "GO": {"actions": [{"type": "sendTo", "params": {"to": "k", "event": "FAIL"}}]},
            "*": "caught",
        },
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(machine, system=system).start()
        await service.send("GO")
        await service.ref.wait_for("p.caught")
        await service.stop()


@pytest.mark.anyio
async def test_forward_to_relays_event() -> None:
    kid = {"id": "kid", "initial": "idle", "states": {"idle": {"on": {"WORK": "busy"}}, "busy": {}}}
    machine = _with_kid(kid, {"WORK": {"actions": [{"type": "forwardTo", "params": {"to": "k"}}]}})
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(machine, system=system).start()
        await service.send("WORK")
        await service.children["k"].wait_for("kid.busy")
        await service.stop()


@pytest.mark.anyio
async def test_stop_child_in_async_engine() -> None:
    kid = {"id": "kid", "initial": "idle", "states": {"idle": {}}}
    machine = _with_kid(kid, {"STOP": {"actions": [{"type": "stopChild", "params": {"id": "k"}}]}})
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(machine, system=system).start()
        assert len(service.children) == 1
        await service.send("STOP")
        assert len(service.children) == 0
        await service.stop()


@pytest.mark.anyio
async def test_emit_in_async_engine() -> None:
    got: list[str] = []
    service = await Interpreter(build(_emitter("OUT"))).start()
    service.on("OUT", lambda e: got.append(e.type))
    await service.send("E")
    assert got == ["OUT"]
    await service.stop()


@pytest.mark.xfail(strict=True, reason="snapshots hold invoked charts, not spawnChild children")
@pytest.mark.anyio
async def test_deep_persistence_in_async_engine() -> None:
    kid = {"id": "kid", "initial": "idle", "states": {"idle": {}}}
    service = await Interpreter(_with_kid(kid, {})).start()
    try:
        import json

        assert "k" in json.loads(service.get_snapshot())["actors"]
    finally:
        await service.stop()


# -- helper edge cases --------------------------------------------------------------------------
@pytest.mark.anyio
async def test_wait_for_times_out() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(
            build({"id": "m", "initial": "a", "states": {"a": {}}}), system=system
        ).start()
        with pytest.raises(TimeoutError):
            await wait_for(service, lambda i: i.matches("m.nope"), timeout=0.05)
        await service.stop()


@pytest.mark.anyio
async def test_wait_for_detects_terminal_status() -> None:
    service = await Interpreter(
        build(
            {"id": "m", "initial": "a", "states": {"a": {"on": {"E": "f"}}, "f": {"type": "final"}}}
        )
    ).start()
    await service.send("E")
    with pytest.raises(TimeoutError):
        await wait_for(service, lambda i: i.matches("m.never"), timeout=2)
    await service.stop()


@pytest.mark.xfail(strict=True, reason="an error event nobody handles is dropped (SCXML)")
@pytest.mark.anyio
async def test_to_promise_reraises_machine_error() -> None:
    config = {"id": "m", "initial": "l", "states": {"l": {"invoke": {"src": "b"}}}}
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(build(config, services={"b": _boom}), system=system).start()
        with pytest.raises(ValueError):
            await to_promise(service, timeout=2)


def test_wait_for_sync_returns_when_satisfied() -> None:
    interp = start(_on({"E": "b"}, "b"))
    interp.send("E")
    assert xstate.wait_for_sync(interp, lambda i: i.matches("m.b"), timeout=1) is interp


def test_wait_for_sync_times_out() -> None:
    interp = start({"id": "m", "initial": "a", "states": {"a": {}}})
    with pytest.raises(TimeoutError):
        xstate.wait_for_sync(interp, lambda i: i.matches("m.nope"), timeout=0.05)


@pytest.mark.xfail(strict=True, raises=AttributeError, reason=PURE_API)
def test_pure_snapshot_repr() -> None:
    snapshot, _ = xstate.initial_transition(build(NESTED))  # type: ignore[attr-defined]
    assert "PureSnapshot" in repr(snapshot)


def test_actor_system_repr_and_contains() -> None:
    interp = start({"id": "m", "initial": "a", "states": {"a": {}}})
    assert "ActorSystem" in repr(interp.system) and "ghost" not in interp.system


# -- the peer's parsing classes -----------------------------------------------------------------
MODELS = "xstate_statemachine.models.GuardDefinition (its parser's class) is not offered"


@pytest.mark.xfail(strict=True, raises=AttributeError, reason=MODELS)
@pytest.mark.parametrize(
    "case",
    [
        "test_guard_definition_repr",
        "test_guard_definition_is_idempotent",
        "test_guard_definition_rejects_bad_type",
        "test_not_guard_via_params_shorthand",
        "test_composite_guard_via_params_guards",
        "test_is_builtin_property",
    ],
)
def test_guard_definition_model(case: str) -> None:
    assert xstate.GuardDefinition("isReady")  # type: ignore[attr-defined]
