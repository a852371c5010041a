"""xstate-statemachine's JSON snapshots: what ``get_snapshot()`` writes and
``from_snapshot()`` reads, for both interpreters.

The JSON has the peer's keys (``status``, ``context``, ``state_ids``, ``configuration``) and
statefleet's whole snapshot (history, timers, invoked charts) under ``"statefleet"``. A
snapshot the peer wrote itself (its keys only) is adopted: its states are entered as they
are, without entry actions or timers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from statefleet.compat.xstate._errors import StateNotFoundError
from statefleet.core import Chart, Snapshot, SnapshotError, decode_snapshot, encode_snapshot

__all__ = ["snapshot_from_json", "snapshot_json"]


def snapshot_json(chart: Chart, status: str, state_ids: Iterable[str], snap: Snapshot) -> str:
    """The JSON snapshot of a machine of ``chart`` in ``status`` (the context must be JSON
    data: :class:`~statefleet.SnapshotError` otherwise)."""
    try:
        return json.dumps(
            {
                "status": status,
                "context": snap.context,
                "state_ids": list(state_ids),
                "configuration": list(snap.configuration),
                "statefleet": json.loads(encode_snapshot(snap, format="json")),
            }
        )
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"the context of {chart.id!r} is not JSON data: {exc}") from exc


def snapshot_from_json(machine: Chart, text: str | bytes) -> tuple[Snapshot, Any]:
    """The snapshot in ``text`` (ours, or one the peer wrote) and the status it records. An
    unknown state id is a :class:`StateNotFoundError`; anything else that does not fit a
    :class:`~statefleet.SnapshotError` (the snapshot is checked against the machine again
    when it is restored)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SnapshotError(f"a snapshot is JSON text of bounded depth: {exc}") from exc
    if not isinstance(data, Mapping):
        raise SnapshotError("a snapshot is a JSON object")
    own = data.get("statefleet")
    if own is not None:
        return decode_snapshot(json.dumps(own).encode(), format="json"), data.get("status")
    return _adopted(machine, data), data.get("status")


def _adopted(machine: Chart, data: Mapping[str, Any]) -> Snapshot:
    """A snapshot of ``machine`` in xstate-statemachine's own format, as ours."""
    ids = data.get("state_ids")
    context = data.get("context", {})
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise SnapshotError("a snapshot's state_ids is a list of state ids")
    if not isinstance(context, dict):
        raise SnapshotError("a snapshot's context is an object")
    nodes = machine.nodes_by_id
    active: set[str] = set()
    for i in ids:
        node = nodes.get(i)
        if node is None:
            raise StateNotFoundError(f"Could not find state with ID {i!r} in {machine.id!r}")
        active.add(i)
        active.update(a.id for a in node.ancestors if a.id in nodes)
    return Snapshot(
        chart_id=machine.id,
        chart_version=machine.version,
        configuration=tuple(i for i in nodes if i in active),
        context=context,
    )
