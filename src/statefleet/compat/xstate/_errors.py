"""xstate-statemachine's exception classes, as :class:`~statefleet.StatefleetError` subclasses.

A program that catches ``XStateMachineError`` or ``InvalidConfigError`` keeps working; a
program that catches statefleet's own classes (``ChartDefinitionError``) catches these too.
"""

from __future__ import annotations

from statefleet.core import ChartDefinitionError, InfiniteLoopError, StatefleetError
from statefleet.formats._resolve import did_you_mean

__all__ = [
    "ActorSpawningError",
    "ImplementationMissingError",
    "InvalidConfigError",
    "InvalidEventPayloadError",
    "NotSupportedError",
    "RunawayChainError",
    "StateNotFoundError",
    "UnknownEventError",
    "XStateMachineError",
]


class XStateMachineError(StatefleetError):
    """Base class of xstate-statemachine's errors."""


class InvalidConfigError(XStateMachineError, ChartDefinitionError):
    """The machine config is malformed (``path`` names the bad element)."""


class ImplementationMissingError(XStateMachineError, ChartDefinitionError):
    """The config names an action, guard, service or delay no logic provides."""


class StateNotFoundError(XStateMachineError, LookupError):
    """No state has the id asked for."""


class ActorSpawningError(XStateMachineError):
    """A child actor could not be spawned."""


class NotSupportedError(XStateMachineError, NotImplementedError):
    """A feature of xstate-statemachine statefleet deliberately does not offer."""


class UnknownEventError(XStateMachineError):
    """A strict machine was sent an event type its config never declares (a typo, or an
    outdated producer). ``event_type``, ``machine_id`` and ``known`` (the declared names,
    sorted) say which."""

    def __init__(self, event_type: str, machine_id: str, known: list[str]) -> None:
        self.event_type = event_type
        self.machine_id = machine_id
        self.known = known
        super().__init__(
            f"machine {machine_id!r} is strict and declares no event {event_type!r}"
            + did_you_mean(event_type, known)
        )


class InvalidEventPayloadError(XStateMachineError):
    """An event's payload failed the schema registered for its type (``event_schemas=``);
    ``cause`` is what the schema raised."""

    def __init__(self, event_type: str, cause: BaseException) -> None:
        self.event_type = event_type
        self.cause = cause
        super().__init__(f"payload for {event_type!r} failed validation: {cause}")


class RunawayChainError(XStateMachineError, InfiniteLoopError):
    """One event led the machine through more than ``maxIterations`` microsteps (eventless
    transitions or raised events feeding each other). The machine stops (status
    ``"error"``); ``machine_id`` and ``limit`` say which machine and bound."""

    def __init__(self, machine_id: str, limit: int, detail: str = "") -> None:
        self.machine_id = machine_id
        self.limit = limit
        super().__init__(
            f"machine {machine_id!r} exceeded maxIterations={limit} microsteps in one"
            f" macrostep: eventless transitions or raised events feed each other{detail}"
        )
