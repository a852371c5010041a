"""python-statemachine's exceptions (``statemachine.exceptions``), rooted in statefleet's.

``except InvalidDefinition`` and ``except ChartDefinitionError`` both catch a bad class;
``TransitionNotAllowed`` is what a ``StateMachine`` raises for an event no transition takes.
"""

from __future__ import annotations

from typing import Any

from statefleet.core import ChartDefinitionError, StatefleetError

__all__ = ["AttrNotFound", "InvalidDefinition", "StateMachineError", "TransitionNotAllowed"]


class StateMachineError(StatefleetError):
    """Base of python-statemachine's errors."""


class InvalidDefinition(StateMachineError, ChartDefinitionError):
    """The chart class (or an instance's callbacks) is not a valid definition; ``path`` names
    the attribute."""


class AttrNotFound(InvalidDefinition):
    """A callback or guard name that neither the class, its model nor a listener defines
    (raised when an instance is created)."""


class TransitionNotAllowed(StateMachineError):
    """A ``StateMachine`` (``allow_event_without_transition = False``) got an event that no
    transition from its configuration takes; ``event`` and ``configuration`` say which."""

    def __init__(self, event: Any, configuration: Any) -> None:
        self.event = event
        self.configuration = configuration
        names = ", ".join(str(s) for s in configuration)
        super().__init__(f"Can't {getattr(event, 'name', None) or event} when in {names}.")
