"""An event's specialised step gives exactly what the full macrostep gives.

The engine runs an event whose candidates in the configuration are all targetless
transitions (guarded or not) by a specialised step (issue 16: ``Interpreter.actions_for`` /
``run_actions``, also taken by ``macrostep`` itself): the guards in document order, then
the first enabled transition's content. Random charts with guarded targetless transitions
in nested and parallel states, beside moving and eventless transitions, guards and actions
that fail, read the event or raise and send events, fed random events (with and without
data, some with a send id), must give with the specialised step what they give with it
disabled: the same configuration, datamodel, version, handled flag, effects, errors,
unhandled error events, and, through a :class:`~statefleet.Session` with a listener, the
same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statefleet.core import (
    ChartSpec,
    EventData,
    InfiniteLoopError,
    OnOwner,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.core._algorithm import Interpreter
from tests._random_charts import Boom, charts, even, fail, inc, inc_raise

EVENTS = ("a", "b", "c.x")


def _inc_send(ctx: Any) -> None:
    ctx.context["n"] += 1
    ctx.send("out", {"n": ctx.context["n"]}, target="#_parent")


def _note_event(ctx: Any) -> None:
    ev = ctx.event
    ctx.context["seen"].append((ev.name, ev.data))


def _odd(ctx: Any) -> bool:
    return bool(ctx.context["n"] % 2 == 1)


def _has_data(ctx: Any) -> bool:
    return ctx.event is not None and ctx.event.data is not None


def _guard_fails(ctx: Any) -> bool:
    if ctx.context["n"] % 3 == 1:
        raise Boom(f"guard at {ctx.context['n']}")
    return True


def _in_s2(ctx: Any) -> bool:
    return ctx.in_state("s2")


class Owner:
    """A chart's owner whose methods are a guard and actions (``OnOwner`` callbacks, as the
    class DSL's)."""

    def __init__(self) -> None:
        self.calls = 0
        self.bumps = 0

    def below(self) -> bool:
        self.calls += 1
        return self.calls % 4 != 0

    def bump(self) -> int | None:
        # fails every fifth time, returns a value (ignored) every other time
        self.bumps += 1
        if self.bumps % 5 == 0:
            raise Boom(f"owner action at {self.bumps}")
        return self.bumps if self.bumps % 2 else None

    def state(self) -> tuple[int, int]:
        return (self.calls, self.bumps)


GUARDS = (None, None, even, _odd, _has_data, _guard_fails, OnOwner(Owner.below), _in_s2)
ACTIONS = (
    (),
    (inc,),
    (inc,),
    (inc_raise,),
    (_inc_send,),
    (fail,),
    (_note_event, inc),
    (OnOwner(Owner.bump),),
    (OnOwner(Owner.bump), inc),
)
# "c" as well as "c.x": a descriptor matching by prefix
CHARTS = charts(events=(*EVENTS, "c"), guards=GUARDS, blocks=ACTIONS, parallel=True)


@st.composite
def event_lists(draw: st.DrawFn) -> list[EventData]:
    out = []
    for _ in range(draw(st.integers(1, 40))):
        name = draw(st.sampled_from(EVENTS))
        kind = draw(st.integers(0, 5))
        if kind == 0:
            out.append(EventData(name, {"k": draw(st.integers(0, 3))}))
        elif kind == 1:
            out.append(EventData(name, sendid="s1"))
        else:
            out.append(EventData(name))
    return out


@contextmanager
def specialised_steps_disabled() -> Iterator[None]:
    """Every event plan made meanwhile has no specialised step: the full macrostep runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Interpreter, "_fast_step", lambda self, candidates: None)
        yield


def _error(e: BaseException) -> tuple[str, str]:
    return (type(e).__name__, str(e))


def _event(ev: EventData) -> tuple[Any, ...]:
    return (ev.name, ev.data, ev.type, ev.sendid, None if ev.error is None else _error(ev.error))


def _run_engine(spec: ChartSpec, events: list[EventData]) -> list[Any]:
    """Drive the engine itself, as the actor runtime does, recording each step's outcome."""
    chart = compile_chart(spec)
    m = chart.engine()
    m.session_id = "one"
    m.owner = Owner()
    m.track_unhandled = True
    m.start({"n": 0, "errors": 0, "seen": []})
    trace: list[Any] = []
    for ev in events:
        if not m.running:
            break
        try:
            m.macrostep(ev)
        except InfiniteLoopError as exc:
            # raised events feeding each other (parallel regions each raising one): the
            # same in both modes, at the same event
            trace.append(("loop", str(exc), m.cfg.ids, repr(m.context)))
            break
        trace.append(
            (
                m.cfg.ids,
                repr(m.context),
                m.version,
                m.handled,
                list(m.effects),
                [_error(e) for e in m.errors],
                [_event(e) for e in m.unhandled or ()],
                m.status,
                m.owner.state(),
            )
        )
        m.effects = []
        m.errors = []
        m.unhandled = None
    return trace


def _run_session(spec: ChartSpec, events: list[EventData], listen: bool) -> list[Any]:
    chart = compile_chart(spec)
    records: list[Any] = []
    session = chart.start(
        context={"n": 0, "errors": 0, "seen": []},
        session_id="one",
        listeners=[records.append] if listen else [],
    )
    session._m.owner = Owner()  # the guards' owner (a class-DSL instance in real use)
    trace: list[Any] = []
    for ev in events:
        try:
            session.send(ev)
        except InfiniteLoopError as exc:
            trace.append(("loop", str(exc)))
            break
        trace.append(
            (
                session.active_leaves,
                repr(session.context),
                session.snapshot().version,
                session._m.owner.state(),
            )
        )
    if listen:
        trace.append(
            [
                (
                    type(r).__name__,
                    getattr(r, "microsteps", None),
                    getattr(r, "configuration_after", None),
                    getattr(r, "version", None),
                    [_error(e) for e in getattr(r, "errors", ())],
                    getattr(r, "effects", None),
                )
                for r in records
            ]
        )
    return trace


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=CHARTS, events=event_lists())
def test_the_specialised_step_gives_what_the_full_macrostep_gives(
    spec: ChartSpec, events: list[EventData]
) -> None:
    fast = _run_engine(spec, events)
    with specialised_steps_disabled():
        full = _run_engine(spec, events)
    assert fast == full


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=CHARTS, events=event_lists())
def test_a_session_gives_the_same_with_the_specialised_step_with_or_without_listeners(
    spec: ChartSpec, events: list[EventData]
) -> None:
    fast = _run_session(spec, events, listen=False)
    fast_listened = _run_session(spec, events, listen=True)
    with specialised_steps_disabled():
        full = _run_session(spec, events, listen=False)
        full_listened = _run_session(spec, events, listen=True)
    assert fast == full
    assert fast_listened == full_listened
    assert fast_listened[:-1] == fast


def test_a_guarded_targetless_event_takes_the_specialised_step() -> None:
    # the shape the specialised step is for: one state, a guarded targetless transition
    spec = ChartSpec(
        "w2",
        states=[StateSpec("s", transitions=[TransitionSpec(event=("inc",), cond=even)])],
    )
    m = compile_chart(spec).engine()
    m.start({"n": 0})
    assert m.actions_for("inc") is None  # not planned yet
    m.macrostep(EventData("inc"))
    assert m.actions_for("inc") is not None


class _Pending:
    """An awaitable an action returns (what an ``async def`` action gives the engine)."""

    def __await__(self) -> Iterator[None]:
        yield None


class _AsyncOwner:
    def __init__(self) -> None:
        self.made: list[_Pending] = []

    def start(self) -> _Pending:
        self.made.append(_Pending())
        return self.made[-1]


def _start_ctx(ctx: Any) -> _Pending:
    return ctx.owner.start()


@pytest.mark.parametrize("action", [_start_ctx, OnOwner(_AsyncOwner.start)])
@pytest.mark.parametrize("guarded", [False, True])
def test_an_awaitable_a_specialised_step_returns_is_handed_to_the_driver(
    action: Any, guarded: bool
) -> None:
    # an async action's awaitable is an effect the driver awaits after the step, named as
    # the full path names it, whether the action takes the context or is an owner's method
    spec = ChartSpec(
        "async",
        states=[
            StateSpec(
                "s",
                transitions=[
                    TransitionSpec(event=("go",), cond=even if guarded else None, actions=(action,))
                ],
            )
        ],
    )
    m = compile_chart(spec).engine()
    m.owner = owner = _AsyncOwner()
    m.start({"n": 0})
    for _ in range(2):
        m.macrostep(EventData("go"))
        assert m.actions_for("go") is not None  # the second event took the specialised step
        (effect,) = m.effects
        assert effect.awaitable is owner.made[-1]
        assert effect.label == getattr(action, "__name__", "")
        m.effects = []
        m.settle()
    assert m.version == 2 and m.handled
