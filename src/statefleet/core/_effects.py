"""Effects: what a step asks its driver (sync Session or actor runtime) to carry out."""

from __future__ import annotations

from typing import Any

import msgspec

from statefleet.core._events import EventData

__all__ = [
    "AwaitEffect",
    "CancelEffect",
    "CancelInvokeEffect",
    "Effect",
    "InvokeEffect",
    "LogEffect",
    "ScheduleEffect",
    "SendEffect",
]


class SendEffect(msgspec.Struct, frozen=True):
    """Deliver ``event`` now to ``target`` (``None``: this session's external queue)."""

    event: EventData
    target: str | None = None
    type: str | None = None


class ScheduleEffect(msgspec.Struct, frozen=True):
    """Start a timer: deliver ``event`` to ``target`` at ``due`` unless cancelled first."""

    sendid: str
    due: float
    event: EventData
    target: str | None = None


class CancelEffect(msgspec.Struct, frozen=True):
    """Cancel the timer ``sendid``."""

    sendid: str


class InvokeEffect(msgspec.Struct, frozen=True):
    """Start invocation ``invokeid`` for ``state`` with the evaluated ``src`` and ``data``."""

    invokeid: str
    state: str
    src: Any
    type: str | None = None
    data: Any = None
    autoforward: bool = False
    kind: str = "service"


class CancelInvokeEffect(msgspec.Struct, frozen=True):
    """Cancel invocation ``invokeid`` (its state exited)."""

    invokeid: str
    state: str


class LogEffect(msgspec.Struct, frozen=True):
    """A ``<log>``: a label and a value."""

    label: str | None
    value: Any


class AwaitEffect(msgspec.Struct, frozen=True):
    """An awaitable returned by an async action: the driver awaits it after the macrostep."""

    awaitable: Any
    label: str = ""


Effect = (
    SendEffect
    | ScheduleEffect
    | CancelEffect
    | InvokeEffect
    | CancelInvokeEffect
    | LogEffect
    | AwaitEffect
)
