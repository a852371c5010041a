"""Two versions of an order chart and migrations between them, for ``statefleet migrate``
(``tests.cli._migrate_charts:order_v1`` ...)."""

from __future__ import annotations

from statefleet import Chart, from_dict

#: version 2 renames ``pending`` to ``awaiting`` and drops ``legacy``
RENAME = {"order.pending": "order.awaiting"}

NOT_A_MIGRATION = 42


def order_v1() -> Chart:
    """Version 1."""
    return from_dict(
        {
            "id": "order",
            "version": "1",
            "initial": "pending",
            "states": {
                "pending": {"on": {"ship": "shipped", "old": "legacy"}},
                "shipped": {"on": {"back": "pending"}},
                "legacy": {"on": {"back": "pending"}},
            },
        }
    )


def order_v2() -> Chart:
    """Version 2."""
    return from_dict(
        {
            "id": "order",
            "version": "2",
            "initial": "awaiting",
            "states": {
                "awaiting": {"on": {"ship": "shipped"}},
                "shipped": {"on": {"back": "awaiting"}},
            },
        }
    )
