"""Cluster primitives on PostgreSQL: shards, members, shard leases with fencing epochs.

Theory of operation
-------------------
Entities map to a fixed number of shards by a stable hash of their id (:func:`shard_of`;
the shard count is stored with the schema, so every node agrees). Each shard has at most one
owner at a time: a row of ``shard_leases`` holding the owner's node name, a *fencing epoch*
and an expiry time. A node takes a shard that is free, expired, or its own
(:meth:`Cluster.acquire`), which always increments the epoch; it keeps it by renewing before
the expiry (:meth:`Cluster.renew`, with the heartbeat), and hands it over on a clean stop
(:meth:`Cluster.release`).

The guarantee comes from the commit, not from the timing: every commit of a node reads the
lease rows of its actors' shards ``FOR SHARE`` inside its own transaction and is refused
(:class:`FencedError`, nothing written) unless the node is still the owner with the epoch it
acquired and the lease has not expired. A takeover updates the same row, so it waits for a
commit in flight and every later commit of the old owner sees the new epoch. A node that
paused past its lease (GC, SIGSTOP, a partition) therefore never commits again for that
shard, whatever its clock says. Expiry is measured by the database's clock
(``clock_timestamp()``), so the nodes' clocks do not matter; a test may give the store a
virtual ``clock`` instead, shared by the stores it runs.

This is the pattern of Orleans' membership table and Akka Cluster Sharding's coordinator
state in a database: no home-made consensus, the database's row locks order everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, Protocol

import msgspec

from statefleet.persistence._pg_errors import FencedError

__all__ = ["Cluster", "Lease", "Member", "read_leases", "read_members", "shard_key", "shard_of"]

#: what ``coalesce`` turns into the database's clock when the store has no virtual clock
_NOW = "coalesce($1::float8, extract(epoch from clock_timestamp()))"


def shard_key(actor_id: str) -> str:
    """The part of an actor id that picks its shard: up to its first ``/``, so the actors
    invoked by an entity (``order-7/payment``) live in the entity's shard."""
    return actor_id.split("/", 1)[0]


def shard_of(actor_id: str, shards: int) -> int:
    """The shard (``0 <= shard < shards``) of an actor: a stable hash (BLAKE2b) of its
    :func:`shard_key`, the same in every process and Python version."""
    if not isinstance(shards, int) or shards < 1:
        raise ValueError(f"the shard count is a positive int, not {shards!r}")
    digest = hashlib.blake2b(
        shard_key(actor_id).encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") % shards


class Lease(msgspec.Struct, frozen=True):
    """A shard's lease as the database holds it: ``owner`` (``None``: released) with
    fencing ``epoch``, valid until ``expires_at`` (seconds, the store's clock); ``age`` is
    how long ago the current owner acquired it."""

    shard: int
    owner: str | None
    epoch: int
    expires_at: float
    acquired_at: float
    now: float

    @property
    def expired(self) -> bool:
        """Has the lease run out (so another node may take it)?"""
        return self.owner is None or self.expires_at <= self.now

    @property
    def age(self) -> float:
        """Seconds since the current owner acquired the lease."""
        return self.now - self.acquired_at


class Member(msgspec.Struct, frozen=True):
    """A node of the cluster: when it joined and when it last sent a heartbeat."""

    node: str
    started_at: float
    heartbeat_at: float
    info: str
    now: float

    @property
    def heartbeat_age(self) -> float:
        """Seconds since the node's last heartbeat."""
        return self.now - self.heartbeat_at


#: runs ``fn`` with a connection of the store (reconnecting as the store does)
Runner = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


async def read_members(run: Runner, now: float | None) -> list[Member]:
    """The ``nodes`` table: every registered node, by name (``now``: a virtual clock's
    time, ``None`` for the database's)."""

    async def go(conn: _Connection) -> list[Any]:
        return await conn.fetch(
            f"SELECT node, started_at, heartbeat_at, info, {_NOW} FROM nodes ORDER BY node", now
        )

    return [Member(*r) for r in await run(go)]


async def read_leases(run: Runner, now: float | None) -> list[Lease]:
    """The ``shard_leases`` table, by shard."""

    async def go(conn: _Connection) -> list[Any]:
        return await conn.fetch(
            f"SELECT shard, owner, epoch, expires_at, acquired_at, {_NOW}"
            " FROM shard_leases ORDER BY shard",
            now,
        )

    return [Lease(*r) for r in await run(go)]


class _Connection(Protocol):
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def execute(self, query: str, *args: Any) -> str: ...


class Cluster:
    """One node's view of the cluster, made by ``PostgresStore(dsn, node=...)`` and found
    at ``store.cluster``: membership, the leases this node holds, and the fence every
    commit of the store passes through.

    ``lease_time`` is how long an acquired or renewed lease lasts; renew at least a few
    times per lease (``renew`` every ``lease_time / 3`` is the usual choice).
    """

    def __init__(
        self,
        node: str,
        *,
        shards: int,
        lease_time: float,
        run: Runner,
        clock: Callable[[], float] | None = None,
        ask_timeout: float | None = None,
    ) -> None:
        self.node = node
        self.shards = shards
        self.lease_time = lease_time
        #: how long the node runtime's cross-node ``ask`` waits for the owner's reply
        #: (``None``: three lease times, at least 30 s; a failover takes up to about two)
        self.ask_timeout = ask_timeout
        self._run = run
        self._clock = clock
        #: the shards this node holds, with the epoch it acquired each at
        self.held: dict[int, int] = {}
        #: the shards whose actors the node's actor system runs (set by its node runtime):
        #: the store's recovery reads (``pending_actors``, ``due_actors``, ``next_due``)
        #: without ``shards=`` read these only; ``None`` (no node runtime): every shard
        self.scope: frozenset[int] | None = None

    def __repr__(self) -> str:
        return f"<Cluster node={self.node!r} holds {len(self.held)}/{self.shards} shards>"

    def now(self) -> float | None:
        """The virtual clock's time (``None``: the database's clock is used)."""
        return None if self._clock is None else float(self._clock())

    def shard_of(self, actor_id: str) -> int:
        """The shard of ``actor_id`` in this cluster."""
        return shard_of(actor_id, self.shards)

    def _shards(self, shards: Iterable[int]) -> list[int]:
        out = sorted(set(shards))
        for s in out:
            if not isinstance(s, int) or not 0 <= s < self.shards:
                raise ValueError(f"shard {s!r} is not in 0..{self.shards - 1}")
        return out

    # -- membership ------------------------------------------------------------------------
    async def join(self, info: str = "") -> None:
        """Register this node (or refresh its row): it becomes a member with a heartbeat."""

        async def go(conn: _Connection) -> None:
            await conn.execute(
                f"INSERT INTO nodes (node, started_at, heartbeat_at, info) SELECT $2, n, n, $3"
                f" FROM (SELECT {_NOW} AS n) t ON CONFLICT (node) DO UPDATE SET"
                " started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,"
                " info = excluded.info",
                self.now(),
                self.node,
                str(info),
            )

        await self._run(go)

    async def leave(self) -> None:
        """Release every shard this node holds and remove it from the members."""
        await self.release(list(self.held))

        async def go(conn: _Connection) -> None:
            await conn.execute("DELETE FROM nodes WHERE node = $1", self.node)

        await self._run(go)

    async def members(self) -> list[Member]:
        """Every registered node, by name."""
        return await read_members(self._run, self.now())

    # -- leases -----------------------------------------------------------------------------
    async def acquire(self, shards: Iterable[int]) -> dict[int, int]:
        """Take the leases of ``shards`` that are free, expired or this node's own (a node
        restarted under its name), each at a new epoch; return ``{shard: epoch}`` for those
        taken (the others are held by other nodes). Shards this store holds already are
        left alone (``renew`` keeps them): taking them again would fence its own commits in
        flight. The node also heartbeats."""
        wanted = [s for s in self._shards(shards) if s not in self.held]
        if not wanted:
            return {}

        async def go(conn: _Connection) -> list[Any]:
            async with conn.transaction():  # type: ignore[attr-defined]
                rows = await conn.fetch(
                    f"WITH t AS (SELECT {_NOW} AS n)"
                    " INSERT INTO shard_leases AS l (shard, owner, epoch, expires_at, acquired_at)"
                    " SELECT s, $2, 1, t.n + $4, t.n FROM unnest($3::int[]) s, t"
                    " ON CONFLICT (shard) DO UPDATE SET owner = excluded.owner,"
                    " epoch = l.epoch + 1, expires_at = excluded.expires_at,"
                    " acquired_at = excluded.acquired_at"
                    " WHERE l.owner IS NULL OR l.owner = excluded.owner"
                    " OR l.expires_at <= excluded.acquired_at"
                    " RETURNING shard, epoch",
                    self.now(),
                    self.node,
                    wanted,
                    float(self.lease_time),
                )
                await self._heartbeat(conn)
                return rows

        taken = {int(s): int(e) for s, e in await self._run(go)}
        self.held.update(taken)
        return taken

    async def renew(self) -> set[int]:
        """Extend every lease this node still holds (and heartbeat); return the shards it
        lost (taken by another node at a later epoch, or expired: acquire them again)."""
        held = dict(self.held)

        async def go(conn: _Connection) -> list[Any]:
            async with conn.transaction():  # type: ignore[attr-defined]
                rows: list[Any] = []
                if held:
                    rows = await conn.fetch(
                        f"WITH t AS (SELECT {_NOW} AS n) UPDATE shard_leases l"
                        " SET expires_at = t.n + $5 FROM t, unnest($3::int[], $4::bigint[])"
                        " AS h(s, e) WHERE l.shard = h.s AND l.owner = $2 AND l.epoch = h.e"
                        " AND l.expires_at > t.n RETURNING l.shard",
                        self.now(),
                        self.node,
                        list(held),
                        list(held.values()),
                        float(self.lease_time),
                    )
                await self._heartbeat(conn)
                return rows

        kept = {int(r[0]) for r in await self._run(go)}
        lost = set(held) - kept
        for s in lost:
            if self.held.get(s) == held[s]:
                del self.held[s]
        return lost

    async def release(self, shards: Iterable[int]) -> None:
        """Hand the leases of ``shards`` over at once (a clean stop): another node may take
        them immediately, at a later epoch."""
        mine = {s: e for s in self._shards(shards) if (e := self.held.get(s)) is not None}
        if not mine:
            return

        async def go(conn: _Connection) -> None:
            await conn.execute(
                f"WITH t AS (SELECT {_NOW} AS n) UPDATE shard_leases l SET owner = NULL,"
                " expires_at = t.n FROM t, unnest($3::int[], $4::bigint[]) AS h(s, e)"
                " WHERE l.shard = h.s AND l.owner = $2 AND l.epoch = h.e",
                self.now(),
                self.node,
                list(mine),
                list(mine.values()),
            )

        await self._run(go)
        for s in mine:
            self.held.pop(s, None)

    async def leases(self) -> list[Lease]:
        """Every shard's lease as the database holds it, by shard (shards never acquired
        have no row)."""
        return await read_leases(self._run, self.now())

    async def _heartbeat(self, conn: _Connection) -> None:
        await conn.execute(
            f"INSERT INTO nodes (node, started_at, heartbeat_at) SELECT $2, n, n"
            f" FROM (SELECT {_NOW} AS n) t ON CONFLICT (node) DO UPDATE"
            " SET heartbeat_at = excluded.heartbeat_at",
            self.now(),
            self.node,
        )

    # -- the fence (inside the store's commit transaction) ----------------------------------
    def refused(self, exc: BaseException) -> FencedError | None:
        """``exc`` when it is this node's fence refusing one of its writes (the shard's
        lease is another node's, or expired: see :meth:`fence`), else ``None``. What the
        node runtime asks of a failed write: such a refusal means the shard moved on, not
        that anything crashed."""
        if isinstance(exc, FencedError) and exc.node == self.node:
            return exc
        return None

    async def fence(self, conn: _Connection, actors: Collection[str]) -> dict[str, FencedError]:
        """Check, in the caller's transaction, that this node holds the shard of each of
        ``actors`` at its epoch; lock those lease rows (``FOR SHARE``) until the caller's
        transaction ends, so no takeover can commit in between. Return the refusals."""
        by_shard: dict[int, list[str]] = {}
        for aid in actors:
            by_shard.setdefault(self.shard_of(aid), []).append(aid)
        rows = await conn.fetch(
            f"SELECT shard, owner, epoch, expires_at, {_NOW} FROM shard_leases"
            " WHERE shard = ANY($2::int[]) ORDER BY shard FOR SHARE",
            self.now(),
            sorted(by_shard),
        )
        found = {int(r[0]): r for r in rows}
        refused: dict[str, FencedError] = {}
        for shard, aids in by_shard.items():
            mine = self.held.get(shard)
            row = found.get(shard)
            owner = None if row is None else row[1]
            epoch = None if row is None else int(row[2])
            if mine is None:
                reason = "this node does not hold the shard's lease"
            elif row is None or owner != self.node or epoch != mine:
                reason = f"the lease is now held by {owner!r} at epoch {epoch}"
            elif row[3] <= row[4]:
                reason = "the lease expired (renew it more often than lease_time)"
            else:
                continue
            for aid in aids:
                refused[aid] = FencedError(aid, shard, self.node, mine, owner, epoch, reason)
        return refused
