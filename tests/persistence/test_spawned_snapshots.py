"""An actor spawned from a snapshot the program holds (``spawn(chart, snapshot=...)``, or a
class-DSL instance, whose state is a snapshot) on a durable store is stored first: its
events commit, and a restart restores it (issue 12, item 2: it crashed on its first event
with ``VersionConflictError ... is not stored``)."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet.actors import ActorSystem
from statefleet.core import VirtualClock
from tests.core._build import S, T, chart

pytestmark = pytest.mark.anyio

TOGGLE = chart(S("a", on=[T("t", "b")]), S("b", on=[T("t", "a")]), id="toggle")


async def test_an_actor_spawned_from_a_snapshot_is_stored(make_store: Any) -> None:
    session = TOGGLE.start()
    session.send("t")  # "b", version 1, in the program's hands
    async with ActorSystem(clock=VirtualClock(), store=make_store()) as system:
        ref = system.spawn(TOGGLE, id="s", snapshot=session.snapshot())
        snap = await ref.ask("t")
        assert (snap.configuration, snap.version) == (("a",), 2)
    async with ActorSystem(clock=VirtualClock(), store=make_store(), charts=[TOGGLE]) as system:
        snap = await system.ref(TOGGLE, "s").ask("t")
        assert (snap.configuration, snap.version) == (("b",), 3)
