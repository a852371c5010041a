"""``statefleet migrate DB --chart order --to 2 --charts mod:attr [--dry-run]``: move stored
actors of a chart to another version, through the runtime's migrations.

The charts of ``--charts`` are registered by id and version, as an ``ActorSystem`` registers
them; ``--migration mod:attr`` names the migration (a function from an old snapshot to a new
one, or a state map ``{old state id: new state id}``; none: the state ids are unchanged) from
every other stored version (``--from`` picks one). Each stored actor of the chart not on the
target version is migrated and checked against the target chart (a legal configuration,
known states) exactly as on activation. With ``--dry-run`` nothing is written: each actor is
reported as moving or failing (and why). Without it, the actors that move are committed on
the new version (a version-checked commit: an actor that a running system changed meanwhile
is reported, not overwritten); those that fail stay as they are. On SQLite the store's writer
lock keeps a running system and this command apart. ``DB`` may also be a ``postgresql://``
connection string (``--schema`` names the fleet's schema). A node holds the actors of its
shards in memory, so the command refuses to write while any node holds a shard lease (stop
the nodes first; a running fleet migrates on activation instead: register the new version and
the migration in the nodes' ``ActorSystem``); ``--dry-run`` reads a running fleet.

Exit status: 0 when every actor moved (or would), 1 when some failed or the store or a chart
cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec

from statefleet.actors._versions import ChartVersions
from statefleet.cli._cluster import is_postgres
from statefleet.cli._common import fail, import_attribute, load_chart
from statefleet.core import Chart, ChartDefinitionError, StatefleetError

__all__ = ["add_parser", "run"]

#: stored actors read per query
PAGE = 500


def add_parser(sub: Any) -> None:
    """Register the ``migrate`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "migrate",
        help="move stored actors of a chart to another version",
        description=(
            "Migrate the stored actors of --chart to version --to with the charts of --charts"
            " and the migration of --migration (a function from snapshot to snapshot, or a"
            " state map; none: state ids unchanged). --dry-run reports what would move and"
            " what would fail, and writes nothing."
        ),
        epilog=(
            "examples:\n"
            "  statefleet migrate orders.db --chart order --to 2 --charts app:order_v2 --dry-run\n"
            "  statefleet migrate orders.db --chart order --to 2 --charts app:order_v2"
            " --migration app:order_1_to_2\n"
            "  statefleet migrate postgresql://fleet@db/app --chart order --to 2"
            " --charts app:order_v2 --dry-run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("db", metavar="DB", help="the SQLite file of the fleet, or a postgresql:// DSN")
    p.add_argument("--chart", required=True, metavar="ID", help="the chart id to migrate")
    p.add_argument("--to", required=True, metavar="VERSION", help="the target version")
    p.add_argument(
        "--charts",
        action="append",
        required=True,
        metavar="REF",
        help="a chart file or module:attribute (repeat for several; the target version too)",
    )
    p.add_argument(
        "--migration", metavar="REF", help="module:attribute of the migration function or map"
    )
    p.add_argument("--from", dest="from_version", metavar="VERSION", help="only this version")
    p.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    p.add_argument(
        "--schema", default="statefleet", help="with a postgresql:// DB: the fleet's schema"
    )
    p.set_defaults(run=run)


def _migration(ref: str | None) -> Any:
    if ref is None:
        return {}
    obj = import_attribute(ref)
    if not callable(obj) and not isinstance(obj, Mapping):
        raise ChartDefinitionError(
            f"a migration is a function from snapshot to snapshot or a state map, not a"
            f" {type(obj).__name__}",
            path=ref,
        )
    return obj


def run(args: argparse.Namespace) -> int:
    """Report (and unless ``--dry-run`` make) the moves; see the module docstring."""
    versions = ChartVersions()
    for ref in args.charts:
        versions.register(load_chart(ref))
    target = versions.get(args.chart, args.to)
    if target is None:
        known = sorted(versions.versions.get(args.chart, {}))
        fail(
            "migrate",
            f"--charts has no chart {args.chart!r} at version {args.to!r}"
            f" (it has {', '.join(map(repr, known)) or 'no version of it'})",
        )
        return 1
    migration = _migration(args.migration)
    moved, failed = asyncio.run(_migrate(args, versions, target, migration))
    verb = "would move" if args.dry_run else "moved"
    print(
        f"{moved + failed} actor(s) of chart {args.chart!r} not on version {args.to!r}:"
        f" {moved} {verb}, {failed} {'would fail' if args.dry_run else 'failed'}"
        + (" (dry run: nothing written)" if args.dry_run else "")
    )
    return 1 if failed else 0


async def _migrate(
    args: argparse.Namespace, versions: ChartVersions, target: Chart, migration: Any
) -> tuple[int, int]:
    from statefleet.persistence import PostgresStore, SQLiteStore, Store, make_commit

    moved = failed = 0
    added: set[str] = set()
    opened: Store = (
        PostgresStore(args.db, schema=args.schema) if is_postgres(args.db) else SQLiteStore(args.db)
    )
    async with opened as store:
        if isinstance(store, PostgresStore) and not args.dry_run:
            held = sorted({str(le.owner) for le in await store.leases() if not le.expired})
            if held:
                raise StatefleetError(
                    f"node(s) {', '.join(held)} hold shards of this fleet and keep its actors in"
                    " memory: stop them first (or register the migration in the nodes'"
                    " ActorSystem, which migrates actors as they activate); --dry-run reads a"
                    " running fleet"
                )
        after = ""
        while ids := await store.actor_ids(after=after, limit=PAGE):
            after = ids[-1]
            for actor_id, loaded in (await store.load_many(ids)).items():
                if isinstance(loaded, StatefleetError):
                    print(f"{actor_id}: cannot be read: {loaded}")
                    failed += 1
                    continue
                record = loaded.record
                if record is None:
                    continue
                snap = record.snapshot
                if snap.chart_id != args.chart or snap.chart_version == args.to:
                    continue
                if args.from_version is not None and snap.chart_version != args.from_version:
                    continue
                if snap.chart_version not in added:
                    added.add(snap.chart_version)
                    versions.add_migration(args.chart, snap.chart_version, args.to, migration)
                label = f"{actor_id}: {snap.chart_version} -> {args.to}"
                try:
                    out = versions.migrate(snap)
                    if out is None or out.chart_version != target.version:
                        raise StatefleetError("no migration reaches the target version")
                except Exception as exc:
                    failed += 1
                    print(
                        f"{label} {'would fail' if args.dry_run else 'failed'}: "
                        f"{versions.describe(snap, exc)}"
                    )
                    continue
                if args.dry_run:
                    moved += 1
                    print(f"{label} would move ({', '.join(out.configuration)})")
                    continue
                new = msgspec.structs.replace(out, version=snap.version + 1)
                try:
                    await store.commit(make_commit(actor_id, new, previous=snap))
                except StatefleetError as exc:
                    failed += 1
                    print(f"{label} failed: {exc}")
                    continue
                moved += 1
                print(f"{label} moved ({', '.join(out.configuration)})")
    return moved, failed
