"""The W3C SCXML conformance runner shared by ``statefleet w3c`` and the test suite.

A test document passes when the chart, run until it stops, is in the final state ``pass``.
Each test runs in a sync :class:`~statefleet.Session` on a :class:`~statefleet.VirtualClock`:
whenever the session is idle the clock jumps to the next due delayed event, until the session
is done, no timer remains, or the test's virtual-time bound is reached. Events received by the
Basic HTTP processor are pumped into their sessions between steps.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from statefleet.core import StatefleetError, VirtualClock
from statefleet.formats._scxml import from_scxml
from statefleet.formats.basichttp import OWN_SERVER, BasicHTTPProcessor, processor

__all__ = ["TestResult", "discover", "run_directory", "run_test"]

Outcome = Literal["pass", "fail", "error"]
_NUMBER = re.compile(r"(\d+)")

#: virtual seconds a test may run (the longest W3C timeout is 20 s)
DEFAULT_TIME_BOUND = 300.0
#: clock jumps a test may take
DEFAULT_STEP_BOUND = 10_000


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test document: ``pass``, ``fail`` or ``error`` and why."""

    __test__ = False  # not a pytest class

    name: str
    outcome: Outcome
    detail: str = ""

    @property
    def passed(self) -> bool:
        """True when the test reached ``pass``."""
        return self.outcome == "pass"


def discover(directory: str | os.PathLike[str]) -> list[Path]:
    """Every ``test*.scxml`` of ``directory`` except sub-documents (``*sub*``), in test order."""
    paths = [p for p in Path(directory).glob("test*.scxml") if "sub" not in p.stem and p.is_file()]
    return sorted(paths, key=_order)


def _order(path: Path) -> tuple[int, str]:
    m = _NUMBER.search(path.stem)
    return (int(m.group(1)) if m else 0, path.stem)


def run_test(
    path: str | os.PathLike[str],
    *,
    trusted: bool = False,
    time_bound: float = DEFAULT_TIME_BOUND,
    step_bound: int = DEFAULT_STEP_BOUND,
) -> TestResult:
    """Run one W3C test document and report its outcome."""
    p = Path(path)
    name = p.stem
    try:
        # the suite reads its own files (sub-documents, data): grant the document's folder
        chart = from_scxml(p, trusted=trusted, base_dir=p.parent, allow_http=[OWN_SERVER])
    except StatefleetError as exc:
        return TestResult(name, "error", f"cannot load: {exc}")
    clock = VirtualClock()
    http = processor()
    try:
        session = chart.start(clock=clock)
        _settle(http)
        steps = 0
        while not session.done and session.status == "active":
            due = session.next_due
            if due is None or due > time_bound or steps >= step_bound:
                break
            steps += 1
            session.advance(max(0.0, due - clock.now()))
            _settle(http)
    except Exception as exc:  # a runner reports, it never crashes on a test
        return TestResult(name, "error", f"{type(exc).__name__}: {exc}")
    config = sorted(session.configuration)
    if session.done and "pass" in session.configuration:
        return TestResult(name, "pass")
    if not session.done:
        return TestResult(name, "fail", f"stopped in {config} (status {session.status})")
    return TestResult(name, "fail", f"ended in {config}")


def _settle(http: BasicHTTPProcessor) -> None:
    """Deliver what the Basic HTTP server received (which may make sessions send more)."""
    while http.pump():
        pass


def run_directory(
    directory: str | os.PathLike[str], *, trusted: bool = False
) -> dict[str, TestResult]:
    """Run every test of ``directory`` (see :func:`discover`), keyed by test name."""
    return {p.stem: run_test(p, trusted=trusted) for p in discover(directory)}
