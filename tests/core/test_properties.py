"""Property-based checks of the engine on random charts and random event sequences.

Invariants: the configuration is always legal; the cached Session path agrees with the pure
step on a freshly compiled chart (cold caches); a snapshot restored mid-run continues exactly
like the original.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statefleet.core import (
    ChartDefinitionError,
    ChartSpec,
    InfiniteLoopError,
    StateSpec,
    TransitionSpec,
    compile_chart,
)

EVENTS = ["a", "b", "c", "d.x"]


@st.composite
def charts(draw: st.DrawFn) -> ChartSpec:
    counter = [0]
    all_ids: list[str] = []
    parents: dict[str, str] = {}
    kinds: dict[str, str] = {}

    def new_id() -> str:
        counter[0] += 1
        return f"s{counter[0]}"

    def build(depth: int, parent: str | None) -> StateSpec:
        sid = new_id()
        all_ids.append(sid)
        if parent:
            parents[sid] = parent
        can_nest = depth < 3 and counter[0] < 14
        kind = draw(
            st.sampled_from(
                ["atomic", "compound", "parallel", "final"] if can_nest else ["atomic", "final"]
            )
        )
        spec = StateSpec(sid)
        if kind in ("compound", "parallel"):
            n = draw(st.integers(2, 3))
            spec.children = [build(depth + 1, sid) for _ in range(n)]
            for c in spec.children:
                if c.kind == "final" and kind == "parallel":
                    c.kind = "state"  # regions are compound-or-atomic states
            if kind == "parallel":
                spec.kind = "parallel"
            elif draw(st.integers(0, 2)) > 0:
                h = StateSpec(
                    new_id(), kind="history", history=draw(st.sampled_from(["shallow", "deep"]))
                )
                all_ids.append(h.id)
                parents[h.id] = sid
                spec.children.append(h)
        elif kind == "final" and parent is not None:
            spec.kind = "final"
        kinds[sid] = spec.kind
        return spec

    top = [build(0, None) for _ in range(draw(st.integers(1, 3)))]
    for t in top:
        if t.kind == "final" and t is top[0]:
            t.kind = "state"

    # add transitions to non-final, non-history states
    def visit(spec: StateSpec) -> None:
        if spec.kind not in ("final", "history"):
            for _ in range(draw(st.integers(0, 3))):
                target = draw(st.sampled_from([*all_ids, ""]))
                ev = draw(st.sampled_from([*EVENTS, "d", "*"]))
                typ = "external"
                if target and _is_descendant(target, spec.id, parents) and draw(st.booleans()):
                    typ = "internal"
                guarded = draw(st.booleans())
                spec.transitions.append(
                    TransitionSpec(
                        event=(ev,),
                        target=(target,) if target else (),
                        type=typ,  # type: ignore[arg-type]
                        cond=(lambda ctx: ctx.context["n"] % 2 == 0) if guarded else None,
                        actions=(_inc,),
                    )
                )
        for c in spec.children:
            visit(c)

    for t in top:
        visit(t)
    return ChartSpec("prop", states=top, max_microsteps=200)


def _is_descendant(sid: str, ancestor: str, parents: dict[str, str]) -> bool:
    while sid in parents:
        sid = parents[sid]
        if sid == ancestor:
            return True
    return False


def _inc(ctx: Any) -> None:
    ctx.context["n"] += 1


def _compile(spec: ChartSpec) -> Any:
    try:
        return compile_chart(spec)
    except ChartDefinitionError:
        return None


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    spec=charts(),
    events=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=12),
    cut=st.integers(0, 11),
)
def test_engine_invariants(spec: ChartSpec, events: list[str], cut: int) -> None:
    chart = _compile(spec)
    assert chart is not None
    try:
        session = chart.start(context={"n": 0})
    except InfiniteLoopError:
        # a chart whose own rules loop forever: the pure step must agree
        with pytest.raises(InfiniteLoopError):
            _compile(spec).initial(context={"n": 0})
        return
    step = _compile(spec).initial(context={"n": 0})
    assert tuple(sorted(session.configuration)) == tuple(sorted(step.snapshot.configuration))
    restored = None
    for i, ev in enumerate(events):
        if i == cut:
            restored = chart.restore(session.snapshot())
        fresh = _compile(spec)
        try:
            session.send(ev)
        except InfiniteLoopError:
            with pytest.raises(InfiniteLoopError):
                fresh.transition(step.snapshot, ev)
            return
        step = fresh.transition(step.snapshot, ev)
        snap = session.snapshot()
        chart.validate(snap)  # legal configuration, or SnapshotError
        assert snap.configuration == step.snapshot.configuration, (ev, i)
        assert snap.context == step.snapshot.context
        assert snap.history == step.snapshot.history
        if restored is not None:
            restored.send(ev)
            assert restored.snapshot().configuration == snap.configuration
            assert restored.context == session.context
        if session.done:
            break
