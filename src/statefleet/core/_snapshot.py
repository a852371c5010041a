"""Snapshots: the complete, serializable state of one running chart instance, its codecs
and the check that a snapshot fits the chart it is restored on."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

from statefleet.core._chart import Node
from statefleet.core._errors import SnapshotError
from statefleet.core._events import EventData

__all__ = [
    "CODEC_ERRORS",
    "MAX_CHILD_DEPTH",
    "MAX_NESTING",
    "SNAPSHOT_FORMAT",
    "STATUSES",
    "ChartTables",
    "DelayedEvent",
    "InvocationRecord",
    "Snapshot",
    "check_snapshot",
    "codec_error_reason",
    "decode_snapshot",
    "encode_snapshot",
    "needs_no_recheck",
]

#: bumped whenever the encoded layout changes incompatibly
SNAPSHOT_FORMAT = 1


class DelayedEvent(msgspec.Struct, frozen=True):
    """A scheduled send that has not fired yet: it fires at ``due`` (seconds on the clock)."""

    sendid: str
    due: float
    event: EventData
    #: ``None`` (this session), ``"#_parent"``, ``"#_<invokeid>"``, an actor id, ...
    target: str | None = None
    #: for ``every`` timers: the period to reschedule with
    repeat: float | None = None


class InvocationRecord(msgspec.Struct, frozen=True):
    """An invocation started by a state that is still active."""

    invokeid: str
    state: str
    #: index of the invoke declaration within the state (document order)
    index: int = 0


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to resume a chart instance exactly where it was.

    Immutable; round-trips through msgpack and JSON (:func:`encode_snapshot`). ``configuration``
    lists the active states in document order, ``history`` the remembered configuration of
    each history state, ``pending`` the delayed events not fired yet, ``children`` the
    snapshots of invoked child charts by invoke id. ``version`` counts committed macrosteps.
    """

    chart_id: str
    chart_version: str
    configuration: tuple[str, ...]
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    history: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    status: str = "active"
    pending: tuple[DelayedEvent, ...] = ()
    invocations: tuple[InvocationRecord, ...] = ()
    children: dict[str, Snapshot] = msgspec.field(default_factory=dict)
    version: int = 0
    session_id: str = ""
    send_counter: int = 0
    #: states whose late-bound data has been initialized
    bound: tuple[str, ...] = ()
    done_data: Any = None
    format: int = SNAPSHOT_FORMAT


#: how deep containers may nest in a snapshot's data (context, done data, timer events'
#: data): restoring copies them recursively, and deeper data is no legitimate state
MAX_NESTING = 100
#: how deep invoked children's snapshots may nest (each level is restored recursively)
MAX_CHILD_DEPTH = 50

#: every status a snapshot can carry: running, reached a top-level final state, failed
#: (an infinite loop), cancelled (its invoking state exited) or stopped by its owner
STATUSES = frozenset({"active", "done", "error", "cancelled", "stopped"})

_ENCODINGS = ("msgpack", "json")
_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoder = msgspec.msgpack.Decoder(Snapshot)
_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder(Snapshot)

#: what bad input makes msgspec's codecs raise, besides their own errors: values msgpack or
#: JSON cannot hold (TypeError, OverflowError for huge ints), nesting deeper than the codec's
#: recursion limit (RecursionError) and lengths that do not fit in memory (MemoryError)
CODEC_ERRORS: tuple[type[BaseException], ...] = (
    msgspec.MsgspecError,
    TypeError,
    ValueError,
    OverflowError,
    RecursionError,
    MemoryError,
)


def encode_snapshot(snapshot: Snapshot, *, format: str = "msgpack") -> bytes:
    """Encode a snapshot as msgpack (default) or JSON bytes.

    A snapshot whose context (or any other field) cannot be encoded, whatever the reason
    (values msgpack/JSON cannot hold, nesting too deep), raises :class:`SnapshotError`.
    """
    _check_encoding(format)
    try:
        if format == "json":
            return _json_encoder.encode(snapshot)
        return _msgpack_encoder.encode(snapshot)
    except CODEC_ERRORS as exc:
        raise SnapshotError(f"snapshot cannot be encoded: {codec_error_reason(exc)}") from exc


def decode_snapshot(data: bytes, *, format: str = "msgpack") -> Snapshot:
    """Decode bytes made by :func:`encode_snapshot`.

    Corrupt, tampered or too deeply nested input raises :class:`SnapshotError` (and nothing
    else). Decoding checks the shape of every field; whether the snapshot fits a chart is
    checked when it is restored (:func:`check_snapshot`).
    """
    _check_encoding(format)
    try:
        snap = _json_decoder.decode(data) if format == "json" else _msgpack_decoder.decode(data)
    except CODEC_ERRORS as exc:
        raise SnapshotError(f"corrupt snapshot: {codec_error_reason(exc)}") from exc
    if snap.format > SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"snapshot format {snap.format} is newer than this statefleet ({SNAPSHOT_FORMAT})"
        )
    if snap.format < 1:
        raise SnapshotError(f"corrupt snapshot: format {snap.format} (formats start at 1)")
    return snap


def _check_encoding(format: Any) -> None:
    if format not in _ENCODINGS:
        raise SnapshotError(f"unknown snapshot encoding {format!r}: use 'msgpack' or 'json'")


def codec_error_reason(exc: BaseException) -> str:
    """A short reason for an exception in :data:`CODEC_ERRORS` (for error messages)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, MemoryError):
        return "too large to hold in memory"
    return str(exc) or type(exc).__name__


# -- checking a snapshot against its chart -------------------------------------------------
@runtime_checkable
class ChartTables(Protocol):
    """What :func:`check_snapshot` needs of a compiled chart (``Chart`` has it)."""

    @property
    def id(self) -> str:
        """The chart id."""

    @property
    def version(self) -> str:
        """The chart version."""

    @property
    def root(self) -> Node:
        """The root node."""

    @property
    def nodes_by_id(self) -> dict[str, Node]:
        """Every node by state id."""


def check_snapshot(chart: ChartTables, snapshot: Any) -> list[Node]:
    """Check that ``snapshot`` fits ``chart``; return its active nodes (configuration order).

    Everything a restore relies on is checked, so that a snapshot made by hand, tampered
    with or stored by a buggy program is refused before anything runs: the configuration is
    a legal one (every active state's parent active, one child of each active compound
    state, every region of an active parallel state), each history entry lies inside its
    history state's parent (a child for shallow history, a descendant for deep) and could be
    re-entered legally, the status, versions and counters are well-formed, pending timers
    have names, due times and periods that make sense (a chart's own ``after`` timer belongs
    to an active state), invocation records point at a declared ``<invoke>`` of an active
    state, and children belong to recorded invocations (and fit their chart when the
    invocation names one). Data nested deeper than :data:`MAX_NESTING` levels and children
    nested deeper than :data:`MAX_CHILD_DEPTH` are refused too: restoring them would
    exhaust the stack. Anything else raises :class:`SnapshotError` naming the problem (and,
    for a child, the invoke ids leading to it).
    """
    nodes, children = _check_one(chart, snapshot, "")
    # children are checked iteratively: a snapshot nested thousands deep is no RecursionError
    todo = [(c, 1) for c in children]
    while todo:
        (child_chart, child, where), depth = todo.pop()
        if depth > MAX_CHILD_DEPTH:
            raise SnapshotError(f"{where}: children nested deeper than {MAX_CHILD_DEPTH} levels")
        todo.extend((c, depth + 1) for c in _check_one(child_chart, child, where)[1])
    return nodes


def needs_no_recheck(snap: Snapshot) -> bool:
    """May a snapshot a chart made itself (the chart knows it by identity) be loaded again
    without :func:`check_snapshot`? Its fields cannot be reassigned (it is frozen) but its
    dicts can be changed in place: true when nothing a restore could trip on is there (a
    context and done data no deeper than :data:`MAX_NESTING`; no history, timers,
    invocations or children, which always get the full check)."""
    return (
        type(snap.context) is dict
        and not snap.history
        and not snap.pending
        and not snap.invocations
        and not snap.children
        and not _nested_deeper(snap.context, MAX_NESTING)
        and (snap.done_data is None or not _nested_deeper(snap.done_data, MAX_NESTING))
    )


def _check_one(
    chart: ChartTables, snap: Any, where: str
) -> tuple[list[Node], list[tuple[ChartTables, Any, str]]]:
    def fail(message: str) -> SnapshotError:
        return SnapshotError(f"{where}: {message}" if where else message)

    if not isinstance(snap, Snapshot):
        raise fail(f"expected a Snapshot, got {type(snap).__name__}")
    if snap.chart_id != chart.id:
        raise fail(f"snapshot is for chart {snap.chart_id!r}, not {chart.id!r}")
    if snap.chart_version != chart.version:
        raise fail(
            f"snapshot is for version {snap.chart_version!r} of chart {chart.id!r},"
            f" this is version {chart.version!r}"
        )
    by_id = chart.nodes_by_id
    fmt, version, counter = snap.format, snap.version, snap.send_counter
    if type(version) is not int or version < 0:
        raise fail(f"snapshot version must be an int >= 0, not {version!r}")
    if type(counter) is not int or counter < 0:
        raise fail(f"snapshot send_counter must be an int >= 0, not {counter!r}")
    if type(fmt) is not int or not 1 <= fmt <= SNAPSHOT_FORMAT:
        raise fail(
            f"unknown snapshot format {fmt!r} (this statefleet reads 1 to {SNAPSHOT_FORMAT})"
        )
    if type(snap.status) is not str or snap.status not in STATUSES:
        raise fail(f"unknown status {snap.status!r} (one of {', '.join(sorted(STATUSES))})")
    if type(snap.session_id) is not str:
        raise fail(f"session_id must be a string, not {type(snap.session_id).__name__}")
    if type(snap.context) is not dict:
        raise fail(f"context must be a dict, not {type(snap.context).__name__}")
    if _nested_deeper(snap.context, MAX_NESTING):
        raise fail(f"context is nested deeper than {MAX_NESTING} levels")
    if snap.done_data is not None and _nested_deeper(snap.done_data, MAX_NESTING):
        raise fail(f"done_data is nested deeper than {MAX_NESTING} levels")
    nodes = _check_configuration(chart, snap, fail)
    # (empty collections need no checking: restoring treats any empty value as empty)
    if snap.history:
        _check_history(by_id, snap.history, fail)
    if snap.bound:
        for sid in _tuple_of_str(snap.bound, "bound", fail):
            if sid not in by_id:
                raise fail(f"bound names unknown state {sid!r}")
    if not snap.pending and not snap.invocations and not snap.children:
        return nodes, []
    members = set(nodes)
    if snap.pending:
        _check_pending(by_id, members, snap.pending, fail)
    return nodes, _check_invocations(by_id, members, snap, where, fail)


def _tuple_of_str(value: Any, name: str, fail: Callable[[str], SnapshotError]) -> tuple[str, ...]:
    if not isinstance(value, tuple | list) or not all(type(v) is str for v in value):
        raise fail(f"{name} must be a sequence of state ids")
    if len(set(value)) != len(value):
        dup = next(v for i, v in enumerate(value) if v in value[:i])
        raise fail(f"{name} names {dup!r} twice")
    return tuple(value)


def _check_configuration(
    chart: ChartTables, snap: Snapshot, fail: Callable[[str], SnapshotError]
) -> list[Node]:
    by_id = chart.nodes_by_id
    ids = snap.configuration
    if not isinstance(ids, tuple | list):
        raise fail("configuration must be a sequence of state ids")
    nodes: list[Node] = []
    for sid in ids:
        n = by_id.get(sid) if type(sid) is str else None
        if n is None or n.is_history:
            raise fail(f"snapshot names unknown state {sid!r} of chart {chart.id!r}")
        nodes.append(n)
    members = set(nodes)
    if len(members) != len(nodes):
        _tuple_of_str(ids, "configuration", fail)  # names the state listed twice
    for n in nodes:
        p = n.parent
        if p is not None and p.parent is not None and p not in members:
            raise fail(f"state {n.id!r} is active but its parent {p.id!r} is not")
        if n.is_compound:
            if _active_children(n, members) != 1:
                raise fail(f"compound state {n.id!r} needs exactly one active child")
        elif n.is_parallel and _active_children(n, members) != len(n.child_states):
            raise fail(f"parallel state {n.id!r} needs all its regions active")
    if nodes and _active_children(chart.root, members) != 1:
        raise fail("the configuration needs exactly one active top-level state")
    if not nodes and snap.status == "active":
        raise fail("an active snapshot needs a configuration")
    return nodes


def _active_children(node: Node, members: set[Node] | frozenset[Node]) -> int:
    count = 0
    for c in node.child_states:
        if c in members:
            count += 1
    return count


def _check_history(
    by_id: dict[str, Node], history: Any, fail: Callable[[str], SnapshotError]
) -> None:
    if not isinstance(history, dict):
        raise fail("history must be a dict of history state ids")
    for hid, value in history.items():
        h = by_id.get(hid) if type(hid) is str else None
        if h is None or not h.is_history:
            raise fail(f"snapshot has history for unknown history state {hid!r}")
        parent = h.parent
        assert parent is not None  # the compiler gives every history state a parent
        remembered: list[Node] = []
        for sid in _tuple_of_str(value, f"history {hid!r}", fail):
            n = by_id.get(sid)
            if n is None or n.is_history:
                raise fail(f"history {hid!r} remembers unknown state {sid!r}")
            inside = n.is_descendant_of(parent) if h.history_deep else n.parent is parent
            if not inside:
                kind = "a descendant" if h.history_deep else "a child"
                raise fail(
                    f"history {hid!r} remembers {sid!r}, which is not {kind} of {parent.id!r}"
                )
            remembered.append(n)
        # re-entering the remembered states (each with its ancestors up to the parent) must
        # give a legal configuration: no two children of one compound state, no state
        # remembered together with one of its own ancestors
        closure: set[Node] = set()
        for n in remembered:
            closure.update(a for a in n.ancestors if a.is_descendant_of(parent))
        for n in remembered:
            if n in closure:
                raise fail(f"history {hid!r} remembers {n.id!r} and one of its descendants")
        closure.update(remembered)
        for n in (parent, *closure):
            if n.is_compound and _active_children(n, closure) > 1:
                raise fail(
                    f"history {hid!r} remembers two children of {n.id!r}, which is not parallel"
                )


def _check_pending(
    by_id: dict[str, Node],
    members: set[Node],
    pending: Any,
    fail: Callable[[str], SnapshotError],
) -> None:
    owners: dict[str, Node] | None = None  # the chart's delayed-transition events, if needed
    for sendid, d in _records(pending, DelayedEvent, "sendid", "pending event", fail):
        what = f"pending event {sendid!r}"
        if not _finite(d.due):
            raise fail(f"{what} is due at {d.due!r} (a finite number of seconds)")
        if d.repeat is not None and not (_finite(d.repeat) and d.repeat > 0):
            raise fail(f"{what} repeats every {d.repeat!r} (a finite number > 0)")
        if d.target is not None and type(d.target) is not str:
            raise fail(f"{what} has target {d.target!r} (a string or None)")
        ev = d.event
        if not isinstance(ev, EventData) or type(ev.name) is not str or not ev.name:
            raise fail(f"{what} has no event name")
        for field in ("sendid", "invokeid", "origin"):  # looked up by when it fires
            value = getattr(ev, field)
            if value is not None and type(value) is not str:
                raise fail(f"{what} has event {field} {value!r} (a string or None)")
        if _nested_deeper(ev.data, MAX_NESTING):
            raise fail(f"{what} has data nested deeper than {MAX_NESTING} levels")
        if owners is None:
            owners = _after_owners(by_id)
        if ev.name.startswith(_AFTER) or ev.name in owners:
            # a chart's own ``after`` timer (the core's ``$after.<i>.<state>`` or a name a
            # reader gave it, e.g. XState's): scheduled by entering its state, cancelled on exit
            owner = owners.get(ev.name)
            if owner is None or sendid != ev.name:
                raise fail(f"{what} is a delayed transition {ev.name!r} the chart does not have")
            if owner not in members:
                raise fail(f"{what} belongs to state {owner.id!r}, which is not active")


_AFTER = "$after."
_R = TypeVar("_R", DelayedEvent, InvocationRecord)


def _records(
    items: Any, cls: type[_R], key: str, what: str, fail: Callable[[str], SnapshotError]
) -> Iterator[tuple[str, _R]]:
    """The records of a sequence field, each of type ``cls`` with a unique non-empty ``key``."""
    if not isinstance(items, tuple | list):
        raise fail(f"{what}s must be a sequence of {cls.__name__}")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, cls):
            raise fail(f"a {what} is a {type(item).__name__}, not a {cls.__name__}")
        value = getattr(item, key)
        if type(value) is not str or not value:
            raise fail(f"a {what} has {key} {value!r} (a non-empty string)")
        if value in seen:
            raise fail(f"{what} {value!r} appears twice")
        seen.add(value)
        yield value, item


def _after_owners(by_id: dict[str, Node]) -> dict[str, Node]:
    """The state declaring each delayed-transition event of the chart."""
    return {ev: node for node in by_id.values() for ev in node.after_events}


def _nested_deeper(value: Any, limit: int) -> bool:
    """Are there containers in ``value`` nested more than ``limit`` deep? (Iterative: any
    depth is measured without recursion.)"""
    t = type(value)
    if t is not dict and t is not list and t is not tuple:
        return False  # the common case: a scalar, or nothing
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return True
        for x in v.values() if type(v) is dict else v:
            tx = type(x)
            if tx is dict or tx is list or tx is tuple:
                stack.append((x, depth + 1))
    return False


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _check_invocations(
    by_id: dict[str, Node],
    members: set[Node],
    snap: Snapshot,
    where: str,
    fail: Callable[[str], SnapshotError],
) -> list[tuple[ChartTables, Any, str]]:
    specs: dict[str, Any] = {}
    for invokeid, rec in _records(
        snap.invocations, InvocationRecord, "invokeid", "invocation", fail
    ):
        what = f"invocation {invokeid!r}"
        st = by_id.get(rec.state) if type(rec.state) is str else None
        if st is None or st.is_history:
            raise fail(f"snapshot has unknown invocation {invokeid!r} (state {rec.state!r})")
        if type(rec.index) is not int or not 0 <= rec.index < len(st.invokes):
            raise fail(
                f"snapshot has unknown invocation {invokeid!r}: state {st.id!r} declares"
                f" {len(st.invokes)} invocation(s), not one at index {rec.index!r}"
            )
        if st not in members:
            raise fail(f"{what} belongs to state {st.id!r}, which is not active")
        specs[invokeid] = st.invokes[rec.index]
    if not isinstance(snap.children, dict):
        raise fail("children must be a dict of snapshots by invoke id")
    todo: list[tuple[ChartTables, Any, str]] = []
    for invokeid, child in snap.children.items():
        spec = specs.get(invokeid) if type(invokeid) is str else None
        if spec is None:
            raise fail(f"child {invokeid!r} belongs to no recorded invocation")
        if not isinstance(child, Snapshot):
            raise fail(f"child {invokeid!r} is a {type(child).__name__}, not a Snapshot")
        src = spec.src
        if isinstance(src, ChartTables):
            todo.append((src, child, f"{where}{'.' if where else ''}children[{invokeid!r}]"))
    return todo
