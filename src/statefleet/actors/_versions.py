"""Chart versions side by side, and migrations between them (durable actors).

A system with a durable store registers charts by id and version, several versions of one
id side by side. New entities start on the newest registered version (the last one
registered); a stored actor runs on the version that stored it while that version is
registered (a deploy drains the old version: its actors finish on it), unless a migration
is registered from its version: then it is moved forward when it is loaded.

A migration is a function from a snapshot of the old version to a snapshot of the new one,
or a state map (``{"pending": "awaiting_payment"}``: the old state ids renamed, in the
configuration and in history). The migrated snapshot is checked against the new chart (a
legal configuration, known states, ...). A migration that fails, or makes a snapshot that
does not fit, leaves the actor on its version (when that version is still registered; else
its activation fails with a :class:`~statefleet.SnapshotError`) and is published as an
:class:`~statefleet.core.ActorEscalated` record; the stored row is not touched either way
until the actor commits its next step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from statefleet.actors._models import ChartClass, chart_and_class
from statefleet.core import ActorError, Chart, Snapshot

__all__ = ["ChartVersions", "Migration"]

#: a snapshot of one version to a snapshot of the next, or old state id -> new state id
Migration = Callable[[Snapshot], Snapshot] | Mapping[str, str]


def _apply(migration: Migration, snap: Snapshot) -> Snapshot:
    if callable(migration):
        out = migration(snap)
        if not isinstance(out, Snapshot):
            raise TypeError(f"a migration returns a Snapshot, not {type(out).__name__}")
        return out
    rename = dict(migration)
    return msgspec.structs.replace(
        snap,
        configuration=tuple(rename.get(s, s) for s in snap.configuration),
        history={
            rename.get(k, k): tuple(rename.get(s, s) for s in v)
            for k, v in (snap.history or {}).items()
        },
    )


class ChartVersions:
    """The charts a durable system runs: every registered version of each id, and the
    migrations between them."""

    def __init__(self) -> None:
        #: the newest registered chart of each id (new entities start on it)
        self.newest: dict[str, Chart] = {}
        #: every registered version of each id
        self.versions: dict[str, dict[str, Chart]] = {}
        self._migrations: dict[tuple[str, str], tuple[str, Migration]] = {}
        #: the chart classes (``StateChart`` subclasses) of the versions written as classes
        self._classes: dict[tuple[str, str], ChartClass] = {}

    def register(self, chart: Chart | Any) -> Chart:
        """Register ``chart``, a compiled chart or a chart class (a new version of its id
        becomes the newest); returns the compiled chart."""
        chart, cls = chart_and_class(chart, "register")
        key = (chart.id, chart.version)
        if cls is not None:
            self._classes[key] = cls
        elif self.versions.get(chart.id, {}).get(chart.version) is not chart:
            self._classes.pop(key, None)  # another chart object: actors run it plainly
        known = self.versions.setdefault(chart.id, {})
        newest = self.newest.get(chart.id)
        old = known.get(chart.version)
        known[chart.version] = chart
        if old is None or newest is None or newest.version == chart.version:
            self.newest[chart.id] = chart  # a new version (or a new object for the newest)
        return chart

    def class_of(self, chart: Chart) -> ChartClass | None:
        """The chart class registered for ``chart`` (its actors run an instance of it)."""
        cls = self._classes.get((chart.id, chart.version))
        return cls if cls is not None and cls.chart is chart else None

    def get(self, chart_id: str, version: str) -> Chart | None:
        """The registered chart ``chart_id`` at ``version``."""
        return self.versions.get(chart_id, {}).get(version)

    def add_migration(
        self, chart_id: str, from_version: str, to_version: str, migration: Migration
    ) -> None:
        """Move stored actors of ``chart_id`` from ``from_version`` to ``to_version`` when
        they are loaded (``to_version`` must be registered by then)."""
        for name, value in (("chart_id", chart_id), ("from", from_version), ("to", to_version)):
            if type(value) is not str or not value:
                raise ActorError(f"a migration's {name} is a non-empty string, not {value!r}")
        if from_version == to_version:
            raise ActorError(f"a migration of {chart_id!r} must change its version")
        if not callable(migration) and not isinstance(migration, Mapping):
            raise ActorError(
                "a migration is a function from snapshot to snapshot or a state map,"
                f" not {type(migration).__name__}"
            )
        self._migrations[(chart_id, from_version)] = (to_version, migration)

    def migrate(self, snap: Snapshot) -> Snapshot | None:
        """``snap`` moved forward through the registered migrations (checked against each
        target chart), or None when none applies. Raises what a migration raises, and
        :class:`~statefleet.SnapshotError` for a result that does not fit its chart."""
        moved: Snapshot | None = None
        seen: set[str] = set()
        current = snap
        while True:
            step = self._migrations.get((current.chart_id, current.chart_version))
            if step is None or current.chart_version in seen:
                return moved
            seen.add(current.chart_version)
            to_version, migration = step
            target = self.get(current.chart_id, to_version)
            if target is None:
                return moved  # not registered (yet): it stays where it is
            out = _apply(migration, current)
            out = msgspec.structs.replace(out, chart_id=target.id, chart_version=target.version)
            target.validate(out)  # a legal configuration of the new chart, or SnapshotError
            current = moved = out

    def describe(self, snap: Snapshot, error: BaseException) -> str:
        """The reason a migration of ``snap`` failed."""
        step = self._migrations.get((snap.chart_id, snap.chart_version))
        to = step[0] if step is not None else "?"
        return (
            f"migrating chart {snap.chart_id!r} from version {snap.chart_version!r} to"
            f" {to!r} failed: {type(error).__name__}: {error}"
        )
