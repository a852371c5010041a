"""Snapshots: round trips, restore, corrupt or foreign snapshots, the pure step."""

from __future__ import annotations

import msgspec
import pytest

from statefleet import SnapshotError, decode_snapshot, encode_snapshot
from statefleet.core import StateSpec
from tests.core._build import S, T, chart


def _counter() -> object:
    def inc(ctx: object) -> None:
        ctx.context["n"] += 1  # type: ignore[attr-defined]

    return chart(
        S(
            "on",
            StateSpec("h", kind="history", history="deep"),
            S("x", on=[T("go", "y")]),
            S("y"),
            on=[T("inc", None, actions=(inc,)), T("off", "off")],
        ),
        S("off", on=[T("on", "h")]),
        id="counter",
        version="3",
    )


def test_snapshot_round_trips_through_msgpack_and_json_exactly() -> None:
    c = _counter()
    s = c.start(context={"n": 0, "tags": ["a"], "nested": {"k": 1.5}})  # type: ignore[attr-defined]
    s.send("inc")
    s.send("go")
    s.send("off")
    snap = s.snapshot()
    for fmt in ("msgpack", "json"):
        back = decode_snapshot(encode_snapshot(snap, format=fmt), format=fmt)
        assert back == snap
    restored = c.restore(decode_snapshot(encode_snapshot(snap)))  # type: ignore[attr-defined]
    restored.send("on")
    assert restored.configuration == {"on", "y"}
    assert restored.context["n"] == 1


def test_snapshot_is_immutable_and_independent_of_the_session() -> None:
    c = _counter()
    s = c.start(context={"n": 0})  # type: ignore[attr-defined]
    snap = s.snapshot()
    s.send("inc")
    assert snap.context["n"] == 0
    with pytest.raises(AttributeError):
        snap.status = "done"  # type: ignore[misc]


def test_pure_transition_never_mutates_its_input() -> None:
    c = _counter()
    first = c.initial(context={"n": 0, "items": [1]})  # type: ignore[attr-defined]
    before = encode_snapshot(first.snapshot)
    step = c.transition(first.snapshot, "inc")  # type: ignore[attr-defined]
    assert step.snapshot.context["n"] == 1
    assert encode_snapshot(first.snapshot) == before
    assert step.microsteps[0].transitions == ("on: inc -> (targetless)",)


def test_pure_step_lists_exited_and_entered_states_in_order() -> None:
    c = _counter()
    first = c.initial()  # type: ignore[attr-defined]
    assert first.microsteps[0].entered == ("on", "x")
    step = c.transition(first.snapshot, "off")  # type: ignore[attr-defined]
    assert step.microsteps[0].exited == ("x", "on")
    assert step.microsteps[0].entered == ("off",)
    assert step.configuration_before == ("on", "x")


def test_restore_on_another_chart_is_refused() -> None:
    snap = _counter().start().snapshot()  # type: ignore[attr-defined]
    other = chart(S("on"), S("off"), id="other")
    with pytest.raises(SnapshotError, match="chart 'counter', not 'other'"):
        other.restore(snap)


def test_restore_on_another_version_is_refused() -> None:
    snap = _counter().start().snapshot()  # type: ignore[attr-defined]
    newer = chart(S("on"), S("off"), id="counter", version="4")
    with pytest.raises(SnapshotError, match="version '3'"):
        newer.restore(snap)


def test_snapshot_with_unknown_or_inconsistent_states_is_refused() -> None:
    c = _counter()
    snap = c.start().snapshot()  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match="unknown state 'nope'"):
        c.restore(msgspec.structs.replace(snap, configuration=("on", "nope")))  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match="exactly one active child"):
        c.restore(msgspec.structs.replace(snap, configuration=("on", "x", "y")))  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match="parent 'on' is not"):
        c.restore(msgspec.structs.replace(snap, configuration=("x",)))  # type: ignore[attr-defined]


def test_corrupt_bytes_raise_snapshot_error() -> None:
    with pytest.raises(SnapshotError, match="corrupt snapshot"):
        decode_snapshot(b"\x93not a snapshot")
    with pytest.raises(SnapshotError):
        decode_snapshot(b"{}", format="json")
