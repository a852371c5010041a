"""Terse chart building for core tests: ``S`` states, ``T`` transitions, ``chart(...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from statefleet.core import (
    AfterSpec,
    Chart,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)


def T(
    event: str | None = None,
    target: str | None = None,
    *,
    cond: Callable[[Any], Any] | None = None,
    actions: tuple[Callable[[Any], Any], ...] = (),
    type: str = "external",
    after: tuple[Callable[[Any], Any], ...] = (),
) -> TransitionSpec:
    return TransitionSpec(
        event=tuple(event.split()) if event else (),
        target=tuple(target.split()) if target else (),
        cond=cond,
        actions=actions,
        type=type,  # type: ignore[arg-type]
        after=after,
    )


def S(
    id: str,
    *children: StateSpec,
    kind: str = "state",
    on: list[TransitionSpec] | None = None,
    entry: list[Callable[[Any], Any]] | None = None,
    exit: list[Callable[[Any], Any]] | None = None,
    initial: str | None = None,
    history: str = "shallow",
    donedata: Callable[[Any], Any] | None = None,
    invokes: list[InvokeSpec] | None = None,
    data: list[DataSpec] | None = None,
    after: list[AfterSpec] | None = None,
) -> StateSpec:
    return StateSpec(
        id=id,
        kind=kind,  # type: ignore[arg-type]
        children=list(children),
        transitions=list(on or []),
        onentry=[(a,) for a in entry or []],
        onexit=[(a,) for a in exit or []],
        initial=tuple(initial.split()) if initial else None,
        history=history,  # type: ignore[arg-type]
        donedata=donedata,
        invokes=list(invokes or []),
        data=list(data or []),
        after=list(after or []),
    )


def chart(*states: StateSpec, id: str = "test", **kw: Any) -> Chart:
    return compile_chart(ChartSpec(id=id, states=list(states), **kw))


class Trace:
    """Records entry/exit/action order: ``tr.enter('a')`` is an action appending 'enter a'."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def add(self, text: str) -> Callable[[Any], None]:
        def action(ctx: Any) -> None:
            self.log.append(text)

        return action

    def enter(self, name: str) -> Callable[[Any], None]:
        return self.add(f"enter {name}")

    def exit(self, name: str) -> Callable[[Any], None]:
        return self.add(f"exit {name}")

    def take(self) -> list[str]:
        out, self.log = self.log, []
        return out


def traced(tr: Trace, id: str, *children: StateSpec, **kw: Any) -> StateSpec:
    """A state whose entry and exit are recorded in ``tr``."""
    return S(id, *children, entry=[tr.enter(id)], exit=[tr.exit(id)], **kw)
