"""A front-end's adapter marked with its :class:`~statefleet.core._algorithm.Form` has its user
function called in that form by the engine's specialised step (no adapter frame per event),
and exactly as the adapter would call it: the same arguments, one view per step shared by the
guard and the content, a view factory of each's own when they differ."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.core import ChartSpec, EventData, StateSpec, TransitionSpec, compile_chart
from statefleet.core._algorithm import Form, with_form


class _Views:
    """A view factory counting the views it makes."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.made = 0

    def __call__(self, raw: EventData | None, engine: Any) -> tuple[str, int, Any]:
        self.made += 1
        return (self.tag, self.made, raw.name if raw is not None else None)


def _adapter(fn: Any, args: tuple[str, ...], const: Any, view: Any) -> Any:
    """What a front-end's adapter does for ``Form(fn, args, const, view)``."""

    def call(ctx: Any) -> Any:
        values = {
            "owner": ctx.owner,
            "context": ctx.context,
            "const": const,
            "view": view(ctx.event, ctx) if view is not None else None,
        }
        return fn(*(values[a] for a in args))

    return with_form(call, Form(fn, args, const, view))


def _engine(cond: Any, action: Any) -> Any:
    spec = ChartSpec(
        "forms",
        states=[
            StateSpec(
                "s", transitions=[TransitionSpec(event=("go",), cond=cond, actions=(action,))]
            )
        ],
    )
    m = compile_chart(spec).engine()
    m.owner = "the owner"
    m.start({"n": 0})
    return m


def test_the_specialised_step_calls_each_form_with_one_view_per_step() -> None:
    views = _Views("v")
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def guard(*a: Any) -> bool:
        seen.append(("guard", a))
        return True

    def act(*a: Any) -> None:
        seen.append(("act", a))
        a[1]["n"] += 1

    cond = _adapter(guard, ("context", "view", "const"), "G", views)
    action = _adapter(act, ("owner", "context", "view", "const"), "A", views)
    m = _engine(cond, action)
    m.macrostep(EventData("go"))  # planned on the first delivery
    assert m.actions_for("go") is not None
    seen.clear()
    made = views.made
    m.macrostep(EventData("go"))
    ctx = m.context
    view = ("v", made + 1, "go")
    assert seen == [("guard", (ctx, view, "G")), ("act", ("the owner", ctx, view, "A"))]
    assert views.made == made + 1  # one view for the guard and the action
    assert ctx["n"] == 2


def test_a_guard_and_an_action_with_different_view_factories_each_get_their_own() -> None:
    gv, av = _Views("g"), _Views("a")
    seen: list[Any] = []
    cond = _adapter(lambda c, v: seen.append(v) or True, ("context", "view"), None, gv)
    action = _adapter(lambda c, v: seen.append(v), ("context", "view"), None, av)
    m = _engine(cond, action)
    for _ in range(2):
        m.macrostep(EventData("go"))
    assert m.actions_for("go") is not None
    assert [v[0] for v in seen] == ["g", "a", "g", "a"]


@pytest.mark.parametrize(
    ("args", "view", "message"),
    [
        (("view", "context"), _Views("x"), "unknown argument form"),
        (("context", "view"), None, "a view factory is needed"),
        (("context",), _Views("x"), "a view factory is needed"),
    ],
)
def test_a_form_the_step_cannot_call_is_refused(args: Any, view: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Form(print, args, None, view)
