"""What the inspector page reads that the actor routes do not give: the fleet's counts per
chart and state, and a chart's structure to draw.

Counting reads the store in pages (``actor_ids`` then ``load_many``), never all of it at
once; one count is shared by the requests of the next few seconds so a page left open on a
large fleet costs one scan per :data:`COUNT_TTL`, and a scan stops after ``budget`` actors
and says so (``complete: false``).
"""

from __future__ import annotations

import time
from collections import Counter

import anyio
import msgspec

from statefleet.core import Chart
from statefleet.persistence import Store

__all__ = [
    "COUNT_TTL",
    "ChartCounts",
    "ChartStructure",
    "Overview",
    "OverviewCache",
    "StateBox",
    "TransitionLine",
    "count_fleet",
    "structure",
]

#: seconds one fleet count is reused for
COUNT_TTL = 5.0
#: how many actors one count reads at most
DEFAULT_BUDGET = 200_000
_PAGE = 1000


class ChartCounts(msgspec.Struct, kw_only=True):
    """The actors of one chart: how many, per status and per active state."""

    chart_id: str
    total: int
    statuses: dict[str, int]
    states: dict[str, int]


class Overview(msgspec.Struct, kw_only=True):
    """``GET /api/v1/inspector/overview``: the fleet per chart. ``total`` is every stored
    actor; ``scanned`` how many were counted (``complete`` false when the scan stopped at its
    budget, the counts then cover the first ``scanned`` ids); ``at`` when the scan started
    (wall seconds: later changes may be missing)."""

    total: int
    active: int
    scanned: int
    complete: bool
    charts: list[ChartCounts]
    at: float


class StateBox(msgspec.Struct, kw_only=True):
    """One state of a chart: ``kind`` is ``state`` (atomic or compound), ``parallel``,
    ``final`` or ``history``; ``children`` nested in document order."""

    id: str
    kind: str
    initial: list[str]
    children: list[StateBox]


class TransitionLine(msgspec.Struct, kw_only=True):
    """A transition: its source, events (``after`` for a delayed one), targets and guard."""

    source: str
    events: list[str]
    targets: list[str]
    guard: str | None


class ChartStructure(msgspec.Struct, kw_only=True):
    """``GET /api/v1/inspector/charts/{id}``: the chart's states and transitions."""

    id: str
    version: str
    states: list[StateBox]
    transitions: list[TransitionLine]


async def count_fleet(store: Store, *, budget: int = DEFAULT_BUDGET) -> Overview:
    """Count the stored actors per chart, status and active state (a scan of at most
    ``budget`` actors, a page at a time)."""
    started = time.time()
    total = await store.count_actors()
    active = await store.count_actors("active")
    per_chart: dict[str, tuple[Counter[str], Counter[str]]] = {}
    scanned = 0
    cursor = ""
    complete = True
    while True:
        if scanned >= budget:
            complete = not await store.actor_ids(after=cursor, limit=1)
            break
        ids = await store.actor_ids(after=cursor, limit=min(_PAGE, budget - scanned))
        if not ids:
            break
        cursor = ids[-1]
        loaded = await store.load_many(ids)
        for got in loaded.values():
            if isinstance(got, BaseException) or got.record is None:
                continue
            snap = got.record.snapshot
            statuses, states = per_chart.setdefault(snap.chart_id, (Counter(), Counter()))
            statuses[got.record.status] += 1
            states.update(snap.configuration)
            scanned += 1
        await anyio.lowlevel.checkpoint()
    charts = [
        ChartCounts(
            chart_id=cid,
            total=sum(statuses.values()),
            statuses=dict(statuses.most_common()),
            states=dict(states.most_common()),
        )
        for cid, (statuses, states) in sorted(per_chart.items())
    ]
    return Overview(
        total=total,
        active=active,
        scanned=scanned,
        complete=complete,
        charts=charts,
        at=started,
    )


class OverviewCache:
    """One fleet count shared for :data:`COUNT_TTL` seconds; concurrent requests wait for
    the same scan instead of starting their own."""

    def __init__(self, ttl: float = COUNT_TTL) -> None:
        self.ttl = ttl
        self._lock = anyio.Lock()
        self._value: Overview | None = None
        self._when = 0.0

    async def get(self, store: Store) -> Overview:
        """The current count (scanning when the last one is older than ``ttl``)."""
        async with self._lock:
            now = time.monotonic()
            if self._value is None or now - self._when >= self.ttl:
                self._value = await count_fleet(store)
                self._when = time.monotonic()
            return self._value


def _event_label(descriptor: str) -> str:
    """An event as a reader wrote it: a delayed transition's internal event is ``after``."""
    return "after" if descriptor.startswith("$after.") else descriptor


def structure(chart: Chart) -> ChartStructure:
    """The chart's states (nested) and transitions, to draw."""

    def box(node_id: str) -> StateBox:
        node = chart.nodes_by_id[node_id]
        kind = "parallel" if node.is_parallel else node.kind
        initial = [t.id for t in node.initial.targets] if node.initial is not None else []
        return StateBox(
            id=node.id,
            kind=kind,
            initial=initial,
            children=[box(c.id) for c in node.children],
        )

    transitions = [
        TransitionLine(
            source=t.source.id,
            events=[_event_label(d) for d in t.descriptors],
            targets=[n.id for n in t.targets],
            guard=t.cond_label or None,
        )
        for node in chart.nodes_by_id.values()
        for t in node.transitions
    ]
    root = chart.root
    return ChartStructure(
        id=chart.id,
        version=chart.version,
        states=[box(c.id) for c in root.children],
        transitions=transitions,
    )
