"""The pystator dialect: the YAML reader and the pystator-style API on top of it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import statefleet
from statefleet import ChartDefinitionError, RealClock, SnapshotError, StatefleetError
from statefleet.formats.pystator import (
    ActionCall,
    ActionExecutor,
    ActionRegistry,
    EntitySession,
    ErrorCode,
    ExecutionMode,
    FSMError,
    GuardRegistry,
    GuardRejectedError,
    InvalidStateError,
    InvalidTransitionError,
    LoggingHook,
    MetricsCollector,
    StateMachine,
    TerminalStateError,
    TransitionHook,
    TransitionObserver,
    TransitionResult,
    UndefinedActionError,
    UndefinedGuardError,
    UndefinedTriggerError,
    flatten_context_for_guards,
    parse_duration,
)

ORDER = """\
meta:
  version: "1.0.0"
  machine_name: "order_management"
  strict_mode: true
states:
  - name: pending
    type: initial
    on_exit: [leave_pending]
  - name: open
    type: stable
    on_enter: [{name: notify, params: {channel: email}}]
  - name: filled
    type: terminal
transitions:
  - trigger: exchange_ack
    source: pending
    dest: open
    actions: [record_ack]
  - trigger: fill
    source: open
    dest: filled
    guards: [is_full_fill]
"""


def order_machine(**guards: Any) -> StateMachine:
    m = StateMachine.from_yaml(ORDER)
    m.bind_guards(GuardRegistry({"is_full_fill": lambda c: c["fill_qty"] >= c["order_qty"]}))
    return m


def config(states: list[Any], transitions: list[Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "meta": {"machine_name": "t", **meta},
        "states": states,
        "transitions": transitions or [],
    }


def definition_error(cfg: Any) -> ChartDefinitionError:
    with pytest.raises(ChartDefinitionError) as info:
        statefleet.from_yaml(cfg)
    return info.value


# -- reading -------------------------------------------------------------------------------
def test_from_yaml_text_path_and_dict_build_the_same_chart(tmp_path: Path) -> None:
    path = tmp_path / "order.yaml"
    path.write_text(ORDER)
    charts = [
        statefleet.from_yaml(ORDER),
        statefleet.from_yaml(path),
        statefleet.from_yaml(str(path)),
        statefleet.from_yaml(ORDER.encode()),
        statefleet.from_yaml(json.loads(json.dumps(__import__("yaml").safe_load(ORDER)))),
    ]
    for chart in charts:
        assert chart.id == "order_management"
        assert chart.version == "1.0.0"
        assert chart.state_ids == ("pending", "open", "filled")
        assert chart.events == ("exchange_ack", "fill")


def test_chart_runs_in_a_core_session_with_inline_actions() -> None:
    calls: list[Any] = []
    chart = statefleet.from_yaml(
        ORDER,
        guards={"is_full_fill": lambda c: c["fill_qty"] >= 10},
        actions={
            "leave_pending": lambda c: calls.append("leave"),
            "record_ack": lambda c: calls.append("ack"),
            "notify": lambda c: calls.append(dict(c["_action_params"])),
        },
    )
    session = chart.start(context={"fill_qty": 3})
    session.send("exchange_ack")
    assert calls == ["leave", "ack", {"channel": "email"}]
    assert "_action_params" not in session.context
    session.send("fill")
    assert session.active_leaves == ("open",)
    assert "fill_qty" not in session.context or session.context["fill_qty"] == 3
    session.send("fill", fill_qty=10)
    assert session.done
    assert session.context["fill_qty"] == 10  # the payload of a taken transition is merged


def test_unbound_names_in_a_core_session_become_error_execution() -> None:
    chart = statefleet.from_yaml(ORDER)
    step = chart.transition(chart.initial().snapshot, "exchange_ack")
    assert step.snapshot.configuration == ("open",)
    assert any("action 'leave_pending' is not registered" in str(e) for e in step.errors)
    session = chart.start()
    session.send("exchange_ack")
    session.send("fill", fill_qty=1, order_qty=1)
    assert session.active_leaves == ("open",)  # the unbound guard counts as false


def test_names_given_to_from_yaml_must_resolve() -> None:
    err = definition_error_with(ORDER, guards={"is_ful_fill": bool}, actions={})
    paths = [p for p, _ in err.errors]
    assert "transitions[1](fill).guards[0]" in paths
    assert any("did you mean 'is_ful_fill'" in m for _, m in err.errors)
    assert "states.pending.on_exit[0]" in paths


def definition_error_with(text: str, **kw: Any) -> ChartDefinitionError:
    with pytest.raises(ChartDefinitionError) as info:
        statefleet.from_yaml(text, **kw)
    return info.value


def test_on_and_off_are_state_names_not_booleans() -> None:
    m = StateMachine.from_yaml(
        "states:\n  - {name: off, type: initial}\n  - name: on\n"
        "transitions:\n  - {trigger: toggle, source: off, dest: on}\n"
        "  - {trigger: toggle, source: on, dest: off}\n"
    )
    assert m.states == ("off", "on")
    assert m.process("off", "toggle").target_state == "on"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("states:\n  - name: a\n    type: [initial\n", 4, "YAML syntax error"),
        ("states:\n  - name: a\n    name: b\n", 3, "duplicate key 'name'"),
        ("meta:\n  machine_name: x\n\tstates: []\n", 3, "YAML syntax error"),
    ],
)
def test_yaml_syntax_errors_carry_the_line(text: str, line: int, fragment: str) -> None:
    err = definition_error(text)
    assert err.line == line
    assert fragment in str(err)
    assert f"line {line}" in str(err)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("", "empty"),
        ("- a\n- b\n", "a pystator machine is a mapping"),
        ("states: 3\n", "states must be a list"),
        ("states: []\n", "non-empty list of states"),
        ("missing_file.yaml", "cannot read 'missing_file.yaml'"),
    ],
)
def test_malformed_documents(source: str, fragment: str) -> None:
    assert fragment in str(definition_error(source))


def test_from_yaml_rejects_other_types() -> None:
    with pytest.raises(ChartDefinitionError, match="expected YAML text"):
        statefleet.from_yaml(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="guards must be a mapping"):
        statefleet.from_yaml(ORDER, guards=[1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cfg", "path", "hint"),
    [
        (
            {"meta": {}, "states": [{"name": "a", "type": "initial"}], "transitons": []},
            "transitons",
            "did you mean 'transitions'",
        ),
        (
            {"meta": {"machine_nme": "x"}, "states": [{"name": "a", "type": "initial"}]},
            "meta.machine_nme",
            "did you mean 'machine_name'",
        ),
        (
            config([{"name": "a", "type": "initial", "on_entr": ["x"]}]),
            "states.a.on_entr",
            "did you mean 'on_enter'",
        ),
        (
            config(
                [{"name": "a", "type": "initial"}],
                [{"trigger": "go", "source": "a", "dest": "a", "gaurds": ["g"]}],
            ),
            "transitions[0](go).gaurds",
            "did you mean 'guards'",
        ),
        (
            config([{"name": "a", "type": "initial", "timeout": {"secs": 1, "destination": "a"}}]),
            "states.a.timeout.secs",
            "did you mean 'seconds'",
        ),
        (
            config(
                [{"name": "a", "type": "initial"}],
                [
                    {
                        "trigger": "go",
                        "source": "a",
                        "dest": "a",
                        "actions": [{"name": "x", "parms": {}}],
                    }
                ],
            ),
            "transitions[0](go).actions[0].parms",
            "did you mean 'params'",
        ),
        (
            config(
                [
                    {
                        "name": "p",
                        "type": "parallel",
                        "regions": [{"name": "r", "initial": "x", "state": ["x"]}],
                    }
                ]
            ),
            "states.p.regions[0].state",
            "did you mean 'states'",
        ),
    ],
)
def test_unknown_keys_name_the_element_and_suggest(cfg: Any, path: str, hint: str) -> None:
    err = definition_error(cfg)
    assert any(p == path and hint in m for p, m in err.errors), err.errors


@pytest.mark.parametrize(
    ("cfg", "path", "fragment"),
    [
        (config([{"name": "Pending", "type": "initial"}]), "states[0].name", "'Pending'"),
        (config([{"name": "a-b", "type": "initial"}]), "states[0].name", "lowercase a-z"),
        (config([{"name": 3, "type": "initial"}]), "states[0].name", "must be a string"),
        (
            config(
                [{"name": "a", "type": "initial"}], [{"trigger": "Go", "source": "a", "dest": "a"}]
            ),
            "transitions[0].trigger",
            "trigger 'Go' is invalid",
        ),
        (
            config(
                [{"name": "a", "type": "initial"}],
                [{"trigger": "go", "source": "a", "dest": "a", "guards": ["is-ok"]}],
            ),
            "transitions[0](go).guards[0]",
            "guard name 'is-ok'",
        ),
        (
            config([{"name": "a", "type": "initial", "on_enter": ["Send Mail"]}]),
            "states.a.on_enter[0]",
            "action name 'Send Mail'",
        ),
        (
            config(
                [
                    {
                        "name": "p",
                        "type": "parallel",
                        "regions": [{"name": "Region", "initial": "x", "states": ["x"]}],
                    }
                ]
            ),
            "states.p.regions[0].name",
            "region name 'Region'",
        ),
    ],
)
def test_naming_rules(cfg: Any, path: str, fragment: str) -> None:
    err = definition_error(cfg)
    assert any(p == path and fragment in m for p, m in err.errors), err.errors


@pytest.mark.parametrize(
    ("states", "transitions", "fragment"),
    [
        ([{"name": "a", "type": "initil"}], [], "did you mean 'initial'"),
        (
            [{"name": "a", "type": "initial"}, {"name": "b", "type": "initial"}],
            [],
            "exactly one initial state",
        ),
        ([{"name": "a"}], [], "no state has type 'initial'"),
        ([{"name": "a", "type": "initial"}, {"name": "a"}], [], "duplicate state name 'a'"),
        (
            [{"name": "a", "type": "initial", "parent": "b"}, {"name": "bb"}],
            [],
            "parent 'b' is not a state of this machine (did you mean 'bb'?)",
        ),
        (
            [
                {"name": "a", "type": "initial"},
                {"name": "t", "type": "terminal"},
                {"name": "c", "parent": "t"},
            ],
            [],
            "terminal state 't' cannot have child states",
        ),
        (
            [
                {"name": "a", "type": "initial", "parent": "b", "initial_child": "b"},
                {"name": "b", "parent": "a", "initial_child": "a"},
            ],
            [],
            "its own ancestor",
        ),
        (
            [
                {"name": "a", "type": "initial", "initial_child": "c"},
                {"name": "b", "parent": "a"},
                {"name": "c"},
            ],
            [],
            "initial_child 'c' is not a child of 'a'",
        ),
        (
            [{"name": "a", "type": "initial"}, {"name": "b", "parent": "a"}],
            [],
            "compound state 'a' needs an initial_child",
        ),
        ([{"name": "a", "type": "initial", "initial_child": "a"}], [], "has no child states"),
        ([{"name": "a", "type": "initial", "regions": []}], [], "only a parallel state has"),
        (
            [
                {
                    "name": "p",
                    "type": "parallel",
                    "initial_child": "x",
                    "regions": [{"name": "r", "initial": "x", "states": ["x"]}],
                }
            ],
            [],
            "a parallel state has no initial_child",
        ),
        (
            [
                {
                    "name": "p",
                    "type": "parallel",
                    "regions": [{"name": "r", "initial": "y", "states": ["x"]}],
                }
            ],
            [],
            "initial 'y' is not a state of region 'r'",
        ),
        (
            [{"name": "p", "type": "parallel", "regions": [{"name": "r", "states": ["x"]}]}],
            [],
            "region 'r' needs an initial state",
        ),
        (
            [
                {
                    "name": "p",
                    "type": "parallel",
                    "regions": [{"name": "p", "initial": "x", "states": ["x"]}],
                }
            ],
            [],
            "region 'p' has the name of a state",
        ),
        (
            [
                {
                    "name": "p",
                    "type": "parallel",
                    "regions": [
                        {"name": "r", "initial": "x", "states": ["x"]},
                        {"name": "r", "initial": "y", "states": ["y"]},
                    ],
                }
            ],
            [],
            "duplicate region name 'r'",
        ),
        (
            [
                {
                    "name": "p",
                    "type": "parallel",
                    "regions": [{"name": "r", "initial": "x", "states": ["x"]}],
                },
                {"name": "z", "parent": "p"},
            ],
            [],
            "list 'z' in one of them",
        ),
        ([{"name": "p", "type": "parallel"}], [], "parallel state 'p' needs regions"),
        (
            [{"name": "a", "type": "initial", "timeout": {"seconds": "soon", "destination": "a"}}],
            [],
            "invalid duration 'soon'",
        ),
        (
            [{"name": "a", "type": "initial", "timeout": {"seconds": 3}}],
            [],
            "a timeout needs 'seconds' and 'destination'",
        ),
        (
            [{"name": "a", "type": "initial", "timeout": {"seconds": 3, "destination": "zz"}}],
            [],
            "state 'zz' is not a state of this machine",
        ),
        (
            [
                {"name": "a", "type": "initial"},
                {"name": "t", "type": "terminal", "timeout": {"seconds": 1, "destination": "a"}},
            ],
            [],
            "terminal state 't' cannot have a timeout",
        ),
    ],
)
def test_state_definition_errors(states: Any, transitions: Any, fragment: str) -> None:
    err = definition_error(config(states, transitions))
    assert any(fragment in m for _, m in err.errors), err.errors


STATES = [
    {"name": "a", "type": "initial"},
    {"name": "b"},
    {"name": "t", "type": "terminal"},
    {
        "name": "p",
        "type": "parallel",
        "regions": [
            {"name": "r1", "initial": "x", "states": ["x"]},
            {"name": "r2", "initial": "y", "states": ["y"]},
        ],
    },
]


@pytest.mark.parametrize(
    ("transition", "path", "fragment"),
    [
        ({"source": "a", "dest": "b"}, "transitions[0]", "needs a trigger"),
        ({"trigger": "go", "dest": "b"}, "transitions[0](go)", "needs a source"),
        ({"trigger": "go", "source": "a"}, "transitions[0](go)", "needs a dest"),
        (
            {"trigger": "go", "source": "aa", "dest": "b"},
            "transitions[0](go).source",
            "source 'aa' is not a state of this machine (did you mean 'a'?)",
        ),
        (
            {"trigger": "go", "source": ["a", "bb"], "dest": "b"},
            "transitions[0](go).source[1]",
            "did you mean 'b'",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "c"},
            "transitions[0](go).dest",
            "dest 'c' is not a state",
        ),
        (
            {"trigger": "go", "source": "t", "dest": "a"},
            "transitions[0](go).source",
            "terminal state 't' cannot have outgoing transitions",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "H(b)"},
            "transitions[0](go).dest",
            "'b' has no child states",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "H(q)"},
            "transitions[0](go).dest",
            "history parent 'q'",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "internal": True},
            "transitions[0](go).dest",
            "an internal transition stays inside its source",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "internal": "yes"},
            "transitions[0](go).internal",
            "must be true or false",
        ),
        (
            {"source": "a", "dest": "b", "auto": True, "after": 5},
            "transitions[0]",
            "both 'auto' and 'after'",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "after": "5 weeks"},
            "transitions[0](go).after",
            "invalid duration",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "after": -1},
            "transitions[0](go).after",
            "cannot be negative",
        ),
        (
            {"trigger": "go", "source": "x", "dest": "b", "region": "r2"},
            "transitions[0](go).region",
            "source 'x' is not in region 'r2'",
        ),
        (
            {"trigger": "go", "source": "x", "dest": "b", "region": "r3"},
            "transitions[0](go).region",
            "region 'r3' is not a region of this machine",
        ),
        (
            {"trigger": "go", "source": "x", "dest": "b", "region": "r"},
            "transitions[0](go).region",
            "did you mean",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "guards": [{"expr": "a >"}]},
            "transitions[0](go).guards[0]",
            "invalid guard expression",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "guards": [{"expr": "x.__class__"}]},
            "transitions[0](go).guards[0]",
            "not allowed",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "guards": [{"expr": "__import__('os')"}]},
            "transitions[0](go).guards[0]",
            "only these functions may be called",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "guards": [{"expr": "lambda: 1"}]},
            "transitions[0](go).guards[0]",
            "not allowed",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "guards": ["expr: in_state('bb')"]},
            "transitions[0](go).guards[0]",
            "in_state('bb'): no such state (did you mean 'b'?)",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "guards": [{"exp": "1"}]},
            "transitions[0](go).guards[0].exp",
            "did you mean 'expr'",
        ),
        (
            {"trigger": "go", "source": "a", "dest": "b", "actions": [{"params": {}}]},
            "transitions[0](go).actions[0]",
            "needs a name",
        ),
        (
            {
                "trigger": "go",
                "source": "a",
                "dest": "b",
                "actions": [{"name": "n", "params": [1]}],
            },
            "transitions[0](go).actions[0].params",
            "must be a mapping",
        ),
    ],
)
def test_transition_definition_errors(transition: Any, path: str, fragment: str) -> None:
    err = definition_error(config(STATES, [transition]))
    assert any(p == path and fragment in m for p, m in err.errors), err.errors


def test_every_problem_is_reported_with_its_yaml_line() -> None:
    text = """\
states:
  - name: a
    type: initial
  - name: b
transitions:
  - trigger: go
    source: a
    dest: c
  - trigger: back
    source: b
    dest: a
    guards: [{expr: "x >"}]
"""
    err = definition_error(text)
    assert err.line == 8
    assert err.path == "transitions[0](go).dest"
    assert len(err.errors) == 2
    assert "(and 1 more problem(s))" in str(err)


def test_non_strict_mode_starts_in_the_first_state_and_defaults_children() -> None:
    m = StateMachine.from_dict(
        config(
            [{"name": "a"}, {"name": "b", "parent": "a"}, {"name": "c", "parent": "a"}],
            strict_mode=False,
        )
    )
    assert m.initial_state == "a"
    assert m.create().current_state == "b"


def test_validate_config_lists_problems() -> None:
    assert StateMachine.validate_config(ORDER) == []
    problems = StateMachine.validate_config(
        config([{"name": "a", "type": "initial"}, {"name": "B"}, {"name": "c", "typ": "x"}])
    )
    assert len(problems) == 2
    assert problems[0].startswith("states[1].name: ")


def test_from_dict_needs_a_mapping() -> None:
    with pytest.raises(ChartDefinitionError, match="mapping"):
        StateMachine.from_dict([])  # type: ignore[arg-type]


def test_state_machine_needs_a_pystator_chart() -> None:
    chart = statefleet.compile_chart(
        statefleet.ChartSpec(id="x", states=[statefleet.StateSpec(id="a")])
    )
    with pytest.raises(TypeError, match="not read from pystator YAML"):
        StateMachine(chart)
    with pytest.raises(TypeError, match="expected a Chart"):
        StateMachine("chart")  # type: ignore[arg-type]


def test_parse_duration() -> None:
    assert parse_duration(5) == 5.0
    assert parse_duration(5000, "ms") == 5.0
    assert parse_duration("5s", "ms") == 5.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("2m") == 120.0
    assert parse_duration("1.5h") == 5400.0
    for bad in (True, "soon", -1, None, "5 s s"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)


# -- process: the stateless path -----------------------------------------------------------
def test_process_is_pure_and_returns_the_actions_to_run() -> None:
    m = order_machine()
    ran: list[str] = []
    m.bind_actions({n: lambda c, n=n: ran.append(n) for n in ("leave_pending", "record_ack")})
    context = {"order_qty": 5}
    result = m.process("pending", "exchange_ack", context)
    assert result.success
    assert (result.source_state, result.target_state, result.trigger) == (
        "pending",
        "open",
        "exchange_ack",
    )
    assert result.actions_to_run == (
        ActionCall("leave_pending", None, "exit", "pending"),
        ActionCall("record_ack", None, "transition", "pending"),
        ActionCall("notify", {"channel": "email"}, "enter", "open"),
    )
    assert result.action_names == ["leave_pending", "record_ack", "notify"]
    assert ran == []  # decided, not run
    assert context == {"order_qty": 5}
    assert result.snapshot is not None
    assert result.snapshot.context == context
    assert result.snapshot.context is not context
    assert result.metadata["exited"] == ["pending"]
    assert result.metadata["entered"] == ["open"]
    assert result.error is None
    assert result.raise_for_error() is result


def test_process_guards_see_the_context() -> None:
    m = order_machine()
    ok = m.process("open", "fill", {"fill_qty": 100, "order_qty": 100})
    assert ok.success
    assert ok.target_state == "filled"
    no = m.process("open", "fill", {"fill_qty": 1, "order_qty": 100})
    assert not no.success
    assert no.target_state is None
    assert isinstance(no.error, GuardRejectedError)
    assert no.error.guard_name == "is_full_fill"
    assert no.error.current_state == "open"
    assert no.error.code is ErrorCode.GUARD_REJECTED
    assert no.metadata["reason"] == "guard_rejected"
    assert no.metadata["guard_name"] == "is_full_fill"
    assert no.actions_to_run == ()
    assert no.snapshot is None


@pytest.mark.parametrize(
    ("state", "trigger", "error", "reason"),
    [
        ("filled", "fill", TerminalStateError, "terminal_state"),
        ("pending", "fill", InvalidTransitionError, "invalid_transition"),
        ("pending", "fil", UndefinedTriggerError, "undefined_trigger"),
        ("pendin", "fill", InvalidStateError, "invalid_state"),
        ("pending", "", UndefinedTriggerError, "undefined_trigger"),
    ],
)
def test_process_errors_are_typed(state: str, trigger: str, error: type, reason: str) -> None:
    m = order_machine()
    result = m.process(state, trigger, {"fill_qty": 1, "order_qty": 1})
    assert not result.success
    assert isinstance(result.error, error)
    assert isinstance(result.error, FSMError)
    assert isinstance(result.error, StatefleetError)
    assert result.metadata["reason"] == reason
    with pytest.raises(error):
        m.process(state, trigger, {"fill_qty": 1, "order_qty": 1}, raise_on_error=True)
    with pytest.raises(error):
        result.raise_for_error()


def test_error_messages_suggest_and_list_triggers() -> None:
    m = order_machine()
    assert "did you mean 'fill'" in str(m.process("open", "fil").error)
    assert "did you mean 'pending'" in str(m.process("pendng", "fill").error)
    invalid = m.process("pending", "fill")
    assert invalid.metadata["available_triggers"] == ["exchange_ack"]


def test_a_guard_that_raises_rejects_with_its_exception() -> None:
    m = StateMachine.from_yaml(ORDER)
    m.bind_guards({"is_full_fill": lambda c: c["missing"]})
    result = m.process("open", "fill", {})
    assert isinstance(result.error, GuardRejectedError)
    assert isinstance(result.error.cause, KeyError)
    assert "raised KeyError" in str(result.error)


def test_an_unbound_guard_is_reported_as_such() -> None:
    m = StateMachine.from_yaml(ORDER)
    assert m.missing_bindings() == {
        "guards": ["is_full_fill"],
        "actions": ["leave_pending", "notify", "record_ack"],
    }
    result = m.process("open", "fill", {})
    assert isinstance(result.error, UndefinedGuardError)
    assert result.metadata["guard_name"] == "is_full_fill"


def test_guards_registered_after_binding_are_seen() -> None:
    m = StateMachine.from_yaml(ORDER)
    registry = GuardRegistry()
    m.bind_guards(registry)
    registry.register("is_full_fill", lambda c: True)
    assert m.process("open", "fill").success


def test_async_guards_are_refused() -> None:
    m = StateMachine.from_yaml(ORDER)

    async def is_full_fill(ctx: dict[str, Any]) -> bool:
        return True

    m.bind_guards({"is_full_fill": is_full_fill})
    result = m.process("open", "fill")
    assert isinstance(result.error, GuardRejectedError)
    assert "guards must be synchronous" in str(result.error.cause)


def test_first_matching_transition_wins_in_declaration_order() -> None:
    m = StateMachine.from_dict(
        config(
            [{"name": "a", "type": "initial"}, {"name": "b"}, {"name": "c"}, {"name": "d"}],
            [
                {"trigger": "go", "source": "a", "dest": "b", "guards": [{"expr": "n > 10"}]},
                {"trigger": "go", "source": "a", "dest": "c", "guards": [{"expr": "n > 5"}]},
                {"trigger": "go", "source": "a", "dest": "d"},
            ],
        )
    )
    assert m.process("a", "go", {"n": 20}).target_state == "b"
    assert m.process("a", "go", {"n": 7}).target_state == "c"
    assert m.process("a", "go", {"n": 1}).target_state == "d"


def test_all_guards_must_pass_and_the_first_failure_is_named() -> None:
    m = StateMachine.from_dict(
        config(
            [{"name": "a", "type": "initial"}, {"name": "b"}],
            [
                {
                    "trigger": "go",
                    "source": "a",
                    "dest": "b",
                    "guards": ["ready", {"expr": "n > 1"}, "expr: n < 5"],
                }
            ],
        )
    )
    m.guard("ready")(lambda c: c.get("ready", False))
    assert m.process("a", "go", {"n": 3, "ready": True}).success
    assert m.process("a", "go", {"n": 3}).metadata["guard_name"] == "ready"
    assert m.process("a", "go", {"n": 0, "ready": True}).metadata["guard_name"] == "expr: n > 1"
    assert m.process("a", "go", {"n": 9, "ready": True}).metadata["guard_name"] == "expr: n < 5"


def test_expression_guards_are_sandboxed_and_see_nested_data() -> None:
    m = StateMachine.from_dict(
        config(
            [{"name": "a", "type": "initial"}, {"name": "b"}],
            [
                {
                    "trigger": "go",
                    "source": "a",
                    "dest": "b",
                    "guards": [
                        {"expr": "order.qty >= 2 and len(items) in [1, 2] and max(items) < 9"}
                    ],
                }
            ],
        )
    )
    assert m.process("a", "go", {"order": {"qty": 2}, "items": [1, 3]}).success
    assert not m.process("a", "go", {"order": {"qty": 1}, "items": [1]}).success
    missing = m.process("a", "go", {})
    assert isinstance(missing.error, GuardRejectedError)
    assert missing.error.cause is not None  # a missing name raises, and rejects


def test_flatten_context_for_guards() -> None:
    ctx = {"order": {"qty": 5, "price": {"eur": 2}}, "x": 1}
    flat = flatten_context_for_guards(ctx)
    assert flat["order_qty"] == 5
    assert flat["order_price_eur"] == 2
    assert flat["x"] == 1
    assert flat["order"] is ctx["order"]
    assert flatten_context_for_guards(ctx, sep="__")["order__qty"] == 5


# -- hierarchy, history, internal, auto ----------------------------------------------------
NESTED = """\
meta: {machine_name: nested}
states:
  - {name: idle, type: initial}
  - {name: work, initial_child: phase1, on_enter: [enter_work], on_exit: [exit_work]}
  - {name: phase1, parent: work, initial_child: step_a}
  - {name: step_a, parent: phase1, on_exit: [exit_a]}
  - {name: step_b, parent: phase1}
  - {name: phase2, parent: work}
transitions:
  - {trigger: next, source: step_a, dest: step_b}
  - {trigger: advance, source: phase1, dest: phase2}
  - {trigger: stop, source: work, dest: idle}
  - {trigger: next, source: work, dest: idle}
  - {trigger: resume, source: idle, dest: "H(work)"}
  - {trigger: resume_deep, source: idle, dest: "H*(work)"}
  - {trigger: start, source: idle, dest: work}
  - {trigger: poke, source: work, dest: work, internal: true, actions: [poked]}
  - {trigger: kick, source: work, dest: work, actions: [kicked]}
  - {trigger: jump, source: work, dest: step_b, internal: true}
"""


def test_a_parent_transition_applies_to_every_descendant() -> None:
    m = StateMachine.from_yaml(NESTED)
    assert m.process("step_b", "stop").target_state == "idle"
    assert m.process("phase2", "stop").target_state == "idle"


def test_a_child_transition_wins_over_its_parent() -> None:
    m = StateMachine.from_yaml(NESTED)
    assert m.process("step_a", "next").target_state == "step_b"
    assert m.process("step_b", "next").target_state == "idle"


def test_a_compound_state_stands_for_its_initial_leaf() -> None:
    m = StateMachine.from_yaml(NESTED)
    result = m.process("work", "next")
    assert result.source_state == "step_a"
    assert result.target_state == "step_b"


def test_exit_and_enter_actions_follow_the_common_ancestor() -> None:
    m = StateMachine.from_yaml(NESTED)
    assert m.process("step_a", "advance").action_names == ["exit_a"]
    assert m.process("step_a", "stop").action_names == ["exit_a", "exit_work"]
    assert m.process("idle", "start").action_names == ["enter_work"]


def test_shallow_and_deep_history() -> None:
    m = StateMachine.from_yaml(NESTED)
    s = m.create()
    s.start()
    s.next()  # step_a -> step_b
    assert s.current_state == "step_b"
    s.stop()
    s.resume()
    assert s.current_state == "step_a"  # shallow: phase1, entered by default
    s.next()
    s.stop()
    s.resume_deep()
    assert s.current_state == "step_b"  # deep: the leaf itself
    snap = s.snapshot()
    assert snap["core"]["history"]["H*(work)"] == ["step_b"]


def test_history_without_memory_enters_the_default() -> None:
    m = StateMachine.from_yaml(NESTED)
    assert m.process("idle", "resume").target_state == "step_a"
    assert m.process("idle", "resume_deep").target_state == "step_a"


def test_internal_transitions_run_no_exit_or_enter_actions() -> None:
    m = StateMachine.from_yaml(NESTED)
    assert m.process("step_a", "poke").action_names == ["poked"]
    assert m.process("step_a", "poke").target_state == "step_a"
    external = m.process("step_a", "kick")
    assert external.action_names == ["exit_a", "exit_work", "kicked", "enter_work"]
    inside = m.process("step_a", "jump")
    assert inside.target_state == "step_b"
    assert inside.action_names == ["exit_a"]


def test_auto_transitions_are_eventless() -> None:
    m = StateMachine.from_dict(
        config(
            [
                {"name": "a", "type": "initial"},
                {"name": "b", "on_enter": ["in_b"]},
                {"name": "c"},
                {"name": "d", "type": "terminal"},
            ],
            [
                {"trigger": "go", "source": "a", "dest": "b"},
                {"source": "b", "dest": "c", "auto": True},
                {"source": "c", "dest": "d", "auto": True, "guards": [{"expr": "ok"}]},
            ],
        )
    )
    moved = m.process("a", "go", {"ok": False})
    assert moved.target_state == "c"
    assert moved.metadata["entered"] == ["b", "c"]
    assert m.process("a", "go", {"ok": True}).target_state == "d"
    # PHASED orders a multi-step result by phase
    assert moved.action_names == ["in_b"]


# -- parallel regions ----------------------------------------------------------------------
PARALLEL = """\
meta: {machine_name: fulfil}
states:
  - {name: new, type: initial}
  - name: working
    type: parallel
    on_exit: [leave_working]
    regions:
      - {name: payment, initial: unpaid, states: [unpaid, paid]}
      - {name: shipping, initial: packing, states: [packing, shipped]}
  - {name: paid, on_enter: [receipt]}
  - {name: boxed, parent: shipping}
  - {name: done, type: terminal}
transitions:
  - {trigger: start, source: new, dest: working}
  - {trigger: pay, source: unpaid, dest: paid, region: payment}
  - {trigger: ship, source: [packing, boxed], dest: shipped, region: shipping}
  - {trigger: box, source: packing, dest: boxed}
  - {trigger: tick, source: unpaid, dest: unpaid, actions: [tick_pay]}
  - {trigger: tick, source: packing, dest: packing, actions: [tick_ship]}
  - source: working
    dest: done
    auto: true
    guards: ["expr: in_state('paid') and in_state('shipped')"]
"""


def test_parallel_regions_through_process() -> None:
    m = StateMachine.from_yaml(PARALLEL)
    entered = m.process("new", "start")
    assert entered.target_state == "working"
    assert entered.active_states == ("unpaid", "packing")
    paid = m.process(entered, "pay")
    assert paid.active_states == ("paid", "packing")
    assert paid.action_names == ["receipt"]
    done = m.process(paid, "ship")
    assert done.target_state == "done"
    assert done.action_names == ["leave_working"]


def test_one_trigger_moves_every_region_that_takes_it() -> None:
    m = StateMachine.from_yaml(PARALLEL)
    result = m.process("working", "tick")
    assert result.action_names == ["tick_pay", "tick_ship"]
    assert result.metadata["transitions"] == ["unpaid: tick -> unpaid", "packing: tick -> packing"]


def test_region_states_can_be_given_one_per_region() -> None:
    m = StateMachine.from_yaml(PARALLEL)
    assert m.process(["paid", "boxed"], "ship").target_state == "done"
    assert m.process(["boxed"], "pay").active_states == ("paid", "boxed")
    with pytest.raises(InvalidStateError, match="cannot be active together"):
        m.process(["paid", "unpaid"], "ship", raise_on_error=True)
    with pytest.raises(InvalidStateError, match="cannot be active together"):
        m.process(["new", "done"], "start", raise_on_error=True)
    with pytest.raises(InvalidStateError, match="no state given"):
        m.process([], "start", raise_on_error=True)
    with pytest.raises(InvalidStateError, match="is not a state"):
        m.process("H(working)", "start", raise_on_error=True)
    with pytest.raises(InvalidStateError, match="a state is a name"):
        m.process(3, "start", raise_on_error=True)  # type: ignore[arg-type]


def test_parallel_regions_through_a_session() -> None:
    m = StateMachine.from_yaml(PARALLEL)
    s = m.create()
    s.start()
    assert s.current_state == "working"
    assert s.region_states == {"payment": "unpaid", "shipping": "packing"}
    assert s.is_working and s.is_payment and s.is_unpaid
    s.box()
    assert s.region_states == {"payment": "unpaid", "shipping": "boxed"}
    assert set(s.available_triggers()) == {"pay", "ship", "tick"}
    s.pay()
    s.ship()
    assert s.current_state == "done"
    assert s.is_final


# -- entity sessions -----------------------------------------------------------------------
def test_session_create_send_and_generated_helpers() -> None:
    m = order_machine()
    order = m.create(context={"order_id": "o-1", "order_qty": 100}, entity_id="o-1")
    assert order.entity_id == "o-1"
    assert order.current_state == "pending"
    assert order.is_pending and not order.is_open and not order.is_final
    result = order.exchange_ack()
    assert isinstance(result, TransitionResult)
    assert result.success
    assert order.current_state == "open"
    assert order.send("fill", fill_qty=100).success
    assert order.context["fill_qty"] == 100
    assert order.is_filled and order.is_final
    assert "is_pending" in dir(order)
    assert "fill" in dir(order)
    assert repr(order) == "<EntitySession 'o-1' of 'order_management': filled (final)>"


def test_a_rejected_send_changes_nothing() -> None:
    m = order_machine()
    order = m.create(context={"order_qty": 100})
    order.exchange_ack()
    before = order.snapshot()
    result = order.fill(fill_qty=5)
    assert not result.success
    assert isinstance(result.error, GuardRejectedError)
    assert order.current_state == "open"
    assert "fill_qty" not in order.context  # the payload is not merged on failure
    assert order.snapshot() == before
    assert order.last_result is result


def test_session_raise_on_error() -> None:
    order = order_machine().create(raise_on_error=True)
    with pytest.raises(InvalidTransitionError):
        order.fill()
    with pytest.raises(UndefinedTriggerError):
        order.send("nope")


def test_unknown_attributes_and_states() -> None:
    order = order_machine().create()
    with pytest.raises(AttributeError, match="did you mean 'is_pending'"):
        order.is_pendin
    with pytest.raises(AttributeError, match="did you mean 'fill'"):
        order.fil
    with pytest.raises(InvalidStateError):
        order.is_in("nowhere")
    assert order.is_in("pending")


def test_actions_run_after_the_state_is_committed() -> None:
    m = order_machine()
    seen: list[tuple[str, str, Any]] = []
    order: EntitySession | None = None

    def record(name: str) -> Any:
        def action(ctx: dict[str, Any]) -> None:
            assert order is not None
            seen.append((name, order.current_state, ctx.get("_action_params")))

        return action

    m.bind_actions({n: record(n) for n in ("leave_pending", "record_ack", "notify")})
    order = m.create(context={"order_qty": 1})
    order.exchange_ack()
    # every action sees the committed state, in exit -> transition -> enter order
    assert seen == [
        ("leave_pending", "open", None),
        ("record_ack", "open", None),
        ("notify", "open", {"channel": "email"}),
    ]
    assert "_action_params" not in order.context
    assert order.last_actions is not None and order.last_actions.success


def test_initial_enter_actions_run_on_create() -> None:
    m = StateMachine.from_dict(config([{"name": "a", "type": "initial", "on_enter": ["hello"]}]))
    calls: list[str] = []
    m.action("hello")(lambda c: calls.append(c["who"]))
    m.create(context={"who": "x"})
    assert calls == ["x"]
    m.create(context={"who": "y"}, run_actions=False)
    assert calls == ["x"]


def test_without_bound_actions_the_session_leaves_them_to_you() -> None:
    m = order_machine()
    order = m.create()
    result = order.exchange_ack()
    assert result.action_names == ["leave_pending", "record_ack", "notify"]
    assert order.last_actions is None


def test_a_failing_action_does_not_undo_the_transition(caplog: pytest.LogCaptureFixture) -> None:
    m = order_machine()
    ran: list[str] = []

    def boom(ctx: dict[str, Any]) -> None:
        raise RuntimeError("smtp down")

    m.bind_actions({"leave_pending": boom, "record_ack": lambda c: ran.append("ack")})
    order = m.create()
    with caplog.at_level(logging.ERROR, logger="statefleet.pystator"):
        order.exchange_ack()
    assert order.current_state == "open"
    assert ran == ["ack"]  # the others still run
    assert order.last_actions is not None
    failed = {call.name: err for call, err in order.last_actions.failed}
    assert failed["leave_pending"].code is ErrorCode.ACTION_FAILED
    assert isinstance(failed["leave_pending"].__cause__, RuntimeError)
    assert isinstance(failed["notify"], UndefinedActionError)
    assert "smtp down" in caplog.text


def test_snapshot_round_trip_through_json() -> None:
    m = order_machine()
    order = m.create(context={"order_id": "o-7", "order_qty": 1}, entity_id="o-7")
    order.exchange_ack()
    data = json.loads(json.dumps(order.snapshot()))
    assert data["state"] == "open"
    assert data["entity_id"] == "o-7"
    assert data["machine"] == "order_management"
    assert data["context"] == {"order_id": "o-7", "order_qty": 1}
    restored = EntitySession.from_snapshot(m, data)
    assert restored.entity_id == "o-7"
    assert restored.current_state == "open"
    restored.fill(fill_qty=1)
    assert restored.is_final
    assert order.current_state == "open"  # independent copies
    # a core snapshot works too, and so does process()
    assert m.process(data, "fill", {"fill_qty": 1, "order_qty": 1}).target_state == "filled"
    core = restored.last_result.snapshot if restored.last_result else None
    assert core is not None
    assert EntitySession.from_snapshot(m, core).is_final


def test_bad_snapshots_are_rejected() -> None:
    m = order_machine()
    other = StateMachine.from_yaml(NESTED)
    data = other.create().snapshot()
    with pytest.raises(InvalidStateError, match="snapshot is for chart 'nested'"):
        EntitySession.from_snapshot(m, data)
    with pytest.raises(InvalidStateError, match="'core' mapping"):
        EntitySession.from_snapshot(m, {"state": "open"})
    with pytest.raises(InvalidStateError, match="corrupt snapshot"):
        EntitySession.from_snapshot(m, {"core": {"configuration": 3}})
    with pytest.raises(TypeError):
        EntitySession.from_snapshot(m, "open")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EntitySession.from_snapshot("m", data)  # type: ignore[arg-type]


def test_a_context_json_cannot_hold_is_a_snapshot_error() -> None:
    order = order_machine().create(context={"conn": object()})
    with pytest.raises(SnapshotError, match="cannot be serialized"):
        order.snapshot()


def test_bad_contexts_are_type_errors() -> None:
    m = order_machine()
    with pytest.raises(TypeError, match="context must be a mapping"):
        m.process("open", "fill", [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="context must be a mapping"):
        m.create(context=[1])  # type: ignore[arg-type]


def test_async_actions_with_asend() -> None:
    m = order_machine()
    seen: list[str] = []

    async def record_ack(ctx: dict[str, Any]) -> None:
        await anyio.sleep(0)
        seen.append("ack")

    m.bind_actions(
        {
            "leave_pending": lambda c: seen.append("leave"),
            "record_ack": record_ack,
            "notify": lambda c: seen.append("notify"),
        }
    )
    order = m.create()

    async def main() -> TransitionResult:
        return await order.asend("exchange_ack")

    result = anyio.run(main)
    assert result.success
    assert seen == ["leave", "ack", "notify"]
    # a sync send cannot await it: reported as a failure, the transition stands
    order2 = m.create()
    order2.exchange_ack()
    assert order2.last_actions is not None
    assert [c.name for c, _ in order2.last_actions.failed] == ["record_ack"]


# -- delayed transitions -------------------------------------------------------------------
TIMERS = """\
meta: {machine_name: timers}
states:
  - name: pending
    type: initial
    timeout: {seconds: 30, destination: timed_out}
  - {name: open}
  - {name: closing}
  - {name: timed_out, type: terminal}
  - {name: expired, type: terminal}
  - {name: closed, type: terminal}
transitions:
  - {trigger: ack, source: pending, dest: open}
  - {trigger: expire, source: open, dest: expired, after: 5000, actions: [on_expire]}
  - {trigger: close, source: open, dest: closing}
  - {source: closing, dest: closed, after: "2s", guards: [{expr: "may_close"}]}
"""


def test_a_state_timeout_fires_on_the_virtual_clock() -> None:
    s = StateMachine.from_yaml(TIMERS).create()
    assert s.next_due == 30.0
    assert s.advance(29.5) == []
    assert s.current_state == "pending"
    fired = s.advance(0.5)
    assert [(r.trigger, r.source_state, r.target_state) for r in fired] == [
        ("timeout", "pending", "timed_out")
    ]
    assert s.is_final
    assert s.now == 30.0
    assert s.next_due is None


def test_leaving_the_state_cancels_its_timers() -> None:
    m = StateMachine.from_yaml(TIMERS)
    s = m.create()
    s.advance(10)
    result = s.ack()
    assert result.cancelled == ("$after.0.pending",)
    assert [(t.trigger, t.delay, t.due) for t in result.scheduled] == [("expire", 5.0, 15.0)]
    s.close()
    # expire was cancelled; closing's own timer fires, and its guard says no
    assert [(r.trigger, r.success) for r in s.advance(100)] == [("after", False)]
    assert s.current_state == "closing"


def test_after_fires_the_transition_with_its_actions() -> None:
    m = StateMachine.from_yaml(TIMERS)
    calls: list[str] = []
    m.action("on_expire")(lambda c: calls.append("expired"))
    s = m.create()
    s.ack()
    (result,) = s.advance(5)
    assert (result.trigger, result.target_state) == ("expire", "expired")
    assert result.metadata["event"] == "$after.0.open"
    assert calls == ["expired"]


def test_the_trigger_of_a_delayed_transition_also_works_directly() -> None:
    s = StateMachine.from_yaml(TIMERS).create()
    s.ack()
    s.expire()
    assert s.current_state == "expired"


def test_a_guarded_delayed_transition_consumes_its_timer() -> None:
    s = StateMachine.from_yaml(TIMERS).create()
    s.ack()
    s.close()
    (result,) = s.advance(2)
    assert not result.success
    assert isinstance(result.error, GuardRejectedError)
    assert s.next_due is None  # consumed, never fires again
    s.context["may_close"] = True  # too late: the timer is gone
    assert s.advance(10) == []
    assert s.current_state == "closing"
    s2 = StateMachine.from_yaml(TIMERS).create(context={"may_close": True})
    s2.ack()
    s2.close()
    assert s2.advance(2)[0].target_state == "closed"


def test_timers_survive_snapshots() -> None:
    m = StateMachine.from_yaml(TIMERS)
    s = m.create()
    s.advance(20)
    data = json.loads(json.dumps(s.snapshot()))
    restored = EntitySession.from_snapshot(m, data)
    assert restored.now == 20.0
    assert restored.next_due == 30.0
    assert restored.advance(10)[0].target_state == "timed_out"


def test_poll_with_a_real_clock() -> None:
    m = StateMachine.from_dict(
        config(
            [
                {"name": "a", "type": "initial", "timeout": {"seconds": 0, "destination": "b"}},
                {"name": "b"},
            ]
        )
    )
    s = m.create(clock=RealClock())
    assert [r.target_state for r in s.poll()] == ["b"]
    with pytest.raises(StatefleetError, match="needs a VirtualClock"):
        s.advance(1)
    with pytest.raises(ValueError, match="negative"):
        m.create().advance(-1)


def test_stateless_callers_get_the_timers_to_schedule() -> None:
    m = StateMachine.from_yaml(TIMERS)
    result = m.process("pending", "ack", now=100.0)
    (timer,) = result.scheduled
    assert (timer.event, timer.trigger, timer.state, timer.due) == (
        "$after.0.open",
        "expire",
        "open",
        105.0,
    )
    fired = m.process(result, timer.event, now=105.0)
    assert fired.target_state == "expired"
    assert fired.trigger == "expire"
    # too late: the entity moved on, the timer's transition no longer applies
    closed = m.process("closing", timer.event)
    assert isinstance(closed.error, InvalidTransitionError)


# -- registries and the executor -----------------------------------------------------------
def test_registries() -> None:
    reg = ActionRegistry()

    @reg.register("notify")
    def notify(ctx: dict[str, Any]) -> None:
        pass

    assert reg["notify"] is notify
    assert "notify" in reg and len(reg) == 1 and list(reg) == ["notify"]
    assert repr(reg) == "ActionRegistry(['notify'])"
    reg.unregister("notify")
    assert "notify" not in reg
    with pytest.raises(ValueError, match="action name 'Notify' is invalid"):
        reg.register("Notify", notify)
    with pytest.raises(TypeError, match="must be callable"):
        GuardRegistry().register("ok", 3)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="guard name"):
        GuardRegistry({"bad name": bool})


def executor_result() -> TransitionResult:
    m = StateMachine.from_dict(
        config(
            [
                {"name": "a", "type": "initial", "on_exit": ["exit_a"]},
                {"name": "b", "on_enter": ["enter_b"], "on_exit": ["exit_b"]},
                {"name": "c", "on_enter": [{"name": "enter_c", "params": {"n": 1}}]},
            ],
            [
                {"trigger": "go", "source": "a", "dest": "b", "actions": ["go_ab"]},
                {"source": "b", "dest": "c", "auto": True, "actions": ["auto_bc"]},
            ],
        )
    )
    return m.process("a", "go")


def test_executor_modes_order_the_actions() -> None:
    result = executor_result()
    assert result.action_names == ["exit_a", "go_ab", "enter_b", "exit_b", "auto_bc", "enter_c"]
    calls: list[str] = []
    registry = ActionRegistry({n: (lambda c, n=n: calls.append(n)) for n in result.action_names})
    ActionExecutor(registry).execute(result)
    assert calls == result.action_names
    calls.clear()
    out = ActionExecutor(registry, mode=ExecutionMode.PHASED).execute(result)
    assert calls == ["exit_a", "exit_b", "go_ab", "auto_bc", "enter_b", "enter_c"]
    assert [c.name for c in out.executed] == calls
    assert out.success


def test_executor_params_missing_actions_and_stop_on_error() -> None:
    result = executor_result()
    seen: list[Any] = []
    registry = ActionRegistry(
        {
            "exit_a": lambda c: seen.append(c.get("_action_params")),
            "enter_c": lambda c: seen.append(dict(c["_action_params"])),
        }
    )
    context = {"_action_params": "mine"}
    out = ActionExecutor(registry).execute(result, context)
    assert seen == ["mine", {"n": 1}]
    assert context == {"_action_params": "mine"}  # restored
    assert [c.name for c, _ in out.failed] == ["go_ab", "enter_b", "exit_b", "auto_bc"]
    assert all(isinstance(e, UndefinedActionError) for _, e in out.failed)
    stopped = ActionExecutor(registry, stop_on_error=True).execute(result)
    assert [c.name for c in stopped.executed] == ["exit_a"]
    assert len(stopped.failed) == 1


def test_executor_runs_nothing_for_a_failed_result() -> None:
    calls: list[str] = []
    reg = ActionRegistry({"x": lambda c: calls.append("x")})
    failed = order_machine().process("pending", "fill")
    assert ActionExecutor(reg).execute(failed).executed == []
    assert ActionExecutor(reg).execute([ActionCall("x")]).executed == [ActionCall("x")]
    assert calls == ["x"]
    with pytest.raises(TypeError, match="ActionCall"):
        ActionExecutor(reg).execute(["x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="context must be a mapping"):
        ActionExecutor(reg).execute([], context=3)  # type: ignore[arg-type]


def test_async_execute_parallel_runs_actions_concurrently() -> None:
    result = executor_result()
    registry = ActionRegistry()
    events = {n: anyio.Event() for n in result.action_names}
    order: list[str] = []

    def make(name: str) -> Any:
        async def action(ctx: dict[str, Any]) -> None:
            # each action waits for the one declared after it: only concurrency finishes
            names = result.action_names
            i = names.index(name)
            events[name].set()
            if i + 1 < len(names):
                await events[names[i + 1]].wait()
            order.append(name)

        return action

    for n in result.action_names:
        registry.register(n, make(n))

    async def main() -> Any:
        with anyio.fail_after(10):
            return await ActionExecutor(registry, mode=ExecutionMode.PARALLEL).async_execute(
                result, {}
            )

    # sequentially, the first action would wait forever for the second to start
    out = anyio.run(main)
    assert out.success
    assert sorted(order) == sorted(result.action_names)


def test_async_execute_sequential_and_phased() -> None:
    result = executor_result()
    calls: list[str] = []

    def make(name: str) -> Any:
        async def action(ctx: dict[str, Any]) -> None:
            await anyio.sleep(0)
            calls.append(name)

        return action

    registry = ActionRegistry({n: make(n) for n in result.action_names})
    registry.register("exit_b", lambda c: calls.append("exit_b"))  # sync ones work too
    out = anyio.run(ActionExecutor(registry).async_execute, result)
    assert out.success
    assert calls == result.action_names
    calls.clear()
    phased = ActionExecutor(registry, mode=ExecutionMode.PHASED)
    anyio.run(phased.async_execute, result)
    assert sorted(calls[:2]) == ["exit_a", "exit_b"]
    assert sorted(calls[2:4]) == ["auto_bc", "go_ab"]
    assert sorted(calls[4:]) == ["enter_b", "enter_c"]


# -- hooks and metrics ---------------------------------------------------------------------
def fake_clock(durations_ms: list[float]) -> Iterator[float]:
    """Clock readings: (start, end) pairs one second apart, each pair ``duration`` long."""
    for i, d in enumerate(durations_ms):
        yield float(i)
        yield i + d / 1000.0


def test_metrics_count_transitions_and_durations() -> None:
    readings = fake_clock([float(i) for i in range(1, 21)])
    metrics = MetricsCollector()
    observer = TransitionObserver([metrics], clock=lambda: next(readings))
    m = order_machine()
    m.add_observer(observer)
    for _ in range(15):
        m.process("pending", "exchange_ack")
    for _ in range(5):
        m.process("pending", "fill")
    summary = metrics.get_summary()
    assert summary["total_transitions"] == 20
    assert summary["successful"] == 15
    assert summary["failed"] == 5
    assert summary["success_rate"] == 0.75
    assert summary["by_trigger"] == {"exchange_ack": 15, "fill": 5}
    assert summary["by_transition"] == {"pending->open": 15}
    assert summary["errors_by_code"] == {"invalid_transition": 5}
    duration = summary["duration"]
    assert duration["avg_ms"] == pytest.approx(10.5)
    assert duration["p95_ms"] == pytest.approx(19.0)
    assert duration["min_ms"] == pytest.approx(1.0)
    assert duration["max_ms"] == pytest.approx(20.0)
    metrics.reset()
    assert metrics.get_summary()["total_transitions"] == 0
    assert metrics.get_summary()["success_rate"] == 0.0
    with pytest.raises(ValueError, match="window"):
        MetricsCollector(window=0)


def test_sessions_and_timers_are_observed() -> None:
    metrics = MetricsCollector()
    m = StateMachine.from_yaml(TIMERS)
    m.add_observer(TransitionObserver([metrics]))
    s = m.create()
    s.ack()
    s.advance(5)
    assert metrics.get_summary()["by_trigger"] == {"ack": 1, "expire": 1}
    m.remove_observer(m._observers[0])
    m.create().ack()
    assert metrics.get_summary()["total_transitions"] == 2


def test_logging_hook_writes_structured_records(caplog: pytest.LogCaptureFixture) -> None:
    m = order_machine()
    m.add_observer(TransitionObserver([LoggingHook()]))
    with caplog.at_level(logging.INFO, logger="statefleet.pystator.transitions"):
        m.process("pending", "exchange_ack")
        m.process("pending", "fill")
    ok, rejected = caplog.records
    assert ok.levelno == logging.INFO
    assert ok.fsm["target_state"] == "open"  # type: ignore[attr-defined]
    assert ok.fsm["actions"] == ["leave_pending", "record_ack", "notify"]  # type: ignore[attr-defined]
    assert rejected.levelno == logging.WARNING
    assert rejected.fsm["reason"] == "invalid_transition"  # type: ignore[attr-defined]


def test_a_failing_hook_never_changes_the_outcome(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(TransitionHook):
        def on_transition_start(self, event: Any) -> None:
            raise RuntimeError("start")

        def on_transition_complete(self, event: Any, result: Any, duration_ms: float) -> None:
            raise RuntimeError("complete")

    m = order_machine()
    observer = TransitionObserver().add_hook(Broken())
    m.add_observer(observer)
    with caplog.at_level(logging.ERROR, logger="statefleet.pystator"):
        assert m.process("pending", "exchange_ack").success
    assert "on_transition_start" in caplog.text and "on_transition_complete" in caplog.text
    with pytest.raises(TypeError):
        observer.add_hook(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        m.add_observer(object())  # type: ignore[arg-type]


def test_machine_description() -> None:
    m = order_machine()
    assert m.name == "order_management"
    assert m.version == "1.0.0"
    assert m.states == ("pending", "open", "filled")
    assert m.triggers == ("exchange_ack", "fill")
    assert m.initial_state == "pending"
    assert m.terminal_states == ("filled",)
    assert repr(m) == "<StateMachine 'order_management' v1.0.0: 3 states, 2 triggers>"
    assert m.available_triggers("open") == ["fill"]
    assert m.available_triggers("open", {"fill_qty": 1, "order_qty": 2}) == []
    assert m.available_triggers("filled") == []


def test_internal_transition_without_dest_and_lenient_regions() -> None:
    m = StateMachine.from_dict(
        config(
            [
                {
                    "name": "p",
                    "type": "parallel",
                    "on_enter": ["enter_p"],
                    "regions": [
                        {"name": "r1", "states": ["x", "x2"]},
                        {"name": "r2", "states": ["y"]},
                    ],
                },
            ],
            [{"trigger": "touch", "source": "p", "internal": True, "actions": ["bump"]}],
            strict_mode=False,
        )
    )
    s = m.create()
    assert s.region_states == {"r1": "x", "r2": "y"}
    result = s.touch()
    assert result.action_names == ["bump"]
    assert result.metadata["exited"] == [] and result.metadata["entered"] == []
