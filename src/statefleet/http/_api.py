"""What the routes do, apart from HTTP: read and drive the actors of one running system.

:class:`Api` holds the system and its store and turns requests into calls of the public
actor and store APIs; the route handlers (``_routes``) only translate."""

from __future__ import annotations

from typing import Any

import msgspec

from statefleet.actors import ActorSystem
from statefleet.core import Chart, EventData, Snapshot
from statefleet.http._models import ActorDetail, ActorSummary, MachineInfo, TimerInfo
from statefleet.http._problems import ApiError
from statefleet.persistence import ActorRecord, Store

__all__ = ["Api", "builtins", "event", "leaves", "machine_info", "summary"]

#: how many machines ``POST /api/v1/machines`` may register in one server process
MAX_MACHINES = 100

#: how many stored ids one listing request may look at (filters that match rarely return
#: fewer items and a cursor to go on from)
SCAN_FACTOR = 10


def leaves(chart: Chart | None, configuration: tuple[str, ...]) -> list[str]:
    """The active atomic states of a configuration (all of it when the chart is unknown)."""
    if chart is None:
        return list(configuration)
    nodes = chart.nodes_by_id
    return [s for s in configuration if (n := nodes.get(s)) is None or n.is_atomic]


def builtins(value: Any) -> Any:
    """``value`` as JSON-able builtins (what msgspec cannot convert is shown by repr)."""
    return msgspec.to_builtins(value, enc_hook=repr)


class Api:
    """The HTTP API's view of a running system: ``read_only`` refuses every write."""

    def __init__(self, system: ActorSystem, store: Store, *, read_only: bool) -> None:
        self.system = system
        self.store = store
        self.read_only = read_only
        #: charts registered through the API (pystator machines), by id and version
        self.machines: dict[tuple[str, str], Chart] = {}

    def check_writable(self) -> None:
        """Refuse a write in read-only mode."""
        if self.read_only:
            raise ApiError(403, "ReadOnly", "this server is read-only (--read-only)")

    # -- charts -------------------------------------------------------------------------------
    def chart(self, chart_id: str, version: str | None = None) -> Chart:
        """The registered chart ``chart_id`` (at ``version``, when given)."""
        chart = self.system.charts.get(chart_id)
        if version is not None and (chart is None or chart.version != version):
            chart = self.machines.get((chart_id, version))
        if chart is None:
            at = f" version {version!r}" if version is not None else ""
            raise ApiError(404, "UnknownChart", f"no chart {chart_id!r}{at} is registered")
        return chart

    def register(self, chart: Chart) -> None:
        """Register a chart made through the API; the same id and version twice is a 409."""
        self.check_writable()
        known = self.system.charts.get(chart.id)
        if (chart.id, chart.version) in self.machines or (
            known is not None and known.version == chart.version
        ):
            raise ApiError(
                409,
                "MachineExists",
                f"machine {chart.id!r} version {chart.version!r} is already registered"
                " (give the changed machine a new version)",
            )
        if len(self.machines) >= MAX_MACHINES:
            raise ApiError(
                409,
                "TooManyMachines",
                f"this server registers at most {MAX_MACHINES} machines through the API"
                " (register the others with --charts)",
            )
        self.system.register(chart)
        self.machines[(chart.id, chart.version)] = chart

    # -- actors -------------------------------------------------------------------------------
    async def record(self, actor_id: str) -> ActorRecord:
        """The stored actor ``actor_id`` (404 when there is none; nothing is created)."""
        loaded = await self.store.load(actor_id)
        if loaded.record is None:
            raise ApiError(404, "UnknownActor", f"no actor {actor_id!r}")
        return loaded.record

    async def find(self, actor_id: str) -> ActorRecord | None:
        """The stored actor ``actor_id``, or ``None``."""
        return (await self.store.load(actor_id)).record

    def chart_of(self, snap: Snapshot) -> Chart | None:
        """The registered chart a stored snapshot runs on (``None``: not registered)."""
        chart = self.system.charts.get(snap.chart_id)
        if chart is not None and chart.version == snap.chart_version:
            return chart
        return self.machines.get((snap.chart_id, snap.chart_version), chart)

    async def target(self, actor_id: str, chart_id: str | None) -> tuple[Chart, ActorRecord | None]:
        """The chart to address ``actor_id`` with, and its stored record: a stored actor
        runs its own chart (``chart_id``, when given, must name it); a new one needs
        ``chart_id``."""
        record = await self.find(actor_id)
        if record is None:
            if chart_id is None:
                raise ApiError(
                    404,
                    "UnknownActor",
                    f"no actor {actor_id!r} (name a chart to create it)",
                )
            return self.chart(chart_id), None
        snap = record.snapshot
        if chart_id is not None and chart_id != snap.chart_id:
            raise ApiError(
                409,
                "ChartMismatch",
                f"actor {actor_id!r} runs chart {snap.chart_id!r}, not {chart_id!r}",
            )
        chart = self.chart_of(snap)
        if chart is None:
            raise ApiError(
                409,
                "ChartNotRegistered",
                f"actor {actor_id!r} runs chart {snap.chart_id!r}, which is not registered",
            )
        return chart, record

    @staticmethod
    def check_active(actor_id: str, record: ActorRecord | None) -> None:
        """Refuse an event for a stored actor that has finished (409)."""
        if record is not None and record.status != "active":
            raise ApiError(
                409,
                "ActorFinished",
                f"actor {actor_id!r} is {record.status}: it takes no more events",
            )

    async def listing(
        self,
        *,
        chart: str | None,
        state: str | None,
        status: str | None,
        cursor: str,
        limit: int,
    ) -> tuple[list[ActorSummary], str | None]:
        """A page of stored actors in id order after ``cursor`` and the cursor to go on
        from (``None`` at the end)."""
        items: list[ActorSummary] = []
        budget = limit * SCAN_FACTOR
        while len(items) < limit and budget > 0:
            # chart, state and status are indexed in every store: the page is read from the
            # index; the checks below only guard against a row that changed meanwhile
            ids = await self.store.actor_ids(
                status=status,
                chart=chart,
                state=state,
                after=cursor,
                limit=min(budget, max(limit, 100)),
            )
            if not ids:
                return items, None
            budget -= len(ids)
            loaded = await self.store.load_many(ids)
            for aid in ids:
                cursor = aid
                got = loaded.get(aid)
                if got is None or isinstance(got, BaseException) or got.record is None:
                    continue
                snap = got.record.snapshot
                if chart is not None and snap.chart_id != chart:
                    continue
                if state is not None and state not in snap.configuration:
                    continue
                items.append(summary(aid, got.record))
                if len(items) == limit:
                    break
        more = await self.store.actor_ids(
            status=status, chart=chart, state=state, after=cursor, limit=1
        )
        return items, cursor if more else None

    async def detail(self, actor_id: str) -> ActorDetail:
        """Everything about the stored actor ``actor_id``."""
        record = await self.record(actor_id)
        snap = record.snapshot
        chart = self.chart_of(snap)
        enabled: list[str] = []
        if chart is not None and snap.status == "active":
            enabled = await self.system.ref(chart, actor_id).enabled_events()
        return ActorDetail(
            **msgspec.structs.asdict(summary(actor_id, record)),
            context=builtins(snap.context),
            timers=[
                TimerInfo(sendid=d.sendid, event=d.event.name, due=d.due, target=d.target)
                for d in snap.pending
            ],
            enabled_events=enabled,
            snapshot=builtins(snap),
        )


def summary(actor_id: str, record: ActorRecord) -> ActorSummary:
    """The listing row of a stored actor."""
    snap = record.snapshot
    return ActorSummary(
        id=actor_id,
        chart_id=snap.chart_id,
        chart_version=snap.chart_version,
        version=record.version,
        status=record.status,
        configuration=list(snap.configuration),
    )


def event(name: str, data: Any, trace: dict[str, str] | None) -> EventData:
    """The event a request sends."""
    return EventData(name, data=data, trace=trace)


def machine_info(chart: Chart) -> MachineInfo:
    """A chart as the machines listing shows it: its states and the events its transitions
    name, sorted."""
    nodes = chart.nodes_by_id
    triggers = {d for n in nodes.values() for t in n.transitions for d in t.descriptors if d != "*"}
    return MachineInfo(
        name=chart.id,
        version=chart.version,
        states=[i for i, n in nodes.items() if n.parent is not None],
        triggers=sorted(triggers),
    )
