"""The statefleet error hierarchy.

Every error statefleet raises derives from :class:`StatefleetError`. Errors that come from
lower layers (sqlite, XML parsing, ...) are re-raised as one of these with ``from exc``.
"""

from __future__ import annotations

__all__ = [
    "ActorError",
    "ActorStoppedError",
    "ChartDefinitionError",
    "InfiniteLoopError",
    "InvalidEventError",
    "MailboxFullError",
    "PersistenceError",
    "SnapshotError",
    "StatefleetError",
]


class StatefleetError(Exception):
    """Root of every error raised by statefleet."""


class ChartDefinitionError(StatefleetError):
    """A chart definition is invalid.

    ``path`` names the bad element (``states.processing.on.FINISH``), ``line`` its source line
    when the reader knows it, and ``errors`` holds every problem found when a reader collects
    more than one (each a ``(path, message)`` pair).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        line: int | None = None,
        errors: list[tuple[str, str]] | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.message = message
        self.errors = errors if errors is not None else [(path, message)]
        where = path
        if line is not None:
            where = f"{where} (line {line})" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)


class InvalidEventError(StatefleetError):
    """An event is malformed (empty name, reserved name sent from outside, bad data)."""


class InfiniteLoopError(StatefleetError):
    """A macrostep took more microsteps than the configured bound.

    Usually eventless transitions or raised events that feed each other forever.
    """


class SnapshotError(StatefleetError):
    """A snapshot does not fit the chart it is restored on, or cannot be decoded."""


class ActorError(StatefleetError):
    """An error in the actor runtime."""


class ActorStoppedError(ActorError):
    """The actor is stopped: it accepts no more events."""


class MailboxFullError(ActorError):
    """The actor's mailbox is full (raised by ``send_nowait``)."""


class PersistenceError(StatefleetError):
    """A store failed to read or write."""
