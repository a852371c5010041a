"""pystator's API on statefleet: ``from statefleet.compat.pystator import StateMachine``.

Everything a pystator program imports from ``pystator`` (and ``pystator.actions``) lives here
under the same names; ``statefleet.formats.pystator`` is the same API. See
``docs/formats-pystator.md``.
"""

from statefleet.compat.pystator._machine import (
    ActionCall,
    ActionExecutionResult,
    ActionExecutor,
    ActionFailedError,
    ActionRegistry,
    EntitySession,
    ErrorCode,
    ExecutionMode,
    FSMError,
    GuardRegistry,
    GuardRejectedError,
    InvalidStateError,
    InvalidTransitionError,
    LoggingHook,
    MetricsCollector,
    ScheduledTransition,
    StateMachine,
    TerminalStateError,
    TransitionEvent,
    TransitionHook,
    TransitionObserver,
    TransitionResult,
    UndefinedActionError,
    UndefinedGuardError,
    UndefinedTriggerError,
    flatten_context_for_guards,
)
from statefleet.formats._yaml import parse_duration

__all__ = [
    "ActionCall",
    "ActionExecutionResult",
    "ActionExecutor",
    "ActionFailedError",
    "ActionRegistry",
    "EntitySession",
    "ErrorCode",
    "ExecutionMode",
    "FSMError",
    "GuardRegistry",
    "GuardRejectedError",
    "InvalidStateError",
    "InvalidTransitionError",
    "LoggingHook",
    "MetricsCollector",
    "ScheduledTransition",
    "StateMachine",
    "TerminalStateError",
    "TransitionEvent",
    "TransitionHook",
    "TransitionObserver",
    "TransitionResult",
    "UndefinedActionError",
    "UndefinedGuardError",
    "UndefinedTriggerError",
    "flatten_context_for_guards",
    "parse_duration",
]
