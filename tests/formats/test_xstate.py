"""The XState dialect: every config key, logic resolution, the session view, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import statefleet
from statefleet import Chart, ChartDefinitionError, StatefleetError, from_dict, from_json
from statefleet.formats import xstate
from statefleet.formats.xstate import (
    ActionDef,
    MachineLogic,
    StateIds,
    XEvent,
    XStateSession,
)


def run(config: dict[str, Any], **kw: Any) -> XStateSession:
    context = kw.pop("context", None)
    return XStateSession(from_dict(config, **kw), context=context).start()


def definition_error(config: Any, **kw: Any) -> ChartDefinitionError:
    with pytest.raises(ChartDefinitionError) as info:
        from_dict(config, **kw)
    return info.value


class Recorder:
    """Actions named ``rec_<tag>`` append ``<tag>`` to ``log``."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def actions(self, *tags: str) -> dict[str, Any]:
        return {f"rec_{t}": self._rec(t) for t in tags}

    def _rec(self, tag: str) -> Any:
        def rec(context: dict[str, Any], event: XEvent) -> None:
            self.log.append(tag)

        return rec


# -- ids and structure -----------------------------------------------------------------------
def test_state_ids_are_dotted_paths_from_the_machine_id_unless_set() -> None:
    chart = from_dict(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "id": "custom",
                    "initial": "b",
                    "states": {"b": {"on": {"GO": "#m.a.c"}}, "c": {}},
                }
            },
        }
    )
    assert chart.state_ids == ("custom", "m.a.b", "m.a.c")
    s = XStateSession(chart).start()
    assert s.active_state_ids == {"m.a.b"}
    s.send("GO")
    assert s.active_state_ids == {"m.a.c"}
    assert s.configuration == {"custom", "m.a.c"}


def test_a_machine_without_id_is_named_like_xstate() -> None:
    s = run({"initial": "a", "states": {"a": {}}})
    assert s.active_state_ids == {"(machine).a"}


def test_initial_defaults_to_the_first_child() -> None:
    s = run({"id": "m", "states": {"x": {"states": {"y": {}, "z": {}}}, "w": {}}})
    assert s.active_state_ids == {"m.x.y"}
    assert s.value == {"x": "y"}


def test_state_ids_print_in_document_order_and_compare_as_sets() -> None:
    ids = StateIds(["b", "a", "b"])
    assert repr(ids) == "{'b', 'a'}"
    assert list(ids) == ["b", "a"]
    assert ids == {"a", "b"}
    assert repr(StateIds()) == "set()"


# -- on: targets, objects, guarded lists -----------------------------------------------------
def test_on_takes_a_target_string_an_object_or_a_guarded_list() -> None:
    rec = Recorder()
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {
            "a": {
                "on": {
                    "STR": "b",
                    "OBJ": {"target": "b", "actions": ["rec_obj"]},
                    "LIST": [
                        {"target": "b", "guard": "isBig"},
                        {"target": "c", "cond": "isMedium", "actions": "rec_medium"},
                        {"target": "d", "actions": "rec_fallback"},
                        {"target": "b"},
                    ],
                }
            },
            "b": {"on": {"BACK": "a"}},
            "c": {"on": {"BACK": "a"}},
            "d": {"on": {"BACK": "a"}},
        },
    }
    guards = {
        "isBig": lambda ctx, ev: ev.data.get("n", 0) > 10,
        "isMedium": lambda ctx, ev: ev.data.get("n", 0) > 5,
    }
    s = run(config, guards=guards, actions=rec.actions("obj", "medium", "fallback"))
    s.send("STR")
    assert s.value == "b"
    s.send("BACK")
    s.send("OBJ")
    assert (s.value, rec.log) == ("b", ["obj"])
    for n, expected in ((20, "b"), (7, "c"), (1, "d")):
        s.send("BACK")
        s.send("LIST", n=n)
        assert s.value == expected
    # the first enabled transition wins: only its actions run
    assert rec.log == ["obj", "medium", "fallback"]


def test_targets_sibling_paths_child_forms_and_ids() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "initial": "a1",
                "on": {"DEEP": ".a2.x", "SIB": "b.b2", "ID": "#target", "IDPATH": "#m.b.b2"},
                "states": {"a1": {}, "a2": {"initial": "w", "states": {"w": {}, "x": {}}}},
            },
            "b": {
                "initial": "b1",
                "on": {"HOME": "a"},
                "states": {"b1": {"id": "target"}, "b2": {}},
            },
        },
    }
    s = run(config)
    s.send("DEEP")
    assert s.active_state_ids == {"m.a.a2.x"}
    s.send("SIB")
    assert s.active_state_ids == {"m.b.b2"}
    s.send("HOME")
    s.send("ID")
    assert s.active_state_ids == {"target"}
    s.send("HOME")
    s.send("IDPATH")
    assert s.active_state_ids == {"m.b.b2"}


def test_multiple_targets_enter_parallel_regions() -> None:
    config = {
        "id": "m",
        "initial": "idle",
        "states": {
            "idle": {"on": {"GO": {"target": ["#m.p.r1.y", "#m.p.r2.y"]}}},
            "p": {
                "type": "parallel",
                "states": {
                    "r1": {"states": {"x": {}, "y": {}}},
                    "r2": {"states": {"x": {}, "y": {}}},
                },
            },
        },
    }
    s = run(config)
    s.send("GO")
    assert s.active_state_ids == {"m.p.r1.y", "m.p.r2.y"}


def test_null_transition_blocks_the_parent_handler() -> None:
    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {"on": {"X": "q"}, "states": {"a": {"on": {"X": None}}, "b": {}}},
            "q": {},
        },
    }
    s = run(config)
    s.send("X")
    assert s.active_state_ids == {"m.p.a"}


def test_in_guard_checks_another_state() -> None:
    config = {
        "id": "m",
        "type": "parallel",
        "states": {
            "light": {"states": {"off": {"on": {"ON": "on"}}, "on": {}}},
            "door": {
                "states": {
                    "shut": {"on": {"OPEN": {"target": "open", "in": "#m.light.on"}}},
                    "open": {},
                }
            },
        },
    }
    s = run(config)
    s.send("OPEN")
    assert s.value == {"light": "off", "door": "shut"}
    s.send("ON")
    s.send("OPEN")
    assert s.value == {"light": "on", "door": "open"}


def test_exact_event_names_are_matched_before_wildcards() -> None:
    rec = Recorder()
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "on": {
                    "*": {"actions": "rec_star"},
                    "user.*": {"actions": "rec_user"},
                    "user.login": {"actions": "rec_login"},
                }
            }
        },
    }
    s = run(config, actions=rec.actions("star", "user", "login"))
    for name in ("user.login", "user.logout", "other"):
        s.send(name)
    assert rec.log == ["login", "user", "star"]


def test_event_names_match_exactly_not_by_dotted_prefix() -> None:
    # "done" and "error" are prefixes of events the engine raises; XState never matches them
    rec = Recorder()
    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {
                "on": {"done": {"actions": "rec_done"}, "error": {"actions": "rec_error"}},
                "initial": "a",
                "states": {"a": {"entry": "boom", "on": {"FIN": "f"}}, "f": {"type": "final"}},
            }
        },
    }

    def boom(context: dict[str, Any]) -> None:
        raise ValueError("boom")

    s = run(config, actions={**rec.actions("done", "error"), "boom": boom})
    s.send("FIN")  # raises done.state.m.p
    assert rec.log == []
    s.send("done")
    s.send("error")
    assert rec.log == ["done", "error"]


# -- final, parallel, history ----------------------------------------------------------------
def test_parallel_on_done_fires_only_when_every_region_is_final() -> None:
    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {
                "type": "parallel",
                "states": {
                    "r1": {
                        "initial": "a",
                        "states": {"a": {"on": {"A": "f"}}, "f": {"type": "final"}},
                    },
                    "r2": {
                        "initial": "a",
                        "states": {
                            "a": {"on": {"B": "sub"}},
                            # a nested compound finishing must not count as r2 finishing
                            "sub": {
                                "initial": "x",
                                "states": {"x": {"on": {"C": "y"}}, "y": {"type": "final"}},
                                "onDone": "f",
                            },
                            "f": {"type": "final"},
                        },
                    },
                },
                "onDone": "done",
            },
            "done": {"type": "final"},
        },
    }
    s = run(config)
    s.send("A")
    assert s.active_state_ids == {"m.p.r1.f", "m.p.r2.a"}
    s.send("B")
    assert s.active_state_ids == {"m.p.r1.f", "m.p.r2.sub.x"}
    s.send("C")
    assert s.active_state_ids == {"m.done"}
    assert s.done


def test_on_done_takes_an_object_with_actions_or_a_guarded_list() -> None:
    config = {
        "id": "m",
        "initial": "work",
        "context": {"ok": True},
        "states": {
            "work": {
                "initial": "a",
                "states": {"a": {"on": {"FIN": "f"}}, "f": {"type": "final"}},
                "onDone": [
                    {"target": "good", "guard": "isOk", "actions": "note"},
                    {"target": "bad"},
                ],
            },
            "good": {"type": "final"},
            "bad": {"type": "final"},
        },
    }
    notes: list[str] = []
    logic = {"isOk": lambda ctx, ev: ctx["ok"], "note": lambda ctx, ev: notes.append(ev.type)}
    s = run(config, logic=logic)
    s.send("FIN")
    assert (s.active_state_ids, notes) == ({"m.good"}, ["done.state.m.work"])
    s = run(config, logic=logic, context={"ok": False})
    s.send("FIN")
    assert s.active_state_ids == {"m.bad"}


def test_final_output_is_the_done_event_data() -> None:
    seen: list[Any] = []
    config = {
        "id": "m",
        "initial": "w",
        "context": {"total": 3},
        "states": {
            "w": {
                "initial": "a",
                "states": {
                    "a": {"on": {"FIN": "f"}},
                    "f": {
                        "type": "final",
                        "output": {"total": lambda ctx, ev: ctx["total"], "k": 1},
                    },
                },
                "onDone": {"target": "end", "actions": "keep"},
            },
            "end": {"type": "final", "data": {"result": "ok"}},
        },
    }
    s = run(config, actions={"keep": lambda ctx, ev: seen.append(ev.data)})
    s.send("FIN")
    assert seen == [{"total": 3, "k": 1}]
    assert s.output == {"result": "ok"}


def test_history_shallow_deep_and_default_target() -> None:
    config = {
        "id": "m",
        "initial": "on",
        "states": {
            "on": {
                "initial": "a",
                "on": {"OFF": "off"},
                "states": {
                    "a": {"on": {"NEXT": "b"}},
                    "b": {"initial": "b1", "states": {"b1": {"on": {"NEXT": "b2"}}, "b2": {}}},
                    "hist": {"type": "history"},
                    "deep": {"type": "history", "history": "deep"},
                },
            },
            "off": {"on": {"SHALLOW": "on.hist", "DEEP": "on.deep", "FRESH": "fresh"}},
            "fresh": {
                "initial": "h",
                "states": {"h": {"type": "history", "target": "y"}, "x": {}, "y": {}},
            },
        },
    }
    s = run(config)
    s.send("NEXT")
    s.send("NEXT")
    assert s.active_state_ids == {"m.on.b.b2"}
    s.send("OFF")
    s.send("SHALLOW")
    assert s.active_state_ids == {"m.on.b.b1"}
    s.send("NEXT")
    s.send("OFF")
    s.send("DEEP")
    assert s.active_state_ids == {"m.on.b.b2"}
    s.send("OFF")
    s.send("FRESH")
    assert s.active_state_ids == {"m.fresh.y"}


# -- entry, exit, actions --------------------------------------------------------------------
def test_entry_and_exit_take_strings_lists_objects_and_functions() -> None:
    log: list[Any] = []

    class Logic(MachineLogic):
        def say(self, interpreter: Any, context: Any, event: XEvent, action_def: ActionDef) -> None:
            log.append((action_def.type, dict(action_def.params)))

    def inline(context: dict[str, Any]) -> None:
        log.append("inline")

    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "entry": ["say", {"type": "say", "text": "hi"}, inline],
                "exit": {"type": "say", "params": {"text": "bye"}},
                "on": {"GO": "b"},
            },
            "b": {"entry": "say"},
        },
    }
    s = run(config, logic=Logic())
    assert log == [("say", {}), ("say", {"text": "hi"}), "inline"]
    log.clear()
    s.send("GO")
    assert log == [("say", {"text": "bye"}), ("say", {})]


def test_reenter_and_internal_decide_whether_the_source_is_exited() -> None:
    rec = Recorder()
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {
                "entry": "rec_in",
                "exit": "rec_out",
                "initial": "b",
                "on": {
                    "SELF": "a",
                    "SELF_STAY": {"target": "a", "reenter": False},
                    "SELF_INTERNAL": {"target": "a", "internal": True},
                    "CHILD": ".c",
                    "CHILD_REENTER": {"target": ".c", "reenter": True},
                    "CHILD_EXTERNAL": {"target": ".b", "internal": False},
                },
                "states": {"b": {"on": {"TO_C": "c"}}, "c": {}},
            }
        },
    }
    s = run(config, actions=rec.actions("in", "out"))
    cases = [
        ("SELF", ["out", "in"], "b"),
        ("CHILD", [], "c"),
        ("SELF_STAY", [], "b"),  # children restart, the state stays
        ("CHILD_REENTER", ["out", "in"], "c"),
        ("SELF_INTERNAL", [], "b"),
        ("CHILD_EXTERNAL", ["out", "in"], "b"),
    ]
    for event, log, child in cases:
        rec.log.clear()
        s.send(event)
        assert (event, rec.log, s.value) == (event, log, {"a": child})


def test_event_payload_is_event_data_and_send_takes_event_objects() -> None:
    seen: list[Any] = []

    def keep(interpreter: Any, context: Any, event: XEvent, action_def: ActionDef) -> None:
        seen.append((event.type, event.data, event.get("n"), interpreter))

    config = {"id": "m", "initial": "a", "states": {"a": {"on": {"X": {"actions": "keep"}}}}}
    s = run(config, actions={"keep": keep})
    s.send("X")
    s.send("X", n=1)
    s.send({"type": "X", "n": 2})
    assert seen == [("X", {}, None, s), ("X", {"n": 1}, 1, s), ("X", {"n": 2}, 2, s)]
    with pytest.raises(StatefleetError, match="type"):
        s.send({"n": 3})


def test_actions_can_send_events_through_the_interpreter() -> None:
    def ping(interpreter: XStateSession, context: Any, event: Any, action_def: Any) -> None:
        interpreter.send("PONG")

    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"on": {"PING": {"target": "b", "actions": "ping"}}},
            "b": {"on": {"PONG": "c"}},
            "c": {},
        },
    }
    s = run(config, actions={"ping": ping})
    s.send("PING")
    assert s.value == "c"


def test_a_failing_action_raises_error_execution_and_the_transition_completes() -> None:
    def fail(context: dict[str, Any]) -> None:
        raise RuntimeError("nope")

    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"on": {"GO": {"target": "b", "actions": "fail"}}},
            "b": {"on": {"error.*": {"target": "c", "actions": "seen"}}},
            "c": {},
        },
    }
    errors: list[Any] = []
    s = run(config, actions={"fail": fail, "seen": lambda ctx, ev: errors.append(ev.data)})
    s.send("GO")
    assert s.value == "c"
    assert isinstance(errors[0], RuntimeError)


# -- eventless -------------------------------------------------------------------------------
def test_always_and_the_empty_event_key_are_eventless() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {
            "a": {"on": {"INC": {"actions": "inc"}}, "always": {"target": "big", "guard": "isBig"}},
            "big": {
                "on": {
                    "": [{"target": "huge", "guard": "isHuge"}, {"target": "a", "guard": "isSmall"}]
                }
            },
            "huge": {"type": "final"},
        },
    }

    def inc(context: dict[str, Any], event: XEvent) -> None:
        context["n"] += event.get("by", 1)

    guards = {
        "isBig": lambda ctx: ctx["n"] >= 2,
        "isHuge": lambda ctx: ctx["n"] >= 10,
        "isSmall": lambda ctx: ctx["n"] < 2,
    }
    s = run(config, actions={"inc": inc}, guards=guards)
    s.send("INC")
    assert s.value == "a"
    s.send("INC")
    assert s.value == "big"
    s = run(config, actions={"inc": inc}, guards=guards)
    s.send("INC", by=10)
    assert (s.value, s.done) == ("huge", True)


# -- after -----------------------------------------------------------------------------------
def test_after_fires_on_the_virtual_clock_and_is_cancelled_on_exit() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"after": {"1000": "b"}, "on": {"LEAVE": "c"}},
            "b": {"after": {1500: "a"}},
            "c": {"on": {"BACK": "a"}},
        },
    }
    s = run(config)
    s.advance(0.999)
    assert s.value == "a"
    s.advance(0.001)
    assert s.value == "b"
    s.advance(1.5)
    assert s.value == "a"
    s.send("LEAVE")
    assert s.session.next_due is None  # the timer of "a" was cancelled
    s.advance(5)
    assert s.value == "c"
    s.send("BACK")
    s.advance(0.5)
    s.send("LEAVE")
    s.send("BACK")  # re-entering restarts the timer
    s.advance(0.9)
    assert s.value == "a"
    s.advance(0.1)
    assert s.value == "b"


def test_after_named_delays_lists_and_guarded_lists() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"wait": 2000},
        "states": {
            "a": {"after": {"SHORT": "b"}},
            "b": {"after": {"FROM_CONTEXT": "c"}},
            "c": {
                "after": [
                    {"delay": 100, "target": "never", "guard": "no"},
                    {"delay": 100, "target": "d"},
                    {"delay": 50, "actions": "tick"},
                ]
            },
            "d": {},
            "never": {},
        },
    }
    ticks: list[float] = []

    class Logic(MachineLogic):
        SHORT = 250

        def no(self, context: Any, event: Any) -> bool:
            return False

    s = run(
        config,
        logic=Logic(),
        delays={"FROM_CONTEXT": lambda ctx, ev: ctx["wait"]},
        actions={"tick": lambda ctx: ticks.append(1)},
    )
    s.advance(0.25)
    assert s.value == "b"
    s.advance(1.999)
    assert s.value == "b"
    s.advance(0.001)
    assert s.value == "c"
    s.advance(0.1)
    assert (s.value, ticks) == ("d", [1])


def test_root_level_after_survives_transitions_between_top_states() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "after": {"1000": ".timeout"},
        "states": {"a": {"on": {"T": "b"}}, "b": {"on": {"T": "a"}}, "timeout": {}},
    }
    s = run(config)
    s.advance(0.5)
    s.send("T")
    s.advance(0.5)
    assert s.value == "timeout"


# -- invoke ----------------------------------------------------------------------------------
def test_invoke_result_is_done_data_and_an_exception_goes_to_on_error() -> None:
    seen: list[Any] = []

    class Logic(MachineLogic):
        def fetch(self, interpreter: Any, context: dict[str, Any], event: XEvent) -> Any:
            seen.append(("fetch", interpreter, event.type, event.data))
            if context["fail"]:
                raise LookupError("missing")
            return {"user": "ada"}

        def store(self, interpreter: Any, context: Any, event: XEvent, action_def: Any) -> None:
            seen.append((event.type, event.data))

    config = {
        "id": "m",
        "initial": "idle",
        "context": {"fail": False},
        "states": {
            "idle": {"on": {"LOAD": "loading"}},
            "loading": {
                "invoke": {
                    "src": "fetch",
                    "id": "getUser",
                    "onDone": {"target": "loaded", "actions": "store"},
                    "onError": {"target": "failed", "actions": "store"},
                }
            },
            "loaded": {},
            "failed": {},
        },
    }
    s = run(config, logic=Logic())
    s.send("LOAD", uid=7)
    assert s.value == "loaded"
    assert seen == [
        ("fetch", s, "LOAD", {"uid": 7}),
        ("done.invoke.getUser", {"user": "ada"}),
    ]
    seen.clear()
    s = run(config, logic=Logic(), context={"fail": True})
    s.send("LOAD")
    assert s.value == "failed"
    assert seen[1][0] == "error.invoke.getUser"
    assert isinstance(seen[1][1], LookupError)


def test_invoke_id_defaults_to_the_state_id_and_takes_input() -> None:
    names: list[str] = []

    def service(interpreter: Any, context: Any, event: Any, input: Any) -> Any:
        return input["x"] * 2

    config = {
        "id": "m",
        "initial": "a",
        "context": {"x": 21},
        "states": {
            "a": {
                "invoke": {
                    "src": "double",
                    "input": {"x": lambda ctx, ev: ctx["x"]},
                    "onDone": {"target": "b", "actions": "seen"},
                }
            },
            "b": {},
        },
    }
    s = run(
        config,
        services={"double": service},
        actions={"seen": lambda ctx, ev: names.append((ev.type, ev.data))},
    )
    assert names == [("done.invoke.m.a", 42)]
    assert s.value == "b"


def test_a_nested_invoke_does_not_trigger_its_parents_on_done() -> None:
    # "done.invoke.m.p" is a dotted prefix of "done.invoke.m.p.c": the child's result must not
    # take the parent's onDone (the parent's own service fails, unhandled)
    def fail() -> None:
        raise RuntimeError("down")

    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {
                "invoke": {"src": "fail", "onDone": "wrong"},
                "initial": "c",
                "states": {"c": {"invoke": {"src": "fast"}}},
            },
            "wrong": {},
        },
    }
    s = run(config, services={"fail": fail, "fast": lambda: 1})
    assert s.active_state_ids == {"m.p.c"}


def test_invoke_a_child_chart_with_input() -> None:
    child = from_dict(
        {
            "id": "child",
            "initial": "run",
            "states": {
                "run": {"on": {"": {"target": "end"}}},
                "end": {"type": "final", "output": {"ok": True}},
            },
        }
    )
    seen: list[Any] = []
    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"invoke": {"src": "child", "onDone": {"target": "b", "actions": "keep"}}},
            "b": {},
        },
    }
    s = run(
        config, services={"child": child}, actions={"keep": lambda ctx, ev: seen.append(ev.data)}
    )
    assert (s.value, seen) == ("b", [{"ok": True}])


def test_async_services_run_in_the_sync_session_when_they_do_not_suspend() -> None:
    async def compute(context: dict[str, Any]) -> int:
        return 5

    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"invoke": {"src": "compute", "onDone": "b"}}, "b": {}},
    }
    assert run(config, services={"compute": compute}).value == "b"


# -- context ---------------------------------------------------------------------------------
def test_context_is_fresh_per_session_and_the_given_context_wins() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"items": [], "n": 1},
        "states": {"a": {"on": {"ADD": {"actions": "add"}}}},
    }
    chart = from_dict(config, actions={"add": lambda ctx, ev: ctx["items"].append(ev.data["x"])})
    s1 = XStateSession(chart).start()
    s2 = XStateSession(chart, context={"n": 5, "extra": True}).start()
    s1.send("ADD", x=1)
    assert s1.context == {"items": [1], "n": 1}
    assert s2.context == {"items": [], "n": 5, "extra": True}


# -- the root --------------------------------------------------------------------------------
def test_root_on_entry_and_exit_work_and_the_machine_still_finishes() -> None:
    rec = Recorder()
    config = {
        "id": "m",
        "initial": "a",
        "entry": "rec_start",
        "exit": "rec_stop",
        "on": {"RESET": "a", "FINISH": "done", "PING": {"actions": "rec_ping"}},
        "states": {
            "a": {"on": {"GO": "b", "PING": {"actions": "rec_own"}}},
            "b": {},
            "done": {"type": "final"},
        },
    }
    s = run(config, actions=rec.actions("start", "stop", "ping", "own"))
    assert rec.log == ["start"]
    s.send("PING")  # the state's own handler has priority
    s.send("GO")
    s.send("PING")
    s.send("RESET")
    assert s.active_state_ids == {"m.a"}
    s.send("FINISH")
    assert (s.active_state_ids, s.done, s.session.done) == ({"m.done"}, True, True)
    assert rec.log == ["start", "own", "ping", "stop"]
    s.send("RESET")
    assert s.active_state_ids == {"m.done"}


def test_a_parallel_root_keeps_its_ids_and_is_done_when_every_region_is() -> None:
    rec = Recorder()
    config = {
        "id": "m",
        "type": "parallel",
        "on": {"PING": {"actions": "rec_ping"}},
        "states": {
            "r1": {"initial": "a", "states": {"a": {"on": {"A": "f"}}, "f": {"type": "final"}}},
            "r2": {"initial": "a", "states": {"a": {"on": {"B": "f"}}, "f": {"type": "final"}}},
        },
    }
    s = run(config, actions=rec.actions("ping"))
    assert s.active_state_ids == {"m.r1.a", "m.r2.a"}
    assert s.value == {"r1": "a", "r2": "a"}
    assert s.matches("r1.a") and not s.matches("r1.f")
    s.send("PING")
    s.send("A")
    assert not s.done
    s.send("B")
    assert (s.done, s.status) == (True, "done")
    s.send("PING")  # a finished machine handles nothing
    assert rec.log == ["ping"]


def test_a_root_invoke_runs_for_the_machine() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "invoke": {"src": "boot", "onDone": ".ready"},
        "states": {"a": {}, "ready": {}},
    }
    s = run(config, services={"boot": lambda: "ok"})
    assert s.active_state_ids == {"m.ready"}


# -- logic resolution ------------------------------------------------------------------------
def test_logic_names_resolve_through_mappings_methods_and_snake_case() -> None:
    calls: list[str] = []

    class Logic(MachineLogic):
        def log_completion(
            self, interpreter: Any, context: Any, event: Any, action_def: Any
        ) -> None:
            calls.append("method")

        def override(self) -> None:
            calls.append("method override")

    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"entry": ["logCompletion", "override", "fromInit"]}},
    }
    logic = Logic(actions={"fromInit": lambda: calls.append("init mapping")})
    run(config, logic=logic, actions={"override": lambda: calls.append("kwarg")})
    assert calls == ["method", "kwarg", "init mapping"]
    calls.clear()
    run(
        config,
        logic={
            "logCompletion": lambda: calls.append("a"),
            "override": lambda: calls.append("b"),
            "fromInit": lambda: calls.append("c"),
        },
    )
    assert calls == ["a", "b", "c"]


def test_functions_are_adapted_by_their_signature() -> None:
    seen: list[tuple[Any, ...]] = []
    actions = {
        "a4": lambda i, c, e, d: seen.append(("a4", type(i).__name__, c["k"], e.type, d.type)),
        "a3": lambda c, e, d: seen.append(("a3", c["k"], e.type, d.params)),
        "a2": lambda c, e: seen.append(("a2", e.type)),
        "a1": lambda c: seen.append(("a1", c["k"])),
        "a0": lambda: seen.append(("a0",)),
        "av": lambda *args: seen.append(("av", len(args))),
    }
    guards = {
        "g3": lambda c, e, d: d.params["min"] <= e.get("n"),
        "g0": lambda: True,
    }
    services = {
        "s2": lambda c, e: seen.append(("s2", e.type)),
    }
    config = {
        "id": "m",
        "initial": "a",
        "context": {"k": "v"},
        "states": {
            "a": {
                "on": {
                    "GO": {
                        "target": "b",
                        "guard": {"type": "g3", "params": {"min": 2}},
                        "actions": ["a4", {"type": "a3", "x": 1}, "a2", "a1", "a0", "av"],
                    }
                }
            },
            "b": {"invoke": {"src": "s2"}, "always": {"target": "c", "guard": "g0"}},
            "c": {},
        },
    }
    s = run(config, actions=actions, guards=guards, services=services)
    s.send("GO", n=1)
    assert seen == []
    s.send("GO", n=2)
    assert seen == [
        ("a4", "XStateSession", "v", "GO", "a4"),
        ("a3", "v", "GO", {"x": 1}),
        ("a2", "GO"),
        ("a1", "v"),
        ("a0",),
        ("av", 4),
    ]
    assert s.value == "c"


def test_core_sessions_run_xstate_charts_too() -> None:
    seen: list[Any] = []
    chart = from_dict(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"X": {"target": "b", "actions": "keep"}}}, "b": {}},
        },
        actions={"keep": lambda i, c, e, d: seen.append((type(i).__name__, e.data))},
    )
    session = chart.start()
    session.send("X", n=1)
    assert session.active_leaves == ("m.b",)
    assert seen == [("Session", {"n": 1})]


# -- the session -----------------------------------------------------------------------------
def test_stop_ignores_later_events_and_timers() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"X": "b"}, "after": {"10": "c"}}, "b": {}, "c": {}},
    }
    s = run(config)
    s.stop()
    s.send("X")
    s.advance(1)
    assert (s.value, s.status, s.stopped) == ("a", "stopped", True)


def test_session_snapshot_restore_and_context_manager() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {"a": {"on": {"X": "b"}}, "b": {"after": {"1000": "c"}}, "c": {}},
    }
    chart = from_dict(config)
    with XStateSession(chart) as s:
        s.send("X")
        snap = s.snapshot()
    assert s.stopped
    restored = XStateSession.restore(chart, snap)
    assert restored.active_state_ids == {"m.b"}
    restored.advance(1)
    assert restored.value == "c"


def test_session_needs_start_and_a_chart() -> None:
    s = XStateSession(from_dict({"id": "m", "states": {"a": {}}}))
    with pytest.raises(StatefleetError, match="start"):
        s.send("X")
    assert "not started" in repr(s)
    assert s.start() is s.start()
    assert repr(s) == "<XStateSession 'm' {'m.a'}>"
    with pytest.raises(TypeError):
        XStateSession({"id": "m"})  # type: ignore[arg-type]


def test_can_reports_enabled_events() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"GO": "b", "NO": {"target": "b", "guard": "never"}}}, "b": {}},
    }
    s = run(config, guards={"never": lambda: False})
    assert s.can("GO") and not s.can("NO") and not s.can("OTHER")


def test_seed_names_are_aliases() -> None:
    assert xstate.SyncInterpreter is XStateSession
    machine = xstate.create_machine({"id": "c", "initial": "a", "states": {"a": {}}})
    assert xstate.SyncInterpreter(machine).start().active_state_ids == {"c.a"}


# -- JSON and load() -------------------------------------------------------------------------
CHECKOUT = {
    "id": "checkout",
    "initial": "cart",
    "states": {
        "cart": {"on": {"CHECKOUT": "payment"}},
        "payment": {"on": {"PAY": {"target": "confirmation", "actions": "charge"}}},
        "confirmation": {"type": "final"},
    },
}


def test_from_json_reads_text_bytes_and_paths(tmp_path: Path) -> None:
    charged: list[int] = []
    actions = {"charge": lambda: charged.append(1)}
    path = tmp_path / "checkout.json"
    path.write_text(json.dumps(CHECKOUT))
    for source in (json.dumps(CHECKOUT), json.dumps(CHECKOUT).encode(), path, str(path)):
        chart = from_json(source, actions=actions)
        s = XStateSession(chart).start()
        s.send("CHECKOUT")
        s.send("PAY")
        assert s.active_state_ids == {"checkout.confirmation"}
    assert charged == [1, 1, 1, 1]
    chart = statefleet.load(path, actions=actions)
    assert isinstance(chart, Chart) and chart.id == "checkout"


def test_json_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(ChartDefinitionError) as info:
        from_json('{"id": "m",\n  "states": {"a": {}}\n  "initial": "a"}')
    assert info.value.line == 3
    assert "line 3, column 3" in str(info.value)
    with pytest.raises(ChartDefinitionError, match="key 'id' twice"):
        from_json('{"id": "m", "id": "n"}')


def test_json_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"id": "m", "states": {"a": {"on": {"X": "nowhere"}}}}))
    with pytest.raises(ChartDefinitionError) as info:
        from_json(path)
    assert info.value.path == "states.a.on.X"
    assert str(path) in str(info.value)
    with pytest.raises(ChartDefinitionError, match="cannot read"):
        from_json(tmp_path / "missing.json")


def test_load_picks_the_reader_by_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import statefleet.formats._scxml as scxml_module
    import statefleet.formats._yaml as yaml_module

    calls: list[tuple[str, str, dict[str, Any]]] = []

    def fake(kind: str) -> Any:
        def reader(path: Any, **kw: Any) -> str:
            calls.append((kind, Path(path).name, kw))
            return kind

        return reader

    monkeypatch.setattr(yaml_module, "from_yaml", fake("yaml"))
    monkeypatch.setattr(scxml_module, "from_scxml", fake("scxml"))
    for name in ("a.yaml", "b.YML", "c.scxml", "d.xml"):
        (tmp_path / name).write_text("x")
        statefleet.load(tmp_path / name, guards={})
    assert calls == [
        ("yaml", "a.yaml", {"guards": {}}),
        ("yaml", "b.YML", {"guards": {}}),
        ("scxml", "c.scxml", {"guards": {}}),
        ("scxml", "d.xml", {"guards": {}}),
    ]
    (tmp_path / "e.txt").write_text("x")
    with pytest.raises(ChartDefinitionError, match=r"suffix '\.txt'"):
        statefleet.load(tmp_path / "e.txt")
    with pytest.raises(ChartDefinitionError, match="no such file"):
        statefleet.load(tmp_path / "missing.json")
    with pytest.raises(ChartDefinitionError, match="file path"):
        statefleet.load(42)  # type: ignore[arg-type]


# -- errors ----------------------------------------------------------------------------------
def test_unknown_names_are_errors_at_load_time_naming_the_path() -> None:
    config = {
        "id": "withActions",
        "initial": "processing",
        "states": {
            "processing": {
                "initial": "v",
                "states": {"v": {"on": {"VALID": "c"}}, "c": {"type": "final"}},
                "onDone": {"target": "finished", "actions": "logCompletion"},
            },
            "finished": {"type": "final"},
        },
    }
    err = definition_error(config, logic=MachineLogic())
    assert str(err) == "states.processing.onDone.actions[0]: unknown action 'logCompletion'"
    assert err.path == "states.processing.onDone.actions[0]"
    err = definition_error(config, actions={"logCompletions": print})
    assert "did you mean 'logCompletions'?" in str(err)


@pytest.mark.parametrize(
    ("config", "kw", "path", "message"),
    [
        ("nope", {}, "", "a machine config must be an object"),
        ({"id": "m", "states": {"a": {"onn": {}}}}, {}, "states.a.onn", "did you mean 'on'?"),
        ({"id": "m", "intial": "a", "states": {"a": {}}}, {}, "intial", "did you mean 'initial'?"),
        ({"id": "m", "states": {"a": {"on": ["X"]}}}, {}, "states.a.on", "got a list"),
        ({"id": "m", "states": []}, {}, "states", "expected an object of child states"),
        ({"id": "m", "states": {"a": 3}}, {}, "states.a", "expected a state object"),
        ({"id": 3, "states": {"a": {}}}, {}, "id", "non-empty string"),
        ({"id": "m", "states": {"a": {"on": {"X": 5}}}}, {}, "states.a.on.X", "got the number 5"),
        (
            {"id": "m", "states": {"a": {"on": {"X": "nope"}}}},
            {},
            "states.a.on.X",
            "unknown target 'nope'",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": "#nope"}}}},
            {},
            "states.a.on.X",
            "no state has id",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": ".b"}}}},
            {},
            "states.a.on.X",
            "has no child state 'b'",
        ),
        ({"id": "m", "states": {"a": {"on": {"X": "#m"}}}}, {}, "states.a.on.X", "machine root"),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"target": 1}}}}},
            {},
            "states.a.on.X.target",
            "string",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"tagret": "a"}}}}},
            {},
            "states.a.on.X.tagret",
            "'target'",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"A B": "a"}}}},
            {},
            'states.a.on["A B"]',
            "whitespace",
        ),
        (
            {"id": "m", "states": {"a": {"type": "paralel"}}},
            {},
            "states.a.type",
            "did you mean 'parallel'?",
        ),
        (
            {"id": "m", "states": {"f": {"type": "final", "on": {"X": "f"}}}},
            {},
            "states.f.on",
            "final",
        ),
        (
            {"id": "m", "states": {"f": {"type": "final", "states": {"x": {}}}}},
            {},
            "states.f.states",
            "final",
        ),
        (
            {"id": "m", "initial": "b", "states": {"a": {}}},
            {},
            "initial",
            "unknown initial state 'b'",
        ),
        (
            {"id": "m", "states": {"a": {"initial": "x"}}},
            {},
            "states.a.initial",
            "needs child states",
        ),
        (
            {"id": "m", "states": {"p": {"type": "parallel", "initial": "x", "states": {"x": {}}}}},
            {},
            "states.p.initial",
            "parallel",
        ),
        (
            {"id": "m", "states": {"a": {"onDone": "a"}}},
            {},
            "states.a.onDone",
            "needs child states",
        ),
        ({"id": "m", "onDone": "a", "states": {"a": {}}}, {}, "onDone", "root"),
        (
            {"id": "m", "states": {"a": {"context": {}}}},
            {},
            "states.a.context",
            "only the machine root",
        ),
        ({"id": "m", "context": [], "states": {"a": {}}}, {}, "context", "expected an object"),
        (
            {"id": "m", "states": {"a": {"history": "deep"}}},
            {},
            "states.a.history",
            "history state",
        ),
        (
            {
                "id": "m",
                "states": {"a": {"states": {"h": {"type": "history", "history": "x"}, "b": {}}}},
            },
            {},
            "states.a.states.h.history",
            "'shallow' or 'deep'",
        ),
        (
            {"id": "m", "states": {"a": {"states": {"h": {"type": "history", "on": {}}, "b": {}}}}},
            {},
            "states.a.states.h.on",
            "history",
        ),
        ({"id": "m", "states": {"a": {"output": {}}}}, {}, "states.a.output", "final state"),
        ({"id": "m", "states": {"a.b": {}}}, {}, 'states["a.b"]', "cannot contain '.'"),
        (
            {"id": "m", "states": {"a": {"id": "x"}, "b": {"id": "x"}}},
            {},
            "states.b.id",
            "duplicate state id 'x'",
        ),
        ({"id": "m", "states": {"a": {"id": "m"}}}, {}, "states.a.id", "duplicate state id 'm'"),
        ({"id": "m", "states": {"a": {"entry": 3}}}, {}, "states.a.entry[0]", "got the number 3"),
        (
            {"id": "m", "states": {"a": {"entry": {"x": 1}}}},
            {},
            "states.a.entry[0]",
            "needs a 'type'",
        ),
        (
            {"id": "m", "states": {"a": {"entry": "x"}}},
            {"actions": {"x": 3}},
            "states.a.entry[0]",
            "not a function",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"guard": "g", "cond": "g"}}}}},
            {"guards": {"g": bool}},
            "states.a.on.X",
            "either 'guard' or 'cond'",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"guard": "g"}}}}},
            {},
            "states.a.on.X.guard",
            "unknown guard 'g'",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"internal": 1}}}}},
            {},
            "states.a.on.X.internal",
            "true or false",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"internal": True, "reenter": False}}}}},
            {},
            "states.a.on.X",
            "either 'internal' or 'reenter'",
        ),
        (
            {"id": "m", "states": {"a": {"on": {"X": {"in": 3}}}}},
            {},
            "states.a.on.X.in",
            "names a state",
        ),
        (
            {"id": "m", "states": {"a": {"after": {"-5": "a"}}}},
            {},
            "states.a.after.-5",
            "milliseconds >= 0",
        ),
        (
            {"id": "m", "states": {"a": {"after": {"SOON": "a"}}}},
            {},
            "states.a.after.SOON",
            "unknown delay 'SOON'",
        ),
        (
            {"id": "m", "states": {"a": {"after": {"SOON": "a"}}}},
            {"delays": {"SOON": "x"}},
            "states.a.after.SOON",
            "milliseconds",
        ),
        (
            {"id": "m", "states": {"a": {"after": [{"target": "a"}]}}},
            {},
            "states.a.after[0]",
            "'delay'",
        ),
        ({"id": "m", "states": {"a": {"after": 5}}}, {}, "states.a.after", "expected an object"),
        (
            {"id": "m", "states": {"a": {"invoke": {"id": "x"}}}},
            {},
            "states.a.invoke",
            "needs a 'src'",
        ),
        (
            {"id": "m", "states": {"a": {"invoke": {"src": "svc"}}}},
            {},
            "states.a.invoke.src",
            "unknown service 'svc'",
        ),
        (
            {"id": "m", "states": {"a": {"invoke": [{"src": "s"}, 3]}}},
            {"services": {"s": bool}},
            "states.a.invoke[1]",
            "invoke object",
        ),
        (
            {"id": "m", "states": {"a": {"invoke": {"src": "s", "onDon": "a"}}}},
            {"services": {"s": bool}},
            "states.a.invoke.onDon",
            "did you mean 'onDone'?",
        ),
        ({"id": "m", "states": {"a": {}}}, {"actions": [1]}, "actions", "mapping"),
    ],
)
def test_bad_configs_name_the_path_and_what_was_expected(
    config: Any, kw: dict[str, Any], path: str, message: str
) -> None:
    err = definition_error(config, **kw)
    assert err.path == path, str(err)
    assert message in str(err)


def test_every_problem_is_collected() -> None:
    err = definition_error(
        {"id": "m", "states": {"a": {"on": {"X": "nope"}, "entry": "missing"}, "b": {"exitt": []}}}
    )
    assert [p for p, _ in err.errors] == ["states.b.exitt"]  # structure first
    err = definition_error({"id": "m", "states": {"a": {"on": {"X": "nope"}, "entry": "missing"}}})
    assert [p for p, _ in err.errors] == ["states.a.entry[0]", "states.a.on.X"]
    assert "(and 1 more problem(s))" in str(err)


def test_accepts_stately_export_keys() -> None:
    chart = from_dict(
        {
            "id": "m",
            "initial": "a",
            "predictableActionArguments": True,
            "preserveActionOrder": True,
            "tsTypes": {},
            "schema": {},
            "description": "exported",
            "states": {"a": {"description": "first", "tags": ["x"], "meta": {"k": 1}}},
        }
    )
    assert chart.nodes_by_id["m.a"].meta["tags"] == ["x"]


def test_more_reference_forms() -> None:
    child = from_dict({"id": "child", "states": {"only": {"type": "final"}}})
    config = {
        "id": "m",
        "version": 3,
        "initial": "a",
        "states": {
            "a": {
                "id": "home",
                "initial": "#home.a2",
                "states": {"a1": {}, "a2": None},
                "on": {
                    "DEEP": "#home.a1",
                    "RUN": {"target": "b", "in": "home"},
                    "RUN_PATH": {"target": "b", "in": "a.a1"},
                },
            },
            "b": {
                "initial": ".b1",
                "states": {
                    "b1": {"invoke": "svc", "on": {"done.invoke.m.b.b1": "b2"}},
                    "b2": {"invoke": {"src": child, "onDone": "b3"}},
                    "b3": {
                        "invoke": {
                            "src": lambda ctx, ev: ctx["n"],
                            "id": "inline",
                            "onDone": {"target": "b4", "guard": lambda ctx, ev: ev.data == 2},
                        }
                    },
                    "b4": {},
                },
            },
        },
    }
    chart = from_dict(config, services={"svc": lambda: "ok"})
    assert chart.version == "3"
    s = XStateSession(chart, context={"n": 2}).start()
    assert s.active_state_ids == {"m.a.a2"}
    s.send("RUN_PATH")  # m.a.a1 is not active
    assert s.active_state_ids == {"m.a.a2"}
    s.send("DEEP")
    s.send("RUN_PATH")
    assert s.active_state_ids == {"m.b.b4"}


def test_parallel_on_done_with_a_guard_checks_the_exact_event() -> None:
    config = {
        "id": "m",
        "initial": "p",
        "context": {"allow": True},
        "states": {
            "p": {
                "type": "parallel",
                "states": {
                    "r1": {"states": {"a": {"on": {"A": "f"}}, "f": {"type": "final"}}},
                    "r2": {"states": {"a": {"on": {"B": "f"}}, "f": {"type": "final"}}},
                },
                "onDone": {"target": "done", "guard": "allowed"},
            },
            "done": {},
        },
    }
    s = run(config, guards={"allowed": lambda ctx: ctx["allow"]})
    s.send("A")  # done.state.m.p.r1 must not count as done.state.m.p
    assert s.active_state_ids == {"m.p.r1.f", "m.p.r2.a"}
    s.send("B")
    assert s.active_state_ids == {"m.done"}


def test_non_reentering_self_transition_of_a_parallel_state_keeps_it() -> None:
    # SCXML exits a parallel source whatever the transition type: statefleet keeps the state
    # and its regions as they are (the transition's actions still run)
    rec = Recorder()
    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {
                "type": "parallel",
                "entry": "rec_in",
                "on": {"STAY": {"target": "p", "reenter": False, "actions": "rec_stay"}},
                "states": {
                    "r1": {"states": {"a": {"on": {"A": "b"}}, "b": {}}},
                    "r2": {"states": {"a": {}}},
                },
            }
        },
    }
    s = run(config, actions=rec.actions("in", "stay"))
    s.send("A")
    s.send("STAY")
    assert s.value == {"p": {"r1": "b", "r2": "a"}}
    assert rec.log == ["in", "stay"]


def test_delay_functions_take_context_event_or_nothing_and_may_return_timedelta() -> None:
    import datetime

    delays = {
        "ONE": lambda ctx: ctx["ms"],
        "NONE": lambda: 100,
        "TD": lambda ctx, ev: datetime.timedelta(seconds=1),
        "BAD": lambda: "soon",
    }
    config = {
        "id": "m",
        "initial": "a",
        "context": {"ms": 200},
        "states": {
            "a": {"after": {"ONE": "b"}},
            "b": {"after": {"NONE": "c"}},
            "c": {"after": {"TD": "d"}},
            "d": {},
            "bad": {"after": {"BAD": "d"}, "on": {"error.execution": "failed"}},
            "failed": {},
        },
    }
    s = run(config, delays=delays)
    for seconds, state in ((0.2, "b"), (0.1, "c"), (1.0, "d")):
        s.advance(seconds)
        assert s.value == state
    # a delay function's bad value is an execution error when the state is entered
    assert run({**config, "initial": "bad"}, delays=delays).value == "failed"


def test_xevent_reads_payload_items() -> None:
    from statefleet import EventData

    ev = XEvent(EventData("X", {"a": 1}))
    assert (ev.name, ev["a"], ev.get("b", 2)) == ("X", 1, 2)
    assert repr(ev) == "XEvent('X', data={'a': 1})"
    done = XEvent(EventData("done.invoke.x", 5))
    assert done.data == 5 and done.get("a") is None
    with pytest.raises(KeyError):
        done["a"]
    assert XEvent(None).type == "xstate.init"


def test_raise_from_an_action_runs_before_queued_events() -> None:
    order: list[str] = []

    def both(interpreter: XStateSession, context: Any, event: Any, action_def: Any) -> None:
        interpreter.send("EXTERNAL")
        interpreter.raise_("INTERNAL", n=1)

    config = {
        "id": "m",
        "initial": "a",
        "states": {
            "a": {"on": {"GO": {"target": "b", "actions": "both"}}},
            "b": {"on": {"INTERNAL": "c", "EXTERNAL": "x"}},
            "c": {"entry": "note", "on": {"EXTERNAL": "d"}},
            "d": {"entry": "note"},
            "x": {},
        },
    }
    s = run(config, actions={"both": both, "note": lambda c, e: order.append(e.type)})
    s.send("GO")
    assert (s.value, order) == ("d", ["INTERNAL", "EXTERNAL"])


def test_unknown_outside_events_match_by_dotted_prefix() -> None:
    # documented difference: names the chart never uses fall back to SCXML prefix matching
    s = run({"id": "m", "initial": "a", "states": {"a": {"on": {"A": "b"}}, "b": {}}})
    s.send("A.B")
    assert s.value == "b"


def test_root_level_after_stops_when_the_machine_is_done() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "after": {"1000": ".timeout"},
        "states": {"a": {"on": {"END": "end"}}, "timeout": {}, "end": {"type": "final"}},
    }
    s = run(config)
    s.send("END")
    s.advance(2)
    assert (s.value, s.done) == ("end", True)


def test_a_zero_delay_after_is_a_timer_that_fires_when_time_runs() -> None:
    s = run({"id": "m", "initial": "a", "states": {"a": {"after": {"0": "b"}}, "b": {}}})
    assert s.value == "a"  # XState's after(0) is a timeout: not inside start()
    s.advance(0)
    assert s.value == "b"


def test_a_restored_snapshot_with_an_xstate_timer_of_an_inactive_state_is_refused() -> None:
    """XState timers are the core's delayed transitions under XState's event names: a
    tampered snapshot carrying one whose state is not active is refused like a core one."""
    import msgspec

    from statefleet.core import Session, SnapshotError

    chart = from_dict(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"after": {"1000": "b"}, "on": {"GO": "b"}}, "b": {}},
        }
    )
    s = Session(chart)
    armed = s.snapshot()
    assert [d.sendid for d in armed.pending] == ["$after(1000)#m.a"]
    s.send("GO")
    tampered = msgspec.structs.replace(s.snapshot(), pending=armed.pending)
    with pytest.raises(SnapshotError, match=r"belongs to state 'm\.a', which is not active"):
        chart.validate(tampered)
    chart.validate(armed)  # the genuine one is fine
