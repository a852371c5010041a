"""``statefleet simulate FILE [--event NAME[:json]]... [--advance SECONDS]...``."""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import sys
from typing import Any

from rich.console import Console

from statefleet.cli._common import add_base_dir, crash_message, fail, load_chart
from statefleet.core import (
    ActorSpawned,
    InfiniteLoopError,
    MacrostepRecord,
    Record,
    Session,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._input import clip, shown


class _Steps(argparse.Action):
    """Keeps ``--event`` and ``--advance`` in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.dest, values))
        namespace.steps = steps


def add_parser(sub: Any) -> None:
    """Register the ``simulate`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="run a chart on a virtual clock and print its configuration",
        description=(
            "Run a chart in a sync Session on a virtual clock, printing the configuration"
            " after each --event and --advance (in order). With neither, an interactive"
            " prompt reads 'EVENT [json]', '+SECONDS' or 'quit'."
        ),
        epilog=(
            "examples:\n"
            "  statefleet simulate order.json --event CHECKOUT --event 'PAY:{\"amount\": 10}'\n"
            "  statefleet simulate order.yaml --event submit --advance 3600"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="a chart file or module:Class")
    p.add_argument("--event", action=_Steps, metavar="NAME[:json]", help="send an event")
    p.add_argument("--advance", action=_Steps, metavar="SECONDS", help="move the clock")
    p.add_argument("--context", metavar="JSON", help="initial context (a JSON object)")
    add_base_dir(p)
    p.set_defaults(run=run, steps=None)


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} nests too deeply") from None
    # json.JSONDecodeError (and a too long integer's error) are ValueErrors already
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object, not {clip(text)!r}")
    return data


def _parse_event(text: str) -> tuple[str, dict[str, Any]]:
    name, sep, payload = text.partition(":")
    name = name.strip()
    if not name:
        raise ValueError("an event needs a name")
    if not sep or not payload.strip():
        return name, {}
    return name, _json_object(payload, "event data")


def _parse_seconds(text: str) -> float:
    seconds = float(text)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"SECONDS must be a finite number >= 0, got {text!r}")
    return seconds


#: lines shown under one step (a runaway chart can take a million transitions in one)
MAX_LINES = 50


class _Trace:
    """Collects what each macrostep of the simulated session did, from its records.

    Only the top session's macrosteps are shown (an invoked child's have their own actor id).
    Context changes are found by comparing the context after each macrostep with the one
    before it."""

    def __init__(self, context: dict[str, Any] | None) -> None:
        self.session: Session | None = None
        self.actor: str | None = None
        self.context = _copy(context or {})
        self.lines: list[str] = []

    def __call__(self, record: Record) -> None:
        if isinstance(record, ActorSpawned) and record.parent is None and self.actor is None:
            self.actor = record.actor
        if not isinstance(record, MacrostepRecord) or record.actor != self.actor:
            return
        lines = self.lines
        steps = record.microsteps
        if record.event is None and not record.configuration_before:
            steps = steps[1:]  # the initial transition: the start line shows where it landed
        lines.extend(t for m in steps for t in m.transitions)
        if record.event is not None and not record.microsteps:
            lines.append(f"{record.event.name}: not handled (no transition takes it)")
        lines.extend(f"error: {crash_message(e)}" for e in record.errors)
        if self.session is not None:
            self.changes(self.session.context)

    def changes(self, context: dict[str, Any]) -> None:
        """Note how ``context`` differs from the last one seen."""
        now = _copy(context)
        for key in sorted(set(self.context) | set(now), key=str):
            if key not in now:
                self.lines.append(f"context: {key} removed")
            elif key not in self.context:
                self.lines.append(f"context: {key} = {shown(now[key])}")
            elif _differs(now[key], self.context[key]):
                self.lines.append(
                    f"context: {key} = {shown(now[key])} (was {shown(self.context[key])})"
                )
        self.context = now

    def flush(self, out: Console) -> None:
        """Print the collected lines under the step that caused them."""
        for line in self.lines[:MAX_LINES]:
            out.print(f"    {clip(line, 200)}", markup=False)
        if len(self.lines) > MAX_LINES:
            out.print(f"    ... and {len(self.lines) - MAX_LINES} more", markup=False)
        self.lines = []


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # a value whose comparison raises (or is not a bool): by identity
        return a is not b


def _copy(context: dict[str, Any]) -> dict[str, Any]:
    try:
        return copy.deepcopy(dict(context))
    except Exception:  # an uncopyable value: compared by identity from now on
        return dict(context)


def _show(out: Console, label: str, session: Session, trace: _Trace) -> None:
    config = ", ".join(session.active_leaves)
    status = "" if session.status == "active" else f"  ({session.status})"
    out.print(f"t={session.clock.now():g}  {label:<24} -> {config}{status}", markup=False)
    trace.flush(out)


def _step(out: Console, session: Session, trace: _Trace, kind: str, value: str) -> None:
    if kind == "advance":
        seconds = _parse_seconds(value)
        label = f"+{seconds:g}s"
        try:
            session.advance(seconds)
        except InfiniteLoopError:
            _show(out, label, session, trace)
            raise
        _show(out, label, session, trace)
    else:
        name, data = _parse_event(value)
        try:
            session.send(name, **data)
        except InfiniteLoopError:
            _show(out, name, session, trace)
            raise
        _show(out, name, session, trace)


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 for a bad chart or one that loops forever, 2 for a bad event,
    duration or context."""
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        chart = load_chart(args.file, base_dir=args.base_dir)
    except StatefleetError as exc:
        fail("simulate", exc)
        return 1
    try:
        context = _json_object(args.context, "--context") if args.context else None
    except ValueError as exc:
        fail("simulate", exc)
        return 2
    trace = _Trace(context)
    try:
        session = chart.start(context=context, clock=VirtualClock(), listeners=[trace])
    except StatefleetError as exc:
        fail("simulate", f"the chart cannot be started: {exc}")
        return 1
    trace.session = session
    trace.changes(session.context)  # what the chart's own initialisation set
    _show(out, "(start)", session, trace)
    if args.steps:
        for kind, value in args.steps:
            try:
                _step(out, session, trace, kind, value)
            except InfiniteLoopError as exc:
                fail("simulate", f"{kind} {clip(value)!r}: {exc}")
                return 1
            except (ValueError, StatefleetError) as exc:
                fail("simulate", f"{kind} {clip(value)!r}: {exc}")
                return 2
        return 0
    return _interactive(out, err, session, trace)


def _interactive(out: Console, err: Console, session: Session, trace: _Trace) -> int:
    out.print("events: " + ", ".join(session.enabled_events()), markup=False)
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")  # a stray byte is a bad step, not a crash
    for raw in sys.stdin:
        line = raw.strip()
        if not line:
            continue
        if line in ("quit", "exit"):
            break
        try:
            if line.startswith("+"):
                _step(out, session, trace, "advance", line[1:])
            else:
                name, _, payload = line.partition(" ")
                _step(out, session, trace, "event", f"{name}:{payload}" if payload else name)
        except (ValueError, StatefleetError) as exc:
            err.print(f"error: {exc}", markup=False)
            continue
        out.print("events: " + ", ".join(session.enabled_events()), markup=False)
    return 0
