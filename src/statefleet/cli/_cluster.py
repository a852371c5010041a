"""``statefleet inspect postgresql://...``: a PostgreSQL fleet's nodes, shard owners and
lease ages, and its actor count (read-only)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["is_postgres", "show_cluster"]


def is_postgres(where: str) -> bool:
    """Is ``where`` a PostgreSQL connection string (not a SQLite file)?"""
    return where.startswith(("postgresql://", "postgres://"))


async def _read(dsn: str, schema: str) -> dict[str, Any]:
    from statefleet.persistence import PostgresStore

    async with PostgresStore(dsn, schema=schema) as store:
        members = await store.members()
        leases = await store.leases()
        total = await store.count_actors()
    owners: dict[str, dict[str, Any]] = {}
    for le in leases:
        who = "(none)" if le.expired else str(le.owner)
        o = owners.setdefault(who, {"owner": who, "shards": [], "oldest_lease_age": 0.0})
        o["shards"].append(le.shard)
        if not le.expired:
            o["oldest_lease_age"] = max(o["oldest_lease_age"], round(le.age, 3))
    return {
        "nodes": [
            {"node": m.node, "heartbeat_age": round(m.heartbeat_age, 3), "info": m.info}
            for m in members
        ],
        "owners": sorted(owners.values(), key=lambda o: str(o["owner"])),
        "shards": [
            {
                "shard": le.shard,
                "owner": None if le.expired else le.owner,
                "epoch": le.epoch,
                "lease_age": round(le.age, 3),
            }
            for le in leases
        ],
        "actors": total,
    }


def show_cluster(out: Console, args: argparse.Namespace) -> int:
    """Print the cluster of ``args.db`` (a DSN) in ``args.schema``; exit status 0."""
    data = asyncio.run(_read(args.db, args.schema))
    if args.json:
        print(json.dumps(data, default=str))
        return 0
    nodes = Table(title=f"{len(data['nodes'])} node(s)")
    for col in ("node", "heartbeat age (s)", "info"):
        nodes.add_column(col)
    for n in data["nodes"]:
        nodes.add_row(n["node"], f"{n['heartbeat_age']:.1f}", n["info"])
    out.print(nodes)
    owners = Table(title=f"shard owners ({data['actors']:,} actors stored)")
    for col in ("owner", "shards", "oldest lease age (s)"):
        owners.add_column(col)
    for o in data["owners"]:
        owners.add_row(o["owner"], str(len(o["shards"])), f"{o['oldest_lease_age']:.1f}")
    out.print(owners)
    return 0
