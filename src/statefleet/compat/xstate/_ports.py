"""What the built-in actions do under the actor runtime, where their ``interpreter``
argument is the :class:`~statefleet.ActorRef` running the machine.

:class:`ActorPort` offers them what :class:`~statefleet.compat.xstate.XStateSession` offers
in process: ``raise_`` (queued in the actor's mailbox: behind the events already there),
``actor`` (whom ``sendTo`` names), ``spawn_child``/``stop_child`` (child actors), ``publish``
(to the async ``Interpreter``'s ``on()`` handlers, when one runs the actor), and delayed sends
with ``cancel``.

A delayed send is armed by a small child actor of the machine's (``<id>:xstate-delays``,
spawned on first use, stopped with its parent) whose chart sends the event back to the
machine after the delay: a core ``send`` with a delay, so the timer is the actor system's
own (its clock, virtual in tests), and ``cancel`` cancels it by its send id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statefleet.actors import ActorRef
from statefleet.compat.xstate._machine import initial_context
from statefleet.core import (
    ActionContext,
    Chart,
    ChartSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
)

__all__ = ["DELAYER", "ActorPort"]


def _arm(ctx: ActionContext) -> None:
    d = ctx.event.data if ctx.event is not None else None
    if isinstance(d, dict):
        ctx.send(d["name"], d.get("data"), target=d["to"], delay=d["delay"], sendid=d.get("id"))


def _disarm(ctx: ActionContext) -> None:
    d = ctx.event.data if ctx.event is not None else None
    if isinstance(d, dict) and isinstance(d.get("id"), str):
        ctx.cancel(d["id"])


#: the chart of a machine's delayed-send helper actor (see the module docstring)
DELAYER = compile_chart(
    ChartSpec(
        id="xstate-delays",
        states=[
            StateSpec(
                id="armed",
                transitions=[
                    TransitionSpec(event=("schedule",), actions=(_arm,), exact=True),
                    TransitionSpec(event=("cancel",), actions=(_disarm,), exact=True),
                ],
            )
        ],
    )
)


class ActorPort:
    """The built-ins' view of the actor ``ref`` (and of ``front``, the async ``Interpreter``
    running it, if any: its ``on()`` handlers, ``children``, strict checks)."""

    __slots__ = ("front", "ref")

    def __init__(self, ref: ActorRef, front: Any = None) -> None:
        self.ref = ref
        self.front = front

    def publish(self, name: str, data: Mapping[str, Any] | None = None) -> None:
        """``emit``: to the front's ``on()`` handlers (nobody listens without a front)."""
        if self.front is not None:
            self.front.publish(name, data)

    def raise_(self, event: str, /, **payload: Any) -> None:
        """``raise``: queue ``event`` for this actor."""
        check = getattr(self.front, "check_event", None)
        if check is not None:
            check(event, payload)
        self.ref.send_nowait(event, **payload)

    def _delayer(self) -> ActorRef:
        key = f"{self.ref.id}:{DELAYER.id}"
        found = self.ref.system.get(key)
        if found is not None and found.status != "stopped":
            return found
        return self.ref.spawn(DELAYER, id=key)

    def schedule(self, name: str, data: dict[str, Any], delay: float, send_id: str | None) -> None:
        """A delayed ``raise``/``sendTo`` to this actor: ``name`` arrives after ``delay``
        seconds of the system's clock (``send_id`` lets :meth:`cancel_send` cancel it)."""
        check = getattr(self.front, "check_event", None)
        if check is not None:
            check(name, data)
        self._delayer().send_nowait(
            "schedule", name=name, data=data or None, delay=delay, id=send_id, to=self.ref.id
        )

    def cancel_send(self, send_id: str) -> None:
        """``cancel``: drop the pending delayed send ``send_id`` (nothing if it fired)."""
        self._delayer().send_nowait("cancel", id=send_id)

    def _children(self) -> dict[str, ActorRef]:
        children = getattr(self.front, "children", None)
        return children if isinstance(children, dict) else {}

    def actor(self, target: Any) -> ActorRef | None:
        """Whom ``sendTo`` names: this actor (its id), a child spawned by ``spawnChild``,
        ``"parent"``, or any actor of the system by id or ``system_id``."""
        if isinstance(target, ActorRef):
            return target
        if not isinstance(target, str):
            return None
        ref = self.ref
        if target == ref.id:
            return ref
        if target in ("parent", "#parent", "#_parent"):
            return ref.parent
        return self._children().get(target) or ref.system.get(target)

    def spawn_child(
        self, machine: Chart, child_id: str | None, system_id: str | None, input: Any
    ) -> ActorRef:
        """``spawnChild``: ``machine`` as a child actor of this one."""
        children = self._children()
        key = child_id or f"{self.ref.id}:{machine.id}:{len(children)}"
        context = initial_context(machine, None, input)
        child = self.ref.spawn(machine, id=key, system_id=system_id, context=context)
        if self.front is not None:
            children[key] = child
        return child

    def stop_child(self, child_id: Any) -> Any:
        """``stopChild``: the awaitable the runtime awaits after the macrostep (None when
        there is no such child)."""
        child = self.actor(child_id)
        if child is None or child is self.ref or child is self.ref.parent:
            return None
        children = self._children()
        for key, c in list(children.items()):
            if c is child:
                del children[key]
        return child.stop()
