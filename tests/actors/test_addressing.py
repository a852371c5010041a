"""Where ``ctx.send(..., target=...)`` goes: parent, children, actor ids, system ids."""

from __future__ import annotations

from typing import Any

import pytest

from statefleet import InvokeSpec, VirtualClock
from statefleet.actors import ActorSystem
from tests.actors._charts import S, T, chart, record

pytestmark = pytest.mark.anyio


def send(name: str, target: str | None = None, **data: Any) -> Any:
    return lambda ctx: ctx.send(name, data or None, target=target)


async def test_parent_and_child_talk_by_parent_and_invoke_id() -> None:
    parent_got: list[Any] = []
    child = chart(
        S("c", on=[T("ping", actions=(send("pong", "#_parent"),))]),
        id="child",
    )
    parent = chart(
        S(
            "p",
            invokes=[InvokeSpec(id="kid", src=child)],
            on=[
                T("start", actions=(send("ping", "#_kid"),)),
                T(
                    "pong",
                    actions=(record(parent_got), lambda ctx: parent_got.append(ctx.event.invokeid)),
                ),
            ],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        p = system.spawn(parent)
        p.send_nowait("start")
        await p.wait_for(lambda s: len(parent_got) == 2)
    assert parent_got == [("pong", None), "kid"]


async def test_actors_address_each_other_by_id_system_id_and_origin() -> None:
    got: list[Any] = []

    def reply(ctx: Any) -> None:
        ctx.send("pong", {"to": ctx.event.origin}, target=ctx.event.origin)

    server = chart(S("s", on=[T("ping", actions=(reply,))]), id="server")
    client = chart(
        S(
            "c",
            on=[
                T("by_id", actions=(send("ping", "server-1"),)),
                T("by_system_id", actions=(send("ping", "the-server"),)),
                T("by_hash", actions=(send("ping", "#the-server"),)),
                T("pong", actions=(record(got),)),
            ],
        ),
        id="client",
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        system.spawn(server, id="server-1", system_id="the-server")
        c = system.spawn(client, id="client-1")
        for ev in ("by_id", "by_system_id", "by_hash"):
            c.send_nowait(ev)
        await c.wait_for(lambda s: len(got) == 3)
    assert got == [("pong", {"to": "#_scxml_client-1"})] * 3


async def test_a_spawned_child_sends_to_its_parent() -> None:
    got: list[Any] = []
    kid = chart(S("k", entry=[send("hello", "#_parent", n=1)]), id="kid")

    def spawn_kid(ctx: Any) -> None:
        ctx.owner.spawn(kid, id="kid-1")

    parent = chart(
        S("p", on=[T("spawn", actions=(spawn_kid,)), T("hello", actions=(record(got),))])
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        p = system.spawn(parent)
        await p.ask("spawn")
        k = system.get("kid-1")
        assert k is not None and k.parent is p
        await p.wait_for(lambda s: bool(got))
        assert got == [("hello", {"n": 1})]
        await p.stop()
        assert k.status == "stopped"  # children stop with their parent


async def test_unknown_and_stopped_targets_raise_error_communication() -> None:
    got: list[Any] = []
    c = chart(
        S(
            "s",
            on=[
                T("lost", actions=(send("x", "nobody"),)),
                T("to_parent", actions=(send("x", "#_parent"),)),
                T("to_child", actions=(send("x", "#_nochild"),)),
                T("to_stopped", actions=(send("x", "gone"),)),
                T("error.communication", actions=(record(got),)),
            ],
        )
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        gone = system.spawn(chart(S("g")), id="gone")
        a = system.spawn(c)
        await a.ask("lost")
        await a.ask("to_parent")
        await a.ask("to_child")
        await gone.stop()
        await a.ask("to_stopped")
        await system.wait_idle()
    assert [d["target"] for _, d in got] == ["nobody", "#_parent", "#_nochild", "gone"]
