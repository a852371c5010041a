"""The SQLite schema and its forward migrations.

``statefleet_meta`` holds ``schema_version``. Opening a database applies every migration above
its version, in order, each in its own transaction; a database with a version above
:data:`SCHEMA_VERSION` was written by a newer statefleet and is refused.

Inbox and outbox seqs are assigned by the one writer (AUTOINCREMENT keeps their high-water
mark in ``sqlite_sequence``, so a seq is never reused, even after the rows are consumed and
the database reopened).
Append migrations, never edit a released one.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "STATES_MIGRATION"]

#: (version, statements): applying ``statements`` moves a database from ``version - 1``
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE actors (
                id TEXT PRIMARY KEY,
                chart_id TEXT NOT NULL,
                chart_version TEXT NOT NULL,
                version INTEGER NOT NULL,
                status TEXT NOT NULL,
                format INTEGER NOT NULL,
                snapshot BLOB NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE inbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                actor_id TEXT NOT NULL,
                event BLOB NOT NULL,
                accepted_at REAL NOT NULL
            )""",
            "CREATE INDEX inbox_actor ON inbox (actor_id, seq)",
            """CREATE TABLE timers (
                actor_id TEXT NOT NULL,
                key TEXT NOT NULL,
                due REAL NOT NULL,
                sendid TEXT NOT NULL,
                target TEXT,
                path TEXT NOT NULL,
                event BLOB NOT NULL,
                PRIMARY KEY (actor_id, key)
            ) WITHOUT ROWID""",
            "CREATE INDEX timers_due ON timers (due)",
            """CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                actor_id TEXT NOT NULL,
                target TEXT NOT NULL,
                event BLOB NOT NULL,
                created_at REAL NOT NULL
            )""",
            """CREATE TABLE dead_letters (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                actor_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                reason TEXT NOT NULL,
                payload BLOB,
                created_at REAL NOT NULL
            )""",
        ),
    ),
    (
        2,
        (
            # listing by status (quarantined, done) and dead letters per actor
            "CREATE INDEX actors_status ON actors (status, id)",
            "CREATE INDEX dead_letters_actor ON dead_letters (actor_id, id)",
        ),
    ),
    (
        3,
        (
            # the per-actor journal: one row per committed macrostep (see _journal)
            """CREATE TABLE journal (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                actor_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                at REAL NOT NULL,
                entry BLOB NOT NULL
            )""",
            "CREATE INDEX journal_actor ON journal (actor_id, id)",
        ),
    ),
    (
        4,
        (
            # ``system.query(chart=...)`` and ``actor_ids(chart=...)``: by chart (and status)
            "CREATE INDEX actors_chart ON actors (chart_id, id)",
        ),
    ),
    (
        5,
        (
            # ``system.query(state=...)`` and ``actor_ids(state=...)``: every active state of
            # each stored snapshot, written with it (the store backfills existing rows)
            """CREATE TABLE actor_states (
                state_id TEXT NOT NULL,
                actor_id TEXT NOT NULL,
                PRIMARY KEY (state_id, actor_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX actor_states_actor ON actor_states (actor_id)",
        ),
    ),
    (
        6,
        (
            # the journal without AUTOINCREMENT (issue 16): its sqlite_sequence row was one
            # more page written per commit. Ids stay unique and increasing per actor (a new
            # row gets the table's largest id + 1, above every row of its actor; an id freed
            # by deleting the newest rows may be given again, to a row of another history).
            # A table keyed (actor_id, id) WITHOUT ROWID was measured too: one page less for
            # one actor, but twice the pages and CPU when a batch commits many actors (each
            # row lands in its actor's part of a table of whole entries, not of index keys).
            """CREATE TABLE journal_v6 (
                id INTEGER PRIMARY KEY,
                actor_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                at REAL NOT NULL,
                entry BLOB NOT NULL
            )""",
            "INSERT INTO journal_v6 (id, actor_id, version, at, entry)"
            " SELECT id, actor_id, version, at, entry FROM journal",
            "DROP TABLE journal",
            "ALTER TABLE journal_v6 RENAME TO journal",
            "CREATE INDEX journal_actor ON journal (actor_id, id)",
        ),
    ),
)

#: the migration that adds ``actor_states``: the store fills it from the stored snapshots
STATES_MIGRATION = 5

SCHEMA_VERSION = MIGRATIONS[-1][0]
