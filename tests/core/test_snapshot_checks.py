"""Restoring refuses every snapshot that does not fit its chart, with a SnapshotError naming
the problem (never an IndexError/KeyError, never an illegal configuration), and the codecs
turn corrupt, tampered or too deeply nested bytes into SnapshotError too."""

from __future__ import annotations

import math
import random
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statefleet import SnapshotError, decode_snapshot, encode_snapshot
from statefleet.core import (
    AfterSpec,
    Chart,
    DelayedEvent,
    EventData,
    InvocationRecord,
    InvokeSpec,
    Snapshot,
    StateSpec,
)
from statefleet.core._snapshot import MAX_CHILD_DEPTH, MAX_NESTING
from tests.core._build import S, T, chart

CHILD = chart(S("c1", on=[T("fin", "cdone")]), S("cdone", kind="final"), id="child")


def _main() -> Chart:
    return chart(
        S(
            "work",
            StateSpec("hs", kind="history"),
            StateSpec("hd", kind="history", history="deep"),
            S("a", S("a1", on=[T("next", "a2")]), S("a2")),
            S("b"),
            S("par", S("r1", S("x1"), S("x2")), S("r2", S("y1"), S("y2")), kind="parallel"),
            invokes=[InvokeSpec(id="kid", src=CHILD)],
            after=[AfterSpec(delay=5.0, transition=T(None, "off"))],
            on=[T("off", "off"), T("to_b", "b"), T("to_par", "par")],
        ),
        S("off", on=[T("back_s", "hs"), T("back_d", "hd")]),
        id="main",
    )


MAIN = _main()


def _running() -> Snapshot:
    """work.a.a2 active, its timer pending and its child chart invoked."""
    s = MAIN.start()
    s.send("next")
    snap = s.snapshot()
    assert snap.configuration == ("work", "a", "a2")
    assert [d.event.name for d in snap.pending] == ["$after.0.work"]
    assert [r.invokeid for r in snap.invocations] == list(snap.children)
    return snap


def _off() -> Snapshot:
    """off active, both histories of work remembered."""
    s = MAIN.start()
    s.send("next")
    s.send("off")
    snap = s.snapshot()
    assert snap.history == {"hs": ("a",), "hd": ("a2",)}
    return snap


def test_the_snapshots_used_below_restore() -> None:
    for snap in (_running(), _off()):
        session = MAIN.restore(decode_snapshot(encode_snapshot(snap)))
        assert session.snapshot() == snap


# each case: a field mutation, and what the error must say
BAD: list[tuple[str, Any, dict[str, Any], str]] = [
    # history entries outside their history state's parent, or not re-enterable
    ("history-outside-parent", _off, {"history": {"hd": ("off",)}}, "not a descendant of 'work'"),
    ("shallow-history-grandchild", _off, {"history": {"hs": ("a2",)}}, "not a child of 'work'"),
    ("shallow-history-two", _off, {"history": {"hs": ("a", "b")}}, "two children of 'work'"),
    ("deep-history-siblings", _off, {"history": {"hd": ("a1", "a2")}}, "two children of 'a'"),
    ("deep-history-cousins", _off, {"history": {"hd": ("a1", "b")}}, "two children of 'work'"),
    ("deep-history-nested", _off, {"history": {"hd": ("a", "a2")}}, "one of its descendants"),
    ("history-of-history", _off, {"history": {"hd": ("hs",)}}, "unknown state 'hs'"),
    ("history-twice", _off, {"history": {"hd": ("a2", "a2")}}, "'a2' twice"),
    ("history-not-ids", _off, {"history": {"hd": "a2"}}, "sequence of state ids"),
    ("history-key", _off, {"history": {"a": ("a1",)}}, "unknown history state 'a'"),
    # configurations that are not legal
    ("config-twice", _running, {"configuration": ("work", "a", "a2", "a2")}, "'a2' twice"),
    ("config-none", _running, {"configuration": None}, "sequence of state ids"),
    ("config-history", _running, {"configuration": ("work", "hs")}, "unknown state 'hs'"),
    ("config-not-atomic", _running, {"configuration": ("work", "a")}, "exactly one active"),
    (
        "config-region-missing",
        _running,
        {"configuration": ("work", "par", "r1", "x1"), "invocations": (), "children": {}},
        "all its regions",
    ),
    ("config-two-top", _running, {"configuration": ("off", "work", "b")}, "one active top-level"),
    # status, versions, counters
    ("status", _running, {"status": "exploded"}, "unknown status 'exploded'"),
    ("version-negative", _running, {"version": -1}, "version must be an int >= 0"),
    ("version-str", _running, {"version": "7"}, "version must be an int >= 0"),
    ("version-bool", _running, {"version": True}, "version must be an int >= 0"),
    ("send-counter", _running, {"send_counter": -5}, "send_counter must be an int >= 0"),
    ("format", _running, {"format": 99}, "unknown snapshot format 99"),
    ("session-id", _running, {"session_id": 3}, "session_id must be a string"),
    ("context", _running, {"context": ["x"]}, "context must be a dict"),
    ("bound", _running, {"bound": ("nope",)}, "unknown state 'nope'"),
    # timers
    (
        "timer-nan",
        _running,
        {"pending": (DelayedEvent("t", math.nan, EventData("x")),)},
        "due at nan",
    ),
    (
        "timer-repeat",
        _running,
        {"pending": (DelayedEvent("t", 1.0, EventData("x"), repeat=0.0),)},
        "repeats every 0.0",
    ),
    ("timer-noname", _running, {"pending": (DelayedEvent("t", 1.0, EventData("")),)}, "no event"),
    ("timer-nosendid", _running, {"pending": (DelayedEvent("", 1.0, EventData("x")),)}, "sendid"),
    (
        "timer-twice",
        _running,
        {
            "pending": (
                DelayedEvent("t", 1.0, EventData("x")),
                DelayedEvent("t", 2.0, EventData("y")),
            )
        },
        "'t' appears twice",
    ),
    (
        "timer-unknown-after",
        _running,
        {"pending": (DelayedEvent("$after.3.work", 1.0, EventData("$after.3.work")),)},
        "does not have",
    ),
    (
        "timer-after-inactive",
        _off,
        {"pending": (DelayedEvent("$after.0.work", 1.0, EventData("$after.0.work")),)},
        "'work', which is not active",
    ),
    ("timer-type", _running, {"pending": ("soon",)}, "not a DelayedEvent"),
    (
        "timer-event-sendid",
        _running,
        {"pending": (DelayedEvent("t", 1.0, EventData("x", sendid=["t"])),)},  # type: ignore[arg-type]
        "event sendid ['t']",
    ),
    # invocations and children
    (
        "invoke-negative-index",
        _running,
        {"invocations": (InvocationRecord("k", "work", -1),), "children": {}},
        "not one at index -1",
    ),
    (
        "invoke-index-too-big",
        _running,
        {"invocations": (InvocationRecord("k", "work", 1),), "children": {}},
        "not one at index 1",
    ),
    (
        "invoke-unknown-state",
        _running,
        {"invocations": (InvocationRecord("k", "nope", 0),), "children": {}},
        "unknown invocation 'k'",
    ),
    (
        "invoke-inactive-state",
        _off,
        {"invocations": (InvocationRecord("k", "work", 0),)},
        "'work', which is not active",
    ),
    (
        "invoke-twice",
        _running,
        {"invocations": (InvocationRecord("k", "work", 0), InvocationRecord("k", "work", 0))},
        "'k' appears twice",
    ),
    ("child-orphan", _running, {"invocations": ()}, "belongs to no recorded invocation"),
    ("child-type", _running, {"children": {"x": 1}}, "belongs to no recorded invocation"),
]


@pytest.mark.parametrize(("name", "base", "change", "message"), BAD, ids=[b[0] for b in BAD])
def test_restore_refuses_a_snapshot_that_does_not_fit(
    name: str, base: Any, change: dict[str, Any], message: str
) -> None:
    snap = msgspec.structs.replace(base(), **change)
    with pytest.raises(SnapshotError, match=_escape(message)):
        MAIN.restore(snap)
    with pytest.raises(SnapshotError, match=_escape(message)):
        MAIN.transition(snap, "off")


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_history_entry_elsewhere_used_to_give_an_illegal_configuration() -> None:
    # the bug of issue 11: re-entering through a history remembering a state elsewhere
    snap = msgspec.structs.replace(_off(), history={"hs": ("off",)})
    with pytest.raises(SnapshotError, match="history 'hs' remembers 'off', which is not a child"):
        MAIN.restore(snap)


def test_a_child_snapshot_is_checked_against_the_invoked_chart() -> None:
    snap = _running()
    ((invokeid, child),) = snap.children.items()
    bad = msgspec.structs.replace(child, configuration=("cdone", "c1"))
    with pytest.raises(SnapshotError, match=rf"children\['{invokeid}'\].*top-level"):
        MAIN.restore(msgspec.structs.replace(snap, children={invokeid: bad}))
    foreign = msgspec.structs.replace(child, chart_id="other")
    with pytest.raises(SnapshotError, match=rf"children\['{invokeid}'\].*chart 'other'"):
        MAIN.restore(msgspec.structs.replace(snap, children={invokeid: foreign}))
    with pytest.raises(SnapshotError, match="is a str, not a Snapshot"):
        MAIN.restore(msgspec.structs.replace(snap, children={invokeid: "x"}))


def _self_invoking() -> tuple[Chart, Snapshot, InvocationRecord]:
    inner = InvokeSpec(id="me", src="itself")
    loop = chart(S("s", invokes=[inner]), id="loop")
    inner.src = loop
    leaf = Snapshot(chart_id="loop", chart_version="1", configuration=("s",))
    return loop, leaf, InvocationRecord("me", "s", 0)


def _nest(leaf: Snapshot, rec: InvocationRecord, levels: int, inner: Snapshot) -> Snapshot:
    snap = inner
    for _ in range(levels):
        snap = msgspec.structs.replace(leaf, invocations=(rec,), children={"me": snap})
    return snap


def test_children_nested_thousands_deep_are_refused_without_recursion() -> None:
    # a chart invoking itself: a snapshot can nest as deep as a tamperer likes
    loop, leaf, rec = _self_invoking()
    session = loop.restore(_nest(leaf, rec, MAX_CHILD_DEPTH, leaf))  # deep, but it restores
    assert session.snapshot() == _nest(leaf, rec, MAX_CHILD_DEPTH, leaf)
    with pytest.raises(SnapshotError, match=f"children nested deeper than {MAX_CHILD_DEPTH}"):
        loop.restore(_nest(leaf, rec, 100_000, leaf))
    bad = _nest(leaf, rec, 10, msgspec.structs.replace(leaf, status="nope"))
    with pytest.raises(SnapshotError, match=r"children\['me'\]\.children.*unknown status 'nope'"):
        loop.validate(bad)


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_data_nested_deeper_than_the_limit_is_refused() -> None:
    snap = _running()
    assert MAIN.restore(msgspec.structs.replace(snap, context={"k": _deep(MAX_NESTING - 1)}))
    for depth in (MAX_NESTING, 100_000):
        deep = msgspec.structs.replace(snap, context={"k": _deep(depth)})
        with pytest.raises(SnapshotError, match=f"context is nested deeper than {MAX_NESTING}"):
            MAIN.restore(deep)
    done = msgspec.structs.replace(_off(), status="done", done_data={"k": _deep(10_000)})
    with pytest.raises(SnapshotError, match="done_data is nested deeper"):
        MAIN.restore(done)
    timer = DelayedEvent("t", 1.0, EventData("x", {"k": _deep(10_000)}))
    with pytest.raises(SnapshotError, match="'t' has data nested deeper"):
        MAIN.restore(msgspec.structs.replace(snap, pending=(timer,)))


def test_a_stored_context_too_deep_to_copy_is_refused_when_restored() -> None:
    # 600 levels: msgpack decodes it, but copying it on restore would exhaust the stack
    blob = _nested_context_msgpack(600, chart_id="main", state="off")
    with pytest.raises(SnapshotError, match="context is nested deeper"):
        MAIN.restore(decode_snapshot(blob))


def test_a_pure_steps_own_snapshot_changed_in_place_is_checked_again() -> None:
    # Chart.transition skips the full check for the snapshot its last step made (no timers,
    # invocations or children: those always get it); what can still change in such a frozen
    # snapshot is its dicts, and those are checked again
    plain = chart(
        S("p", StateSpec("h", kind="history"), S("p1"), S("p2"), on=[T("out", "q")]),
        S("q", S("q1"), S("q2"), on=[T("back", "h")]),
        id="plain",
    )
    first = plain.initial().snapshot
    assert not (first.pending or first.invocations or first.children)
    assert plain.transition(first, "out").snapshot.configuration == ("q", "q1")
    deep = plain.transition(first, "out").snapshot
    deep.context["k"] = _deep(10_000)
    with pytest.raises(SnapshotError, match="context is nested deeper"):
        plain.transition(deep, "back")
    bogus = plain.transition(first, "out").snapshot
    bogus.history["h"] = ("q2",)
    with pytest.raises(SnapshotError, match="history 'h' remembers 'q2'"):
        plain.transition(bogus, "back")


# -- codecs --------------------------------------------------------------------------------
def _nested_context_msgpack(depth: int, chart_id: str = "main", state: str = "off") -> bytes:
    head = encode_snapshot(Snapshot(chart_id=chart_id, chart_version="1", configuration=(state,)))
    # replace the empty context map (\xa7context\x80) by {"k": [[[...]]]}
    deep = b"\x81\xa1k" + b"\x91" * depth + b"\xc0"
    assert head.count(b"\xa7context\x80") == 1
    return head.replace(b"\xa7context\x80", b"\xa7context" + deep)


def test_decoding_deeply_nested_msgpack_is_a_snapshot_error() -> None:
    with pytest.raises(SnapshotError, match="nested too deeply"):
        decode_snapshot(_nested_context_msgpack(200_000))
    assert decode_snapshot(_nested_context_msgpack(50)).context["k"] is not None


def test_decoding_deeply_nested_json_is_a_snapshot_error() -> None:
    depth = 200_000
    data = (
        b'{"chart_id":"main","chart_version":"1","configuration":["off"],"context":{"k":'
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )
    with pytest.raises(SnapshotError, match="nested too deeply"):
        decode_snapshot(data, format="json")


def test_decoding_children_nested_deeply_is_a_snapshot_error() -> None:
    leaf = Snapshot(chart_id="main", chart_version="1", configuration=("off",))
    blob = encode_snapshot(leaf, format="json")
    for _ in range(3):
        blob = blob[:-1] + b',"children":{"k":' + blob + b"}}"
    assert decode_snapshot(blob, format="json").children["k"].children["k"]
    text = b'{"chart_id":"m","chart_version":"1","configuration":[],"children":{"k":' * 50_000
    with pytest.raises(SnapshotError):
        decode_snapshot(text, format="json")


@pytest.mark.parametrize("bad", ["xml", "", None])
def test_an_unknown_encoding_is_a_snapshot_error(bad: Any) -> None:
    snap = _running()
    with pytest.raises(SnapshotError, match="unknown snapshot encoding"):
        encode_snapshot(snap, format=bad)
    with pytest.raises(SnapshotError, match="unknown snapshot encoding"):
        decode_snapshot(encode_snapshot(snap), format=bad)


@pytest.mark.parametrize("data", ["a string", 12, None, b"", b"\xc1", b"\x80"])
def test_decoding_anything_that_is_not_a_snapshot_is_a_snapshot_error(data: Any) -> None:
    with pytest.raises(SnapshotError):
        decode_snapshot(data)


def test_decoding_format_zero_is_refused() -> None:
    blob = encode_snapshot(msgspec.structs.replace(_running(), format=0))
    with pytest.raises(SnapshotError, match="format 0"):
        decode_snapshot(blob)


def test_encoding_a_context_nested_thousands_deep_is_a_snapshot_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    snap = msgspec.structs.replace(_running(), context={"deep": deep})
    for fmt in ("msgpack", "json"):
        with pytest.raises(SnapshotError, match="cannot be encoded: nested too deeply"):
            encode_snapshot(snap, format=fmt)


@pytest.mark.parametrize("value", [object(), 2**70, 1 + 2j, math.nan])
def test_encoding_values_the_format_cannot_hold_is_a_snapshot_error(value: Any) -> None:
    snap = msgspec.structs.replace(_running(), context={"v": value})
    fmt = "json" if isinstance(value, float) else "msgpack"
    if isinstance(value, float):
        # JSON has no NaN: msgspec writes null, which still decodes (nothing to refuse)
        assert decode_snapshot(encode_snapshot(snap, format=fmt), format=fmt)
        return
    with pytest.raises(SnapshotError, match="cannot be encoded"):
        encode_snapshot(snap, format=fmt)


# -- fuzz: tampered bytes decode and restore into a SnapshotError or a legal session --------
def _tamper(blob: bytes, rnd: random.Random) -> bytes:
    data = bytearray(blob)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(3)
        i = rnd.randrange(len(data))
        if op == 0:
            data[i] = rnd.randrange(256)
        elif op == 1:
            del data[i]
        else:
            data.insert(i, rnd.randrange(256))
    return bytes(data)


def _legal(session: Any) -> None:
    """The session's configuration is legal now and after any event it is sent."""
    MAIN.validate(session.snapshot())
    for name in ("off", "back_s", "back_d", "to_b", "to_par", "next"):
        session.send(name)  # never crashes, whatever history or timers it was given
        MAIN.validate(session.snapshot())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(["running", "off"]))
def test_fuzz_tampered_snapshots_restore_legally_or_raise_snapshot_error(
    seed: int, which: str
) -> None:
    rnd = random.Random(seed)
    snap = _running() if which == "running" else _off()
    blob = _tamper(encode_snapshot(snap), rnd)
    try:
        session = MAIN.restore(decode_snapshot(blob))
    except SnapshotError:
        return
    _legal(session)


ID_POOL = [
    "work",
    "hs",
    "hd",
    "a",
    "a1",
    "a2",
    "b",
    "par",
    "r1",
    "r2",
    "x1",
    "x2",
    "y1",
    "y2",
    "off",
    "nope",
]


@settings(max_examples=300, deadline=None)
@given(
    configuration=st.lists(st.sampled_from(ID_POOL), max_size=6),
    hs=st.lists(st.sampled_from(ID_POOL), max_size=3),
    hd=st.lists(st.sampled_from(ID_POOL), max_size=4),
)
def test_fuzz_made_up_configurations_and_histories(
    configuration: list[str], hs: list[str], hd: list[str]
) -> None:
    snap = msgspec.structs.replace(
        _off(),
        configuration=tuple(configuration),
        history={"hs": tuple(hs), "hd": tuple(hd)},
    )
    try:
        session = MAIN.restore(snap)
    except SnapshotError:
        return
    _legal(session)
