"""``statefleet simulate FILE [--event NAME[:json]]... [--advance SECONDS]...``."""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from typing import Any

from rich.console import Console

from statefleet.cli._common import fail, load_chart
from statefleet.core import Session, StatefleetError, VirtualClock
from statefleet.formats._input import clip


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


def _show(out: Console, label: str, session: Session) -> None:
    config = ", ".join(session.active_leaves)
    status = "" if session.status == "active" else f"  ({session.status})"
    out.print(f"t={session.clock.now():g}  {label:<24} -> {config}{status}", markup=False)


def _step(out: Console, session: Session, kind: str, value: str) -> None:
    if kind == "advance":
        seconds = _parse_seconds(value)
        session.advance(seconds)
        _show(out, f"+{seconds:g}s", session)
    else:
        name, data = _parse_event(value)
        session.send(name, **data)
        _show(out, name, session)


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success, 1 for a bad chart, 2 for a bad event, duration or context."""
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        chart = load_chart(args.file)
    except StatefleetError as exc:
        fail("simulate", exc)
        return 1
    try:
        context = _json_object(args.context, "--context") if args.context else None
    except ValueError as exc:
        fail("simulate", exc)
        return 2
    try:
        session = chart.start(context=context, clock=VirtualClock())
    except StatefleetError as exc:
        fail("simulate", f"the chart cannot be started: {exc}")
        return 1
    _show(out, "(start)", session)
    if args.steps:
        for kind, value in args.steps:
            try:
                _step(out, session, kind, value)
            except (ValueError, StatefleetError) as exc:
                fail("simulate", f"{kind} {clip(value)!r}: {exc}")
                return 2
        return 0
    return _interactive(out, err, session)


def _interactive(out: Console, err: Console, session: Session) -> int:
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
                _step(out, session, "advance", line[1:])
            else:
                name, _, payload = line.partition(" ")
                _step(out, session, "event", f"{name}:{payload}" if payload else name)
        except (ValueError, StatefleetError) as exc:
            err.print(f"error: {exc}", markup=False)
            continue
        out.print("events: " + ", ".join(session.enabled_events()), markup=False)
    return 0
