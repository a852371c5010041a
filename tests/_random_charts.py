"""Random charts for the tests that compare two ways of running the same chart.

The engine's specialised step against its full macrostep (``tests/core/test_fast_step.py``)
and an actor's run of queued events against a :class:`~statefleet.Session`
(``tests/actors/test_fast_path.py``) draw their charts from :func:`charts`: nested (and,
where asked, parallel) states with targetless and moving transitions, guarded or not, whose
content counts, raises, sends or fails, beside eventless transitions. Each test passes the
events, guards and action blocks it exercises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from statefleet.core import ChartSpec, StateSpec, TransitionSpec

Guard = Any
Block = tuple[Any, ...]


class Boom(Exception):
    """What a failing guard or action raises."""


def inc(ctx: Any) -> None:
    ctx.context["n"] += 1


def inc_raise(ctx: Any) -> None:
    # every raised "b" follows an increment, so chains of them end
    ctx.context["n"] += 1
    if ctx.context["n"] % 3 == 0:
        ctx.raise_("b")


def fail(ctx: Any) -> None:
    ctx.context["n"] += 1
    raise Boom(f"action at {ctx.context['n']}")


def count_error(ctx: Any) -> None:
    ctx.context["errors"] += 1


def even(ctx: Any) -> bool:
    return bool(ctx.context["n"] % 2 == 0)


def eventless_guard(ctx: Any) -> bool:
    # true for one value of n in seven; the transition increments n, so it never loops
    return bool(ctx.context["n"] % 7 == 3)


@st.composite
def charts(
    draw: st.DrawFn,
    *,
    events: Sequence[str],
    guards: Sequence[Guard],
    blocks: Sequence[Block],
    parallel: bool,
    error_handler: bool | None = None,
) -> ChartSpec:
    """A random chart whose transitions listen to ``events``.

    ``guards`` and ``blocks`` (tuples of actions) are sampled per transition (``None`` among
    the guards for an unguarded one); ``parallel`` allows parallel states; ``error_handler``
    puts an ``error`` transition counting into ``errors`` on the root (``None``: drawn, so
    error events sometimes go unhandled). The datamodel needs ``n`` and ``errors``.
    """
    ids: list[str] = []

    def state(depth: int) -> StateSpec:
        sid = f"s{len(ids) + 1}"
        ids.append(sid)
        spec = StateSpec(sid)
        if depth < 2:
            kind = draw(st.integers(0, 5))
            if kind == 0 or (kind == 1 and not parallel):
                spec.children = [state(depth + 1) for _ in range(2)]
            elif kind == 1:
                spec.kind = "parallel"
                spec.children = [state(depth + 1) for _ in range(2)]
        return spec

    children = [state(0) for _ in range(draw(st.integers(1, 3)))]

    def add_transitions(spec: StateSpec) -> None:
        for _ in range(draw(st.integers(0, 3))):
            targetless = draw(st.integers(0, 2)) > 0
            block = draw(st.sampled_from(blocks))
            spec.transitions.append(
                TransitionSpec(
                    event=(draw(st.sampled_from(events)),),
                    target=() if targetless else (draw(st.sampled_from(ids)),),
                    cond=draw(st.sampled_from(guards)),
                    # sometimes two blocks: each its own error scope
                    actions=block if draw(st.booleans()) else (*block, *block),
                )
            )
        if draw(st.integers(0, 4)) == 0:
            spec.transitions.append(
                TransitionSpec(
                    event=(),
                    target=(draw(st.sampled_from(ids)),),
                    cond=eventless_guard,
                    actions=(inc,),
                )
            )
        for c in spec.children:
            add_transitions(c)

    for c in children:
        add_transitions(c)
    root = StateSpec("root", children=children)
    if draw(st.booleans()) if error_handler is None else error_handler:
        root.transitions.append(TransitionSpec(event=("error",), actions=(count_error,)))
    return ChartSpec("fast", states=[root], max_microsteps=500)
