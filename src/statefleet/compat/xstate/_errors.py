"""xstate-statemachine's exception classes, as :class:`~statefleet.StatefleetError` subclasses.

A program that catches ``XStateMachineError`` or ``InvalidConfigError`` keeps working; a
program that catches statefleet's own classes (``ChartDefinitionError``) catches these too.
"""

from __future__ import annotations

from statefleet.core import ChartDefinitionError, StatefleetError

__all__ = [
    "ActorSpawningError",
    "ImplementationMissingError",
    "InvalidConfigError",
    "NotSupportedError",
    "StateNotFoundError",
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
