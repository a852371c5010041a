"""Terse chart building for actor tests (``S`` states, ``T`` transitions, ``chart``)."""

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

Fn = Callable[[Any], Any]


def T(
    event: str | None = None,
    target: str | None = None,
    *,
    cond: Fn | None = None,
    actions: tuple[Fn, ...] = (),
    type: str = "external",
) -> TransitionSpec:
    return TransitionSpec(
        event=tuple(event.split()) if event else (),
        target=tuple(target.split()) if target else (),
        cond=cond,
        actions=actions,
        type=type,  # type: ignore[arg-type]
    )


def S(
    id: str,
    *children: StateSpec,
    kind: str = "state",
    on: list[TransitionSpec] | None = None,
    entry: list[Fn] | None = None,
    exit: list[Fn] | None = None,
    initial: str | None = None,
    donedata: Fn | None = None,
    invokes: list[InvokeSpec] | None = None,
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
        donedata=donedata,
        invokes=list(invokes or []),
        after=list(after or []),
    )


def chart(*states: StateSpec, id: str = "test", data: dict[str, Any] | None = None) -> Chart:
    return compile_chart(
        ChartSpec(
            id=id,
            states=list(states),
            data=[DataSpec(k, v) for k, v in (data or {}).items()],
        )
    )


def log_to(out: list[Any], text: str) -> Fn:
    """An action appending ``text`` to ``out``."""

    def action(ctx: Any) -> None:
        out.append(text)

    return action


def inc(key: str) -> Fn:
    def action(ctx: Any) -> None:
        ctx.context[key] = ctx.context.get(key, 0) + 1

    return action


def record(out: list[Any]) -> Fn:
    """An action appending the current event's name and data to ``out``."""

    def action(ctx: Any) -> None:
        out.append((ctx.event.name, ctx.event.data))

    return action


class Recorder:
    """A listener keeping every record."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def on_record(self, record: Any) -> None:
        self.records.append(record)

    def of(self, cls: type) -> list[Any]:
        return [r for r in self.records if isinstance(r, cls)]
