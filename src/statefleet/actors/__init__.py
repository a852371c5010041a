"""The actor runtime: charts as supervised actors on anyio (asyncio or trio).

``async with ActorSystem() as system: ref = system.spawn(chart, id="order-1")`` starts an
actor; ``await ref.send("pay")``, ``await ref.ask("pay")`` (the snapshot after that event),
``await ref.wait_for("shipped", timeout=30)``, ``ref.subscribe()``, ``await ref.stop()``.
See ``docs/actors.md``.
"""

from statefleet.actors._durable import DurableStore, VirtualRef
from statefleet.actors._inspect import Inspection
from statefleet.actors._invocation import ActorInvocation
from statefleet.actors._node import AskTimeoutError
from statefleet.actors._observers import Subscription
from statefleet.actors._ref import ActorCrashedError, ActorRef, Reply
from statefleet.actors._store import ActorStore
from statefleet.actors._supervision import ErrorPolicy, RestartPolicy, Supervision
from statefleet.actors._system import ActorSystem

__all__ = [
    "ActorCrashedError",
    "ActorInvocation",
    "ActorRef",
    "ActorStore",
    "ActorSystem",
    "AskTimeoutError",
    "DurableStore",
    "ErrorPolicy",
    "Inspection",
    "Reply",
    "RestartPolicy",
    "Subscription",
    "Supervision",
    "VirtualRef",
]
