"""pystator's programmatic model and result helpers, used the way pystator's docs show:
``from pystator import ...`` becomes ``from statefleet.compat.pystator import ...``."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from statefleet import ChartDefinitionError
from statefleet.compat.pystator import (
    ActionExecutor,
    ActionRegistry,
    ActionSpec,
    Event,
    ExecutionMode,
    FSMError,
    GuardRegistry,
    GuardRejectedError,
    GuardSpec,
    Region,
    State,
    StateMachine,
    StateType,
    Timeout,
    Transition,
    TransitionResult,
    UndefinedActionError,
    UndefinedGuardError,
    all_of,
    any_of,
    equals,
    greater_than,
    in_list,
    negate,
)
from statefleet.formats import pystator as old_path

ORDER_YAML = """
meta: {machine_name: order_management, version: "1.0.0"}
states:
  - {name: pending, type: initial}
  - {name: open, type: stable, timeout: {seconds: 30, destination: expired}}
  - {name: filled, type: terminal}
  - {name: expired, type: terminal}
transitions:
  - trigger: exchange_ack
    source: pending
    dest: open
    actions: [{name: notify, params: {channel: ops}}]
  - trigger: fill
    source: open
    dest: filled
    guards: [{expr: "fill_qty >= order_qty"}]
"""


def order_in_code() -> StateMachine:
    return StateMachine(
        states={
            "pending": State("pending", type=StateType.INITIAL),
            "open": State("open", timeout=Timeout(30, "expired")),
            "filled": State("filled", type=StateType.TERMINAL),
            "expired": State("expired", type=StateType.TERMINAL),
        },
        transitions=[
            Transition(
                "exchange_ack",
                "pending",
                "open",
                actions=[ActionSpec("notify", {"channel": "ops"})],
            ),
            Transition("fill", "open", "filled", guards=[GuardSpec(expr="fill_qty >= order_qty")]),
        ],
        meta={"machine_name": "order_management", "version": "1.0.0"},
        events=[Event("fill", metadata={"description": "the exchange filled the order"})],
    )


def test_a_machine_built_in_code_behaves_like_the_same_yaml() -> None:
    coded, written = order_in_code(), StateMachine.from_yaml(ORDER_YAML)
    assert coded.name == written.name == "order_management"
    assert coded.states == written.states
    assert coded.triggers == written.triggers
    for m in (coded, written):
        r = m.process("pending", "exchange_ack", {})
        assert r.success and r.target_state == "open"
        assert [(a.name, a.params) for a in r.actions_to_run] == [("notify", {"channel": "ops"})]
        assert m.process("open", "fill", {"fill_qty": 5, "order_qty": 10}).success is False
        assert m.process("open", "fill", {"fill_qty": 10, "order_qty": 10}).target_state == "filled"
        assert [s.event for s in m.process("pending", "exchange_ack", {}).scheduled]


def test_named_guards_hierarchy_and_entity_sessions() -> None:
    machine = StateMachine(
        [
            State("idle", type="initial", on_exit=["log_exit"]),
            State("working", parent=None, initial_child="loading"),
            State("loading", parent="working"),
            State("ready", parent="working"),
            State("done", type=StateType.TERMINAL),
        ],
        [
            Transition(
                "start", "idle", "working", guards=["has_job", GuardSpec(name="not_paused")]
            ),
            Transition("loaded", "loading", "ready"),
            Transition("finish", ["loading", "ready"], "done"),
        ],
    )
    calls: list[str] = []
    machine.bind_guards(
        {"has_job": lambda ctx: bool(ctx.get("job")), "not_paused": lambda ctx: True}
    )

    @machine.action("log_exit")
    def log_exit(ctx: dict[str, Any]) -> None:
        calls.append("exit idle")

    assert isinstance(machine.process("idle", "start", {}).error, GuardRejectedError)
    entity = machine.create(context={"job": 1})
    entity.send("start")
    assert entity.current_state == "loading"
    entity.send("loaded")
    entity.send("finish")
    assert entity.current_state == "done"
    assert calls == ["exit idle"]


def test_parallel_regions_in_code() -> None:
    machine = StateMachine(
        {
            "setup": State("setup", type=StateType.INITIAL),
            "running": State(
                "running",
                type=StateType.PARALLEL,
                regions=[
                    Region("upload", "uploading", ["uploading", "uploaded"]),
                    Region("check", "checking", ["checking", "checked"]),
                ],
            ),
            "uploading": State("uploading"),
            "uploaded": State("uploaded"),
            "checking": State("checking"),
            "checked": State("checked"),
        },
        [
            Transition("go", "setup", "running"),
            Transition("upload_done", "uploading", "uploaded", region="upload"),
            Transition("check_done", "checking", "checked", region="check"),
        ],
    )
    entity = machine.create()
    entity.send("go")
    entity.send("upload_done")
    assert set(entity.active_states) == {"uploaded", "checking"}


def test_model_mistakes_are_definition_errors_with_paths() -> None:
    with pytest.raises(ChartDefinitionError) as wrong_key:
        StateMachine({"a": State("b", type="initial")}, [])
    assert wrong_key.value.path == "states.a"
    with pytest.raises(ChartDefinitionError) as not_a_transition:
        StateMachine([State("a", type="initial")], [{"trigger": "x"}])  # type: ignore[list-item]
    assert not_a_transition.value.path == "transitions[0]"
    with pytest.raises(ChartDefinitionError, match="must have one of name=, expr="):
        StateMachine(
            [State("a", type="initial"), State("b")],
            [Transition("go", "a", "b", guards=[GuardSpec()])],
        )
    with pytest.raises(ChartDefinitionError, match="not a state of this machine"):
        StateMachine([State("a", type="initial")], [Transition("go", "a", "nowhere")])
    with pytest.raises(ChartDefinitionError, match="unknown key 'fallback_state' in error_policy"):
        StateMachine([State("a", type="initial")], [], error_policy={"fallback_state": "a"})
    with pytest.raises(TypeError, match="model classes"):
        StateMachine([State("a", type="initial")])


def test_success_and_failure_results() -> None:
    ok = TransitionResult.success_result("pending", "open", "exchange_ack", reason="ack")
    assert ok.success and ok.target_state == "open" and ok.metadata == {"reason": "ack"}
    assert ok.raise_for_error() is ok
    err = GuardRejectedError("no", guard_name="has_job", current_state="idle", trigger="start")
    bad = TransitionResult.failure_result("idle", "start", err)
    assert not bad.success and bad.metadata["reason"] == "guard_rejected"
    with pytest.raises(FSMError):
        bad.raise_for_error()


def test_the_old_import_path_has_the_model_too() -> None:
    assert old_path.State is State and old_path.StateMachine is StateMachine


def test_action_executor_options_and_helpers(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []
    registry = ActionRegistry()

    @registry.decorator()
    def notify(ctx: dict[str, Any]) -> None:
        ran.append("notify")

    @registry.decorator("audit")
    def write_audit(ctx: dict[str, Any]) -> None:
        ran.append("audit")

    assert registry.has("notify") and registry.has("audit") and not registry.has("write_audit")
    machine = order_in_code()
    result = machine.process("pending", "exchange_ack", {})
    executor = ActionExecutor(registry, default_mode=ExecutionMode.PHASED, log_execution=True)
    assert executor.default_mode is ExecutionMode.PHASED
    assert executor.validate_actions_exist(result) == []
    assert executor.validate_actions_exist(["notify", "page_oncall"]) == ["page_oncall"]
    with caplog.at_level(logging.INFO, logger="statefleet.pystator"):
        out = executor.execute(result, {})
    assert [c.name for c in out.executed] == ["notify"] and "running action 'notify'" in caplog.text
    out = executor.execute_specific(["audit", "page_oncall", "notify"], {})
    assert ran == ["notify", "audit", "notify"]
    assert [c.name for c, _ in out.failed] == ["page_oncall"]
    strict = ActionExecutor(registry, strict=True, log_execution=False)
    with pytest.raises(UndefinedActionError, match="page_oncall"):
        strict.execute_specific(["page_oncall"])


def test_guard_registry_evaluate_and_decorator() -> None:
    guards = GuardRegistry()

    @guards.decorator()
    def is_big(ctx: dict[str, Any]) -> bool:
        return ctx["qty"] > 10

    assert guards.evaluate("is_big", {"qty": 11}) is True
    assert guards.evaluate("is_big", {"qty": 1}) is False
    with pytest.raises(UndefinedGuardError):
        guards.evaluate("is_small", {})


def test_builtin_guard_factories_gate_transitions() -> None:
    machine = StateMachine(
        [State("draft", type=StateType.INITIAL), State("approved"), State("rejected")],
        [
            Transition("review", "draft", "approved", guards=["auto_approve"]),
            Transition("review", "draft", "rejected"),
        ],
    )
    machine.bind_guards(
        {
            "auto_approve": all_of(
                equals("kind", "expense"),
                negate(greater_than("amount", 100)),
                any_of(in_list("team", ["ops", "eng"]), equals("vip", True)),
            )
        }
    )
    small = {"kind": "expense", "amount": 50, "team": "ops"}
    assert machine.process("draft", "review", small).target_state == "approved"
    assert machine.process("draft", "review", {**small, "amount": 500}).target_state == "rejected"
    assert machine.process("draft", "review", {**small, "team": "sales"}).target_state == "rejected"
    sales_vip = {**small, "team": "sales", "vip": True}
    assert machine.process("draft", "review", sales_vip).target_state == "approved"
    # a missing key or an incomparable value makes a comparison false, never an error
    assert machine.process("draft", "review", {"kind": "expense"}).target_state == "rejected"
    assert greater_than("amount", 1)({"amount": "lots"}) is False
    with pytest.raises(ValueError, match="at least one guard"):
        all_of()
    with pytest.raises(TypeError, match="callables"):
        any_of("auto_approve")  # type: ignore[arg-type]
