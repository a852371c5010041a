"""The PostgreSQL schema and its forward migrations (see ``_schema`` for SQLite's).

Every table lives in the store's own PostgreSQL schema (``statefleet`` unless the store is
told another one), so several fleets can share a database. ``statefleet_meta`` holds
``schema_version``. Opening a store applies every migration above the stored version, all
under one transaction-level advisory lock (nodes starting together migrate once); a
database with a higher version was written by a newer statefleet and is refused.

Inbox, outbox and dead-letter ids come from sequences: several processes write the same
tables, so seqs are allocated by the database, never by a writer. Every actor row, inbox
row and timer row carries its shard (``_cluster.shard_of``) so a node can find the work
of the shards it owns with an index.
Ids are ``COLLATE "C"`` (byte order, as in SQLite), whatever the database's locale, so
paging by id is the same everywhere.
Append migrations, never edit a released one.
"""

from __future__ import annotations

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION", "PG_STATES_MIGRATION"]

#: (version, statements): applying ``statements`` moves a schema from ``version - 1``
PG_MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE IF NOT EXISTS statefleet_meta (key TEXT PRIMARY KEY, value TEXT)",
            """CREATE TABLE actors (
                id TEXT COLLATE "C" PRIMARY KEY,
                shard INTEGER NOT NULL,
                chart_id TEXT NOT NULL,
                chart_version TEXT NOT NULL,
                version BIGINT NOT NULL,
                status TEXT NOT NULL,
                format INTEGER NOT NULL,
                snapshot BYTEA NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX actors_status ON actors (status, id)",
            "CREATE SEQUENCE inbox_seq",
            """CREATE TABLE inbox (
                seq BIGINT PRIMARY KEY,
                actor_id TEXT COLLATE "C" NOT NULL,
                shard INTEGER NOT NULL,
                event BYTEA NOT NULL,
                accepted_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX inbox_actor ON inbox (actor_id, seq)",
            "CREATE INDEX inbox_shard ON inbox (shard, actor_id)",
            """CREATE TABLE timers (
                actor_id TEXT COLLATE "C" NOT NULL,
                key TEXT NOT NULL,
                shard INTEGER NOT NULL,
                due DOUBLE PRECISION NOT NULL,
                sendid TEXT NOT NULL,
                target TEXT,
                path TEXT NOT NULL,
                event BYTEA NOT NULL,
                PRIMARY KEY (actor_id, key)
            )""",
            "CREATE INDEX timers_due ON timers (due)",
            "CREATE INDEX timers_shard_due ON timers (shard, due)",
            "CREATE SEQUENCE outbox_seq",
            """CREATE TABLE outbox (
                seq BIGINT PRIMARY KEY,
                actor_id TEXT COLLATE "C" NOT NULL,
                target TEXT NOT NULL,
                event BYTEA NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE dead_letters (
                id BIGSERIAL PRIMARY KEY,
                actor_id TEXT COLLATE "C" NOT NULL,
                kind TEXT NOT NULL,
                reason TEXT NOT NULL,
                payload BYTEA,
                created_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX dead_letters_actor ON dead_letters (actor_id, id)",
            # -- the cluster: members, shard leases with their fencing epochs ---------------
            """CREATE TABLE nodes (
                node TEXT COLLATE "C" PRIMARY KEY,
                started_at DOUBLE PRECISION NOT NULL,
                heartbeat_at DOUBLE PRECISION NOT NULL,
                info TEXT NOT NULL DEFAULT ''
            )""",
            """CREATE TABLE shard_leases (
                shard INTEGER PRIMARY KEY,
                owner TEXT,
                epoch BIGINT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                acquired_at DOUBLE PRECISION NOT NULL
            )""",
        ),
    ),
    (
        2,
        (
            # the per-actor journal: one row per committed macrostep (see _journal)
            """CREATE TABLE journal (
                id BIGSERIAL PRIMARY KEY,
                actor_id TEXT COLLATE "C" NOT NULL,
                version BIGINT NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                entry BYTEA NOT NULL
            )""",
            "CREATE INDEX journal_actor ON journal (actor_id, id)",
        ),
    ),
    (
        3,
        (
            # ``system.query(chart=...)`` and ``actor_ids(chart=...)``: by chart (and status)
            "CREATE INDEX actors_chart ON actors (chart_id, id)",
        ),
    ),
    (
        4,
        (
            # ``system.query(state=...)`` and ``actor_ids(state=...)``: every active state of
            # each stored snapshot, written with it (the store backfills existing rows)
            """CREATE TABLE actor_states (
                state_id TEXT NOT NULL,
                actor_id TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (state_id, actor_id)
            )""",
            "CREATE INDEX actor_states_actor ON actor_states (actor_id)",
        ),
    ),
)

#: the migration that adds ``actor_states``: the store fills it from the stored snapshots
PG_STATES_MIGRATION = 4

PG_SCHEMA_VERSION = PG_MIGRATIONS[-1][0]
