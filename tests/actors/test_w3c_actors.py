"""The W3C SCXML conformance suite, run by the actor runtime instead of the sync
Session: each document is an actor on a virtual clock; it passes when the actor stops as done
in the final state ``pass``. Known failures are listed with their reason (strict xfail)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from statefleet import VirtualClock, from_scxml
from statefleet.actors import ActorSystem
from statefleet.formats._w3c import discover

SUITE = Path(__file__).resolve().parents[1] / "conformance" / "w3c"
FOLDERS = ("mandatory", "optional")

_HTTP = (
    "needs the Basic HTTP I/O processor, which is wired to the sync Session only (it posts"
    " with blocking urllib and delivers on the caller's thread)"
)
HTTP_TESTS = ("test201", "test509", "test510", "test518", "test520", "test531", "test532")
EXPECTED_FAILURES = dict.fromkeys((*HTTP_TESTS, "test567"), _HTTP)

pytestmark = pytest.mark.anyio


def _cases() -> list[object]:
    cases: list[object] = []
    for folder in FOLDERS:
        for path in discover(SUITE / folder):
            marks = []
            if path.stem in EXPECTED_FAILURES:
                marks.append(pytest.mark.xfail(reason=EXPECTED_FAILURES[path.stem], strict=True))
            cases.append(pytest.param(path, id=f"{folder}-{path.stem}", marks=marks))
    return cases


def test_the_suite_is_there() -> None:
    assert SUITE.is_dir(), f"the W3C suite is missing: {SUITE}"
    names = {p.stem for folder in FOLDERS for p in discover(SUITE / folder)}
    assert len(names) == 155
    assert set(EXPECTED_FAILURES) <= names


@pytest.mark.parametrize("path", _cases())
async def test_w3c_through_actors(path: Path) -> None:
    chart = from_scxml(path, trusted=True)
    async with ActorSystem(clock=VirtualClock()) as system:
        a = system.spawn(chart, id="test")
        with anyio.fail_after(10):  # a safety net only: virtual time makes these instant
            await a.wait_for(lambda s: a.status not in ("active", "restarting"), timeout=300)
        config = sorted(a.configuration)
        assert a.done and "pass" in config, f"{path.stem}: {a.status} in {config}"
