"""pystator's API on statefleet: ``from statefleet.compat.pystator import StateMachine``.

Everything a pystator program imports from ``pystator`` (and ``pystator.actions``) lives here
under the same names; ``statefleet.formats.pystator`` is the same API, and
``statefleet.compat.pystator.effects`` is ``pystator.effects``. See
``docs/formats-pystator.md``.
"""

from statefleet.compat.pystator._checks import CheckSpec
from statefleet.compat.pystator._destinations import DestinationCandidate, DestinationCheckResult
from statefleet.compat.pystator._errors import (
    TRANSIENT_ERROR_TYPES,
    ActionFailedError,
    ActionNotFoundError,
    ConfigurationError,
    ErrorCode,
    ErrorPolicy,
    FSMError,
    GuardExecutionError,
    GuardNotFoundError,
    GuardRejectedError,
    InvalidStateError,
    InvalidTransitionError,
    TerminalStateError,
    UndefinedActionError,
    UndefinedGuardError,
    UndefinedStateError,
    UndefinedTriggerError,
    is_transient_error,
)
from statefleet.compat.pystator._executor import (
    ActionExecutionResult,
    ActionExecutor,
    ExecutionMode,
)
from statefleet.compat.pystator._guards import (
    all_of,
    any_of,
    equals,
    greater_than,
    in_list,
    negate,
)
from statefleet.compat.pystator._hooks import (
    LoggingHook,
    MetricsCollector,
    TransitionEvent,
    TransitionHook,
    TransitionObserver,
)
from statefleet.compat.pystator._machine import StateMachine
from statefleet.compat.pystator._model import (
    ActionSpec,
    Event,
    GuardSpec,
    ModelError,
    Region,
    State,
    StateType,
    Timeout,
    Transition,
)
from statefleet.compat.pystator._recipes import flatten_context_for_guards
from statefleet.compat.pystator._recording import EventRecorder, RecordedEvent
from statefleet.compat.pystator._registries import (
    ActionRegistry,
    ActionResult,
    GuardRegistry,
    GuardResult,
)
from statefleet.compat.pystator._results import ScheduledTransition, TransitionResult
from statefleet.compat.pystator._session import EntitySession
from statefleet.formats._yaml import ActionCall, parse_duration

__all__ = [
    "TRANSIENT_ERROR_TYPES",
    "ActionCall",
    "ActionExecutionResult",
    "ActionExecutor",
    "ActionFailedError",
    "ActionNotFoundError",
    "ActionRegistry",
    "ActionResult",
    "ActionSpec",
    "CheckSpec",
    "ConfigurationError",
    "DestinationCandidate",
    "DestinationCheckResult",
    "EntitySession",
    "ErrorCode",
    "ErrorPolicy",
    "Event",
    "EventRecorder",
    "ExecutionMode",
    "FSMError",
    "GuardExecutionError",
    "GuardNotFoundError",
    "GuardRegistry",
    "GuardRejectedError",
    "GuardResult",
    "GuardSpec",
    "InvalidStateError",
    "InvalidTransitionError",
    "LoggingHook",
    "MetricsCollector",
    "ModelError",
    "RecordedEvent",
    "Region",
    "ScheduledTransition",
    "State",
    "StateMachine",
    "StateType",
    "TerminalStateError",
    "Timeout",
    "Transition",
    "TransitionEvent",
    "TransitionHook",
    "TransitionObserver",
    "TransitionResult",
    "UndefinedActionError",
    "UndefinedGuardError",
    "UndefinedStateError",
    "UndefinedTriggerError",
    "all_of",
    "any_of",
    "equals",
    "flatten_context_for_guards",
    "greater_than",
    "in_list",
    "is_transient_error",
    "negate",
    "parse_duration",
]
