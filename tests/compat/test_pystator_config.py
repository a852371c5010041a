"""pystator's config keys beyond the chart, used the way pystator's configuration reference
shows them: ``groups``/``group``, ``meta.classification``, ``error_policy`` with the
strictness switches of ``meta``, declarative effects; and ``GuardRegistry(strict=)``,
``is_transient_error``. ``from pystator import ...`` becomes
``from statefleet.compat.pystator import ...``."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

from statefleet import ChartDefinitionError, StatefleetError
from statefleet.compat.pystator import (
    TRANSIENT_ERROR_TYPES,
    ActionExecutor,
    ActionRegistry,
    ErrorPolicy,
    GuardRegistry,
    GuardRejectedError,
    InvalidStateError,
    InvalidTransitionError,
    State,
    StateMachine,
    TerminalStateError,
    Transition,
    UndefinedGuardError,
    UndefinedTriggerError,
    is_transient_error,
)
from statefleet.compat.pystator.effects import EFFECT_TYPES, EffectError, apply_effect
from statefleet.formats import pystator as old_path

# The complete example of pystator's configuration reference (groups, effects), trimmed.
CYCLE = """\
meta:
  machine_name: optimization_cycle
  version: "1.1.0"
  strict_mode: true
  classification:
    entity_id_field: cycle_id
    source: cycle_feed
    default_state: data_collection

groups:
  data:
    description: "Data collection and optimization"
  validation:
    description: "Validation and approval gate"
  terminal: {}

error_policy:
  default_fallback: failed
  retry_attempts: 2

states:
  - name: data_collection
    type: initial
    group: data
    on_enter:
      - fetch_market_data
      - { set: { phase: "data_collection" } }
      - { timestamp: data_collection_started_at }
  - name: validation
    type: stable
    group: validation
    on_enter:
      - { set: { phase: "validation" } }
  - name: failed
    type: terminal
    group: terminal
    on_enter:
      - { set: { phase: "failed" } }
      - { append: { field: history, value: failed } }

transitions:
  - trigger: optimized
    source: data_collection
    dest: validation
  - trigger: validation_failed
    source: validation
    dest: data_collection
    guards:
      - expr: "retry_count < 3"
    actions:
      - { increment: retry_count }
  - trigger: validation_failed
    source: validation
    dest: failed
    actions:
      - { set: { failure_reason: "validation_exhausted" } }
      - { clear: phase }
"""


def cycle(**kw: Any) -> StateMachine:
    return StateMachine.from_yaml(CYCLE, **kw)


# -- groups --------------------------------------------------------------------------------
def test_groups_are_metadata_kept_on_the_machine() -> None:
    m = cycle()
    assert m.groups == {
        "data": "Data collection and optimization",
        "validation": "Validation and approval gate",
        "terminal": None,
    }
    assert m.group_of("validation") == "validation"
    assert m.states_in_group("terminal") == ["failed"]
    # the engine ignores them: the machine runs as without
    assert m.process("data_collection", "optimized", {}).target_state == "validation"


def test_a_group_needs_no_groups_section_but_a_declared_section_is_checked() -> None:
    m = StateMachine.from_dict(
        {
            "states": [{"name": "a", "type": "initial", "group": "intake"}, {"name": "b"}],
            "transitions": [{"trigger": "go", "source": "a", "dest": "b"}],
        }
    )
    assert m.group_of("a") == "intake" and m.group_of("b") is None and m.groups == {}
    bad = CYCLE.replace("    group: validation\n", "    group: validaton\n")
    with pytest.raises(ChartDefinitionError) as err:
        StateMachine.from_yaml(bad)
    assert err.value.path == "states[1](validation).group"
    assert "(did you mean 'validation'?)" in str(err.value)
    assert err.value.line == CYCLE.splitlines().index("    group: validation") + 1


def test_programmatic_states_take_a_group() -> None:
    m = StateMachine(
        {"a": State("a", type="initial", group="g"), "b": State("b", type="terminal")},
        [Transition("go", "a", "b")],
    )
    assert m.states_in_group("g") == ["a"]


def test_reader_errors_keep_their_lines_after_the_front_end_keys_are_taken_out() -> None:
    bad = CYCLE.replace("    dest: failed\n", "    dest: faild\n")
    with pytest.raises(ChartDefinitionError) as err:
        StateMachine.from_yaml(bad)
    assert "did you mean 'failed'" in str(err.value)
    assert err.value.line == bad.splitlines().index("    dest: faild") + 1


# -- meta.classification -------------------------------------------------------------------
def test_classification_settings_are_checked_and_kept() -> None:
    assert cycle().classification == {
        "entity_id_field": "cycle_id",
        "source": "cycle_feed",
        "default_state": "data_collection",
    }
    with pytest.raises(ChartDefinitionError, match="default_state 'nowhere' is not a state"):
        StateMachine.from_yaml(
            CYCLE.replace("default_state: data_collection", "default_state: nowhere")
        )
    with pytest.raises(ChartDefinitionError, match=r"unknown key 'sorce'.*did you mean 'source'"):
        StateMachine.from_yaml(CYCLE.replace("source: cycle_feed", "sorce: cycle_feed"))


# -- error_policy --------------------------------------------------------------------------
def test_error_policy_is_kept_as_pystator_keeps_it() -> None:
    policy = cycle().error_policy
    assert policy == ErrorPolicy(default_fallback="failed", retry_attempts=2, strict_mode=True)
    assert policy.should_fallback(InvalidTransitionError("x"))
    assert policy.reject_invalid_events_effective() and policy.strict_guard_registry_effective()
    # like pystator's stateless process(), the machine itself does not fall back
    r = cycle().process("data_collection", "validation_failed", {})
    assert not r.success and isinstance(r.error, InvalidTransitionError)


@pytest.mark.parametrize(
    ("policy", "message", "path"),
    [
        (
            "{default_fallback: falied}",
            "'falied' is not a state (did you mean 'failed'?)",
            "error_policy.default_fallback",
        ),
        (
            "{retry_attempts: -1}",
            "retry_attempts is a whole number >= 0, got -1",
            "error_policy.retry_attempts",
        ),
        (
            "{retry_attempts: true}",
            "retry_attempts is a whole number >= 0, got True",
            "error_policy.retry_attempts",
        ),
        (
            "{default_fallbak: failed}",
            "did you mean 'default_fallback'",
            "error_policy.default_fallbak",
        ),
        ("[failed]", "error_policy must be a mapping", "error_policy"),
    ],
)
def test_a_bad_error_policy_is_a_definition_error(policy: str, message: str, path: str) -> None:
    text = CYCLE.replace(
        "error_policy:\n  default_fallback: failed\n  retry_attempts: 2\n",
        f"error_policy: {policy}\n",
    )
    with pytest.raises(ChartDefinitionError) as err:
        StateMachine.from_yaml(text)
    assert message in str(err.value) and err.value.path == path
    assert StateMachine.validate_config(text)  # reported, not raised, by validate_config


def test_keys_pystator_documents_as_ignored_are_accepted() -> None:
    text = CYCLE.replace(
        "  retry_attempts: 2\n",
        "  retry_attempts: 2\n  strict_mode: false\n  on_invalid_trigger: ignore\n",
    )
    assert StateMachine.from_yaml(text).error_policy.strict_mode is True  # meta.strict_mode wins


def test_error_policy_in_the_programmatic_model() -> None:
    states = {"a": State("a", type="initial"), "err": State("err", type="error")}
    m = StateMachine(
        states, [Transition("go", "a", "err")], error_policy=ErrorPolicy(default_fallback="err")
    )
    assert m.error_policy.default_fallback == "err"
    loose = StateMachine(
        states, [Transition("go", "a", "err")], error_policy=ErrorPolicy(strict_mode=False)
    )
    assert loose.process("a", "jump", {}).success  # undefined trigger: a no-op
    with pytest.raises(ChartDefinitionError, match="'nope' is not a state"):
        StateMachine(states, [], error_policy={"default_fallback": "nope"})
    with pytest.raises(TypeError, match="ErrorPolicy or a mapping"):
        StateMachine(states, [], error_policy="err")  # type: ignore[arg-type]


# -- strict_mode and its two switches ------------------------------------------------------
LOOSE = {
    "meta": {"machine_name": "m", "version": "1"},
    "states": [{"name": "a", "type": "initial"}, {"name": "b"}, {"name": "c", "type": "terminal"}],
    "transitions": [
        {"trigger": "go", "source": "a", "dest": "b", "guards": ["missing"]},
        {"trigger": "end", "source": "b", "dest": "c"},
    ],
}


def loose(**meta: Any) -> StateMachine:
    cfg = copy.deepcopy(LOOSE)
    cfg["meta"].update(meta)
    return StateMachine.from_dict(cfg)


def test_strict_mode_false_makes_invalid_events_no_ops_and_unregistered_guards_pass() -> None:
    # pystator 0.0.47 gives exactly these results for the same machine
    m = loose(strict_mode=False)
    r = m.process("a", "go", {})
    assert (r.success, r.target_state) == (True, "b")  # unregistered guard passes
    for trigger in ("nope", "end"):  # undefined; no transition from 'a'
        r = m.process("a", trigger, {})
        assert (r.success, r.source_state, r.target_state, r.error) == (True, "a", "a", None)
        assert r.metadata == {"no_op": True, "reason": "no_matching_transition"}
        assert r.actions_to_run == ()
    r = m.process("c", "end", {})  # terminal states still refuse
    assert not r.success and isinstance(r.error, TerminalStateError)


def test_strict_mode_true_rejects_as_before() -> None:
    m = loose()
    assert isinstance(m.process("a", "go", {}).error, UndefinedGuardError)
    assert isinstance(m.process("a", "nope", {}).error, UndefinedTriggerError)
    assert isinstance(m.process("a", "end", {}).error, InvalidTransitionError)


def test_each_switch_overrides_strict_mode_for_its_own_part() -> None:
    events = loose(reject_invalid_events=False)
    assert events.process("a", "nope", {}).success
    assert isinstance(events.process("a", "go", {}).error, UndefinedGuardError)
    guards = loose(strict_guard_registry=False)
    assert guards.process("a", "go", {}).target_state == "b"
    assert isinstance(guards.process("a", "nope", {}).error, UndefinedTriggerError)
    both = loose(strict_mode=False, reject_invalid_events=True)
    assert not both.process("a", "nope", {}).success and both.process("a", "go", {}).success
    with pytest.raises(ChartDefinitionError, match="reject_invalid_events must be true or false"):
        loose(reject_invalid_events="no")


def test_a_no_op_in_a_session_keeps_the_state() -> None:
    s = loose(strict_mode=False).create()
    r = s.send("end")
    assert r.success and r.metadata["no_op"] and s.current_state == "a"


def test_binding_guards_takes_the_machines_strictness_as_pystator_does() -> None:
    registry = GuardRegistry(strict=False)
    loose().bind_guards(registry)
    assert registry.strict is True
    lenient = GuardRegistry()
    loose(strict_mode=False).bind_guards(lenient)
    assert lenient.strict is False


# -- GuardRegistry(strict=) ----------------------------------------------------------------
def test_guard_registry_strictness() -> None:
    strict = GuardRegistry()
    assert strict.strict is True and strict.get("missing") is None
    lenient = GuardRegistry(strict=False)
    assert lenient.get("missing")({}) is True  # what a machine evaluates: it passes
    with pytest.raises(UndefinedGuardError, match="'missing' is not registered"):
        lenient.evaluate("missing", {})  # asking for one guard by name: it must exist
    with pytest.raises(TypeError, match="strict must be True or False"):
        GuardRegistry(strict="yes")  # type: ignore[arg-type]


def test_registering_a_name_again_replaces_it_as_in_pystator() -> None:
    guards = GuardRegistry()
    guards.register("ok", lambda ctx: True)
    guards.register("ok", lambda ctx: False)
    assert guards.evaluate("ok", {}) is False
    actions = ActionRegistry()
    actions.register("note", lambda ctx: ctx.setdefault("n", []).append(1))
    actions.register("note", lambda ctx: ctx.setdefault("n", []).append(2))
    ctx: dict[str, Any] = {}
    ActionExecutor(actions).execute_specific(["note"], ctx)
    assert ctx["n"] == [2]


# -- effects -------------------------------------------------------------------------------
def test_process_returns_effects_as_actions_and_changes_nothing() -> None:
    r = cycle().process("validation", "validation_failed", {"retry_count": 1})
    assert r.target_state == "data_collection"
    assert r.action_names == [
        "_effect.increment",
        "fetch_market_data",
        "_effect.set",
        "_effect.timestamp",
    ]
    assert r.actions_to_run[0].params == {"field": "retry_count"}
    assert r.snapshot is not None and r.snapshot.context == {"retry_count": 1}


def test_the_executor_applies_effects_to_the_context() -> None:
    m = cycle()
    r = m.process("validation", "validation_failed", {"retry_count": 3})
    assert r.target_state == "failed"
    ctx: dict[str, Any] = {"retry_count": 3, "phase": "validation"}
    out = ActionExecutor(ActionRegistry()).execute(r, ctx)
    assert out.success and [c.name for c in out.executed] == [
        "_effect.set",
        "_effect.clear",
        "_effect.set",
        "_effect.append",
    ]
    assert ctx == {
        "retry_count": 3,
        "failure_reason": "validation_exhausted",
        "phase": "failed",
        "history": ["failed"],
    }
    assert ActionExecutor(ActionRegistry()).validate_actions_exist(r) == []


def test_sessions_run_effects_when_they_run_actions() -> None:
    # as in pystator 0.0.47, a session runs no action unless asked (execute_actions=True)...
    idle = cycle().create(context={"cycle_id": "c-0"})
    assert "phase" not in idle.context
    s = cycle().create(context={"cycle_id": "c-1", "retry_count": 0}, execute_actions=True)
    assert s.context["phase"] == "data_collection"
    assert s.context["data_collection_started_at"].endswith("+00:00")
    s.optimized()
    r = s.validation_failed()
    assert (s.current_state, s.context["retry_count"], s.context["phase"]) == (
        "data_collection",
        1,
        "data_collection",
    )
    assert r.metadata["action_results"][0] == {
        "name": "_effect.increment",
        "status": "ok",
        "success": True,
        "skipped": False,
    }
    assert json.loads(json.dumps(s.snapshot()))["context"]["retry_count"] == 1

    # ...or actions are bound (statefleet's sessions then run them after each commit)
    ran: list[str] = []
    m = cycle()
    m.bind_actions({"fetch_market_data": lambda ctx: ran.append(ctx.get("phase", "-"))})
    bound = m.create(context={"cycle_id": "c-2"})
    # the named action runs in its place among the effects: before the first 'set'
    assert ran == ["-"] and bound.context["phase"] == "data_collection"


def test_effects_with_actions_given_to_the_reader() -> None:
    registry = ActionRegistry()
    registry.register("fetch_market_data", lambda ctx: None)
    m = cycle(actions=registry)
    assert registry.has("_effect_set")  # the effects used are put next to the given actions
    s = m.create()  # actions are bound: they run, and the effects with them
    assert s.context["phase"] == "data_collection"
    registry.register("later", lambda ctx: None)  # still the same registry, by reference
    assert m.actions is registry


def test_async_sessions_run_effects() -> None:
    async def main() -> dict[str, Any]:
        s = cycle().create(context={"retry_count": 3}, execute_actions=True)
        s.optimized()
        await s.asend("validation_failed")
        return s.context

    ctx = asyncio.run(main())
    assert ctx["failure_reason"] == "validation_exhausted" and ctx["history"] == ["failed"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("{ increment: 5 }", "the 'increment' effect requires a field name, got int"),
        ("{ set: [a] }", "the 'set' effect requires a mapping, got list"),
        ("{ append: { field: h } }", "the 'append' effect requires {field: ..., value: ...}"),
        ("{ compute: { total: 'a + b' } }", "the 'compute' effect is not supported"),
        ("{ set: { a: 1 }, clear: b }", "an effect is one key"),
    ],
)
def test_a_bad_effect_is_a_definition_error_naming_the_action(action: str, message: str) -> None:
    text = CYCLE.replace("      - { increment: retry_count }", f"      - {action}")
    with pytest.raises(ChartDefinitionError) as err:
        StateMachine.from_yaml(text)
    assert message in str(err.value)
    assert err.value.path == "transitions[1](validation_failed).actions[0]"


def test_a_failing_effect_is_reported_like_a_failing_action() -> None:
    r = cycle().process("validation", "validation_failed", {"retry_count": 0})
    out = ActionExecutor(ActionRegistry()).execute(r, {"retry_count": "zero"})
    assert not out.success
    call, error = out.failed[0]
    assert call.name == "_effect.increment" and "expected a numeric value, got str" in str(error)


def test_apply_effect_as_pystator_effects_offers_it() -> None:
    ctx: dict[str, Any] = {"count": 5, "tags": []}
    apply_effect("set", {"status": "active"}, ctx)
    apply_effect("increment", {"field": "count"}, ctx)
    apply_effect("decrement", {"field": "missing"}, ctx)
    apply_effect("append", {"field": "tags", "value": "x"}, ctx)
    apply_effect("clear", {"field": "status"}, ctx)
    apply_effect("clear", {"field": "never_there"}, ctx)
    assert ctx == {"count": 6, "tags": ["x"], "missing": -1}
    assert {"set", "timestamp", "increment", "decrement", "append", "clear"} == EFFECT_TYPES
    for bad, params in (("explode", {}), ("increment", {"field": "tags"})):
        with pytest.raises(EffectError) as err:
            apply_effect(bad, params, ctx)
        assert isinstance(err.value, StatefleetError | ValueError | TypeError)
    with pytest.raises(TypeError, match="Cannot append to field 'count'"):
        apply_effect("append", {"field": "count", "value": 1}, ctx)
    with pytest.raises(ValueError, match="Unknown effect type"):
        apply_effect("compute", {"x": "1"}, ctx)


# -- is_transient_error --------------------------------------------------------------------
def test_is_transient_error_classifies_network_and_io_failures() -> None:
    for exc in (
        ConnectionResetError("reset"),
        TimeoutError("slow"),
        OSError("disk"),
        TimeoutError("t"),
        BrokenPipeError(),
    ):
        assert is_transient_error(exc), exc
    for exc in (
        ValueError("bad"),
        KeyError("k"),
        InvalidTransitionError("no"),
        GuardRejectedError("g", guard_name="x"),
    ):
        assert not is_transient_error(exc), exc
    assert {OSError, ConnectionError, TimeoutError} == TRANSIENT_ERROR_TYPES


def test_the_old_import_path_has_the_same_names() -> None:
    from statefleet.compat import pystator

    assert old_path.__all__ == pystator.__all__
    assert old_path.is_transient_error is is_transient_error and old_path.ErrorPolicy is ErrorPolicy


# -- check guards and refs -----------------------------------------------------------------
CHECKED = """\
states:
  - {name: open, type: initial}
  - {name: big}
  - {name: small}
  - {name: flagged}
transitions:
  - trigger: size
    source: open
    dest: big
    ref: SPEC-1
    guards: [{check: {field: qty, op: gte, value: 100}}]
  - trigger: size
    source: open
    dest: small
    refs: [SPEC-2, JIRA-7]
    guards: [{check: {field: qty, op: lt, value: 100}}, is_business_hours]
  - trigger: review
    source: open
    dest: flagged
    guards: [{check: {field: note, op: matches, value: "^FRAUD"}}]
"""


def test_check_guards_as_pystator_evaluates_them() -> None:
    m = StateMachine.from_yaml(CHECKED)
    m.bind_guards({"is_business_hours": lambda ctx: True})
    assert m.process("open", "size", {"qty": 150}).target_state == "big"
    assert m.process("open", "size", {"qty": 5}).target_state == "small"
    missing = m.process("open", "size", {})  # a missing field is None: ordering checks fail
    assert not missing.success and missing.error.guard_name == "_check_0"
    assert m.process("open", "review", {"note": "FRAUD suspected"}).target_state == "flagged"
    assert not m.process("open", "review", {"note": "fine"}).success
    assert m.missing_bindings() == {"guards": [], "actions": []}
    s = m.create(context={"qty": 1})
    assert s.size().target_state == "small"


def test_the_model_shows_checks_and_refs_as_written() -> None:
    m = StateMachine.from_yaml(CHECKED)
    big, small, _ = m.transitions
    assert big.refs == ("SPEC-1",) and small.refs == ("SPEC-2", "JIRA-7")
    (check,) = big.guards
    assert check.is_check and (check.check.field, check.check.op, check.check.value) == (
        "qty",
        "gte",
        100,
    )
    assert small.guards[1].name == "is_business_hours"


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        ("{check: {field: qty, op: greater, value: 1}}", "unknown check operator 'greater'"),
        ("{check: {field: qty, op: in, value: 3}}", "an 'in' check needs a list of values"),
        ("{check: {field: qty, op: gt}}", "an 'gt' check needs a value"),
        ("{check: {field: note, op: matches, value: '(unclosed'}}", "valid regular expression"),
        ("{check: {op: is_set}}", "a check's field is a context key"),
        ("{check: {field: n, op: matches, value: " + "a" * 2001 + "}}", "at most 2000 characters"),
        ("{check: {field: q, op: eq, value: 1, extra: 2}}", "unknown key(s) in a check: extra"),
        # patterns whose backtracking can explode on a crafted value (ReDoS)
        ("{check: {field: n, op: matches, value: '^(a+)+$'}}", "a repeat inside a repeated"),
        ("{check: {field: n, op: matches, value: '(a|ab)*c'}}", "branches can start alike"),
        ("{check: {field: n, op: matches, value: '(x)\\1'}}", "a backreference"),
    ],
)
def test_a_bad_check_is_a_definition_error_naming_the_guard(guard: str, message: str) -> None:
    text = CHECKED.replace("[{check: {field: qty, op: gte, value: 100}}]", f"[{guard}]")
    with pytest.raises(ChartDefinitionError) as err:
        StateMachine.from_yaml(text)
    assert message in str(err.value) and err.value.path == "transitions[0](size).guards[0]"


def test_bad_refs_are_definition_errors() -> None:
    with pytest.raises(ChartDefinitionError, match="ref is a string, got 7"):
        StateMachine.from_yaml(CHECKED.replace("ref: SPEC-1", "ref: 7"))
    with pytest.raises(ChartDefinitionError, match="refs is a list of strings"):
        StateMachine.from_yaml(CHECKED.replace("refs: [SPEC-2, JIRA-7]", "refs: SPEC-2"))


def test_model_objects_refuse_impossible_values_when_made() -> None:
    from statefleet.compat.pystator import Event, ModelError, Timeout

    for make, message in (
        (lambda: State(""), "cannot be empty"),
        (lambda: State("Bad-Name"), "lowercase letters"),
        (lambda: Transition("", "a", "b"), "trigger cannot be empty"),
        (lambda: Transition("go", (), "b"), "needs a source"),
        (lambda: Timeout(0, "late"), "must be positive"),
        (lambda: Timeout(5, ""), "destination cannot be empty"),
        (lambda: Event.from_dict({"trigger": "go", "event_id": "not-a-uuid"}), "invalid event"),
    ):
        with pytest.raises(ModelError, match=message) as err:
            make()
        assert isinstance(err.value, ChartDefinitionError | ValueError)


# -- workflow status, initial_state, a top-level name --------------------------------------
def test_workflow_status_and_starting_in_a_given_state() -> None:
    from statefleet.compat.pystator.workflow_status import compute_workflow_status

    m = cycle()
    assert compute_workflow_status(m, "failed") == "complete"
    assert compute_workflow_status(m, "nowhere") == "active"  # rows outliving a definition
    s = m.create(context={"retry_count": 3}, initial_state="validation", execute_actions=True)
    assert s.current_state == "validation" and "phase" not in s.context  # set, not entered
    assert s.workflow_status == "active"
    s.validation_failed()
    snap = s.snapshot()
    assert (snap["state"], snap["is_terminal"], snap["workflow_status"]) == (
        "failed",
        True,
        "complete",
    )
    with pytest.raises(InvalidStateError, match="did you mean 'failed'"):
        m.create(initial_state="faild")


def test_a_top_level_name_names_the_machine() -> None:
    cfg = {"name": "wf", "states": [{"name": "a", "type": "initial"}], "transitions": []}
    assert StateMachine.from_dict(cfg).name == "wf"
    cfg["meta"] = {"machine_name": "given"}
    assert StateMachine.from_dict(cfg).name == "given"
    with pytest.raises(ChartDefinitionError, match="name must be a non-empty string"):
        StateMachine.from_dict({**cfg, "name": 3})


# -- entity sessions as pystator's entity-session guide shows them -------------------------
LIFECYCLE = """\
meta: {machine_name: order_lifecycle}
states:
  - {name: pending, type: initial}
  - {name: open}
  - {name: confirmed}
  - {name: shipped}
  - {name: delivered, type: terminal}
transitions:
  - {trigger: open, source: pending, dest: open}
  - {trigger: confirm, source: open, dest: confirmed}
  - {trigger: ship, source: confirmed, dest: shipped}
  - {trigger: deliver, source: shipped, dest: delivered}
"""


def test_deferred_triggers_are_tried_again_after_the_next_transition() -> None:
    from statefleet.compat.pystator import EntitySession

    m = StateMachine.from_yaml(LIFECYCLE)
    order = EntitySession(m, context={}, defer_unhandled=True)
    assert not order.send("confirm").success  # no transition from 'pending': deferred
    order.send("ship", carrier="ups")  # deferred too
    assert order.deferred_events == [("confirm", {}), ("ship", {"carrier": "ups"})]
    order.send("open")  # then 'confirm' and 'ship' are replayed, in order
    assert order.current_state == "shipped" and order.deferred_events == []
    assert order.context["carrier"] == "ups"
    assert [r.trigger for r in order.history] == ["open", "confirm", "ship"]
    order.send("nope")
    order.clear_deferred()
    assert order.deferred_events == [] and order.allowed_triggers == ["deliver"]


def test_a_trigger_that_keeps_failing_is_replayed_a_bounded_number_of_times() -> None:
    m = StateMachine.from_yaml(LIFECYCLE)
    order = m.create(defer_unhandled=True)
    order.send("deliver")  # never possible before 'shipped'
    order.send("open")
    assert order.deferred_events == [("deliver", {})]  # re-queued, not looping forever


def test_history_is_bounded() -> None:
    from statefleet.compat.pystator import EntitySession

    m = StateMachine.from_dict(
        {
            "states": [{"name": "a", "type": "initial"}],
            "transitions": [{"trigger": "tick", "source": "a", "dest": "a"}],
        }
    )
    s = EntitySession(m, history_limit=3)
    for _ in range(10):
        s.tick()
    assert len(s.history) == 3


def test_recording_and_replaying_triggers() -> None:
    from statefleet.compat.pystator import RecordedEvent

    m = StateMachine.from_yaml(LIFECYCLE)
    order = m.create(context={"order_id": "o-1"})
    recorder = order.record()
    for trigger in ("open", "confirm"):
        recorder.send(trigger)
    recorder.send("ship", tracking="TRK-001")
    saved = json.loads(json.dumps([e.to_dict() for e in recorder.events]))
    assert [RecordedEvent.from_dict(e).trigger for e in saved] == ["open", "confirm", "ship"]
    fresh = recorder.replay(m)
    assert fresh.current_state == "shipped" and fresh.context["tracking"] == "TRK-001"
    into = m.create()
    assert recorder.replay(into) is into and into.current_state == "shipped"
    restored = m.create_from_snapshot(order.snapshot())
    assert restored.current_state == "shipped" and restored.context["order_id"] == "o-1"
    with pytest.raises(ChartDefinitionError, match="a recorded event has a trigger"):
        RecordedEvent.from_dict({"payload": {}})


# -- composite guards ----------------------------------------------------------------------
COMPOSED = """\
states:
  - {name: review, type: initial}
  - {name: approved}
transitions:
  - trigger: decide
    source: review
    dest: approved
    guards:
      - allOf:
          - anyOf:
              - {check: {field: amount, op: lt, value: 1000}}
              - "expr: vip"
          - not: is_blocked
"""


def test_composite_guards_in_the_yaml() -> None:
    m = StateMachine.from_yaml(COMPOSED)
    assert m.missing_bindings()["guards"] == ["is_blocked"]
    r = m.process("review", "decide", {"amount": 5})
    assert (
        isinstance(r.error, UndefinedGuardError) and r.error.details["guard_name"] == "is_blocked"
    )
    blocked: dict[str, bool] = {"on": False}
    m.bind_guards({"is_blocked": lambda ctx: blocked["on"]})
    assert m.missing_bindings()["guards"] == []
    assert m.process("review", "decide", {"amount": 5}).target_state == "approved"
    assert m.process("review", "decide", {"amount": 5000, "vip": True}).success
    assert not m.process("review", "decide", {"amount": 5000, "vip": False}).success
    blocked["on"] = True
    assert not m.process("review", "decide", {"amount": 5}).success
    (spec,) = m.transitions[0].guards
    assert spec.is_all_of and spec.names() == {"is_blocked"}


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        ("{allOf: []}", "allOf needs a non-empty list of guards"),
        ("{anyOf: [Bad-Name]}", "guard name 'Bad-Name' is invalid"),
        ("{not: 'expr: ((('}", "invalid guard expression"),
        ("{allOf: [a], anyOf: [b]}", "a declarative guard is one key"),
    ],
)
def test_a_bad_composite_is_a_definition_error(guard: str, message: str) -> None:
    text = COMPOSED.split("    guards:", maxsplit=1)[0] + f"    guards: [{guard}]\n"
    with pytest.raises(ChartDefinitionError) as err:
        StateMachine.from_yaml(text)
    assert message in str(err.value) and err.value.path == "transitions[0](decide).guards[0]"


def test_sends_from_several_threads_are_applied_one_at_a_time() -> None:
    import threading

    m = StateMachine.from_dict(
        {
            "states": [{"name": "a", "type": "initial"}],
            "transitions": [
                {"trigger": "tick", "source": "a", "dest": "a", "actions": [{"increment": "n"}]}
            ],
        }
    )
    s = m.create(context={"n": 0}, execute_actions=True)
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        for _ in range(250):
            s.tick()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert s.context["n"] == 1000  # no lost update between deciding and committing


def test_linear_matches_patterns_are_accepted_and_match() -> None:
    """The ReDoS guard leaves ordinary patterns alone: star height one, repeated alternation
    whose branches start with distinct characters."""
    for pattern, value, expected in (
        (r"^ORD-[0-9]{4,10}$", "ORD-12345", True),
        (r"^(get|put)+$", "getputget", True),
        (r"^[a-z]+@[a-z]+\.com$", "a@b.org", False),
    ):
        text = CHECKED.replace(
            '[{check: {field: note, op: matches, value: "^FRAUD"}}]',
            f"[{{check: {{field: note, op: matches, value: '{pattern}'}}}}]",
        )
        machine = StateMachine.from_yaml(text)
        assert machine.process("open", "review", {"note": value}).success is expected
