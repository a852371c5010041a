"""Where a ``send`` goes, and the events drivers make for invocations: one pure vocabulary.

Every driver (the sync :class:`~statefleet.core.Session`, the actor runtime, the durable
store's view of it) delivers a :class:`~statefleet.core.SendEffect` the same way (SCXML
6.2.4, "The Target of Send"):

- no target: the sender's own external queue;
- ``#_parent``: the invoking session, the event stamped with the invocation's id;
- ``#_scxml_<sessionid>``: a session by id;
- ``#_<invokeid>``: a child the sender invoked;
- ``#_internal`` from a driver (a delayed send to it): nowhere, ``error.communication``;
- anything else: a name the driver resolves (an actor id or system id), else
  ``error.communication``.

The functions here decide the kind of target and build the events; drivers only look the
addressee up. No I/O, no state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from statefleet.core._errors import InvalidEventError
from statefleet.core._events import EventData

__all__ = [
    "CHILD",
    "NAMED",
    "NOWHERE",
    "PARENT",
    "SELF",
    "SESSION",
    "communication_error",
    "done_invoke",
    "error_invoke",
    "error_text",
    "from_invocation",
    "item_event",
    "target_kind",
]

#: kinds of send target (see :func:`target_kind`)
SELF = 0
PARENT = 1
SESSION = 2
CHILD = 3
NAMED = 4
NOWHERE = 5


def target_kind(target: str | None) -> tuple[int, str]:
    """The kind of ``target`` and the key to look up: ``(SELF, "")``, ``(PARENT, "")``,
    ``(SESSION, session id)``, ``(CHILD, invokeid)``, ``(NAMED, target)`` or
    ``(NOWHERE, target)``."""
    if not target:
        return SELF, ""
    if target[0] == "#" and target[1:2] == "_":
        if target == "#_parent":
            return PARENT, ""
        if target.startswith("#_scxml_"):
            return SESSION, target[8:]
        if target == "#_internal":
            return NOWHERE, target
        return CHILD, target[2:]
    return NAMED, target


def from_invocation(ev: EventData, invokeid: str | None) -> EventData:
    """``ev`` as the invoking session receives it from invocation ``invokeid`` (SCXML
    stamps ``invokeid``; ``origin`` answers back to the child)."""
    if invokeid is None:
        return ev
    return msgspec.structs.replace(ev, invokeid=invokeid, origin=f"#_{invokeid}")


def done_invoke(invokeid: str, data: Any = None) -> EventData:
    """``done.invoke.<invokeid>``: the invocation finished with ``data``."""
    return EventData(f"done.invoke.{invokeid}", data, invokeid=invokeid, origin=f"#_{invokeid}")


def error_invoke(invokeid: str, error: BaseException | str) -> EventData:
    """``error.invoke.<invokeid>``: the invocation failed (or could not start)."""
    exc = error if isinstance(error, BaseException) else None
    return EventData(
        f"error.invoke.{invokeid}",
        {"error": str(error)},
        "platform",
        invokeid=invokeid,
        origin=f"#_{invokeid}",
        error=exc,
    )


def communication_error(target: str, ev: EventData) -> EventData:
    """``error.communication``: ``ev`` could not be delivered to ``target``."""
    return EventData(
        "error.communication",
        {"target": target, "event": ev.name},
        "platform",
        sendid=ev.sendid,
    )


def item_event(item: Any) -> EventData:
    """An item an invoked iterator yields, as an event: an :class:`EventData`, a name, a
    ``(name, data)`` pair or a mapping with a ``type`` (or ``name``) and data."""
    if isinstance(item, EventData):
        return item
    if isinstance(item, str) and item:
        return EventData(item)
    if isinstance(item, Mapping):
        name = item.get("type", item.get("name"))
        if isinstance(name, str) and name:
            rest = {k: v for k, v in item.items() if k not in ("type", "name")}
            return EventData(name, rest or None)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and item[0]:
        return EventData(item[0], item[1])
    raise InvalidEventError(
        "an invoked iterator yields events: an EventData, a name, a (name, data) pair or a"
        f" mapping with a 'type', not {item!r}"
    )


def error_text(ev: EventData) -> str:
    """The message of an error event (its exception, its ``error`` field, or its name)."""
    if ev.error is not None:
        return str(ev.error)
    data = ev.data
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return ev.name
