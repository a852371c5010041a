"""pystator's typed errors: every outcome of a trigger that is not a transition, each an
:class:`FSMError` (also a :class:`~statefleet.StatefleetError`) with a machine-readable
:class:`ErrorCode`; and :func:`is_transient_error`, pystator's retry classification."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from statefleet.core import ChartDefinitionError, StatefleetError

__all__ = [
    "TRANSIENT_ERROR_TYPES",
    "ActionFailedError",
    "ActionNotFoundError",
    "ConfigurationError",
    "ErrorCode",
    "ErrorPolicy",
    "FSMError",
    "GuardExecutionError",
    "GuardNotFoundError",
    "GuardRejectedError",
    "InvalidStateError",
    "InvalidTransitionError",
    "TerminalStateError",
    "UndefinedActionError",
    "UndefinedGuardError",
    "UndefinedStateError",
    "UndefinedTriggerError",
    "is_transient_error",
]


class ErrorCode(enum.StrEnum):
    """Why a trigger did not make a transition (``FSMError.code``, ``metadata["reason"]``)."""

    GUARD_REJECTED = "guard_rejected"
    INVALID_TRANSITION = "invalid_transition"
    UNDEFINED_TRIGGER = "undefined_trigger"
    TERMINAL_STATE = "terminal_state"
    INVALID_STATE = "invalid_state"
    UNDEFINED_GUARD = "undefined_guard"
    UNDEFINED_ACTION = "undefined_action"
    ACTION_FAILED = "action_failed"
    GUARD_EXECUTION_ERROR = "guard_execution_error"


class FSMError(StatefleetError):
    """Root of the pystator-style errors; ``code`` is an :class:`ErrorCode`.

    ``current_state`` and ``trigger`` say where it happened, ``details`` holds the rest (what
    ``TransitionResult.metadata`` shows).
    """

    code: ErrorCode = ErrorCode.INVALID_TRANSITION

    def __init__(
        self,
        message: str,
        current_state: str | None = None,
        trigger: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.current_state = current_state
        self.trigger = trigger
        self.details = details

    def to_metadata(self) -> dict[str, Any]:
        """The error as ``TransitionResult.metadata``: reason, state, trigger, details."""
        return {
            "reason": self.code.value,
            "current_state": self.current_state,
            "trigger": self.trigger,
            "message": self.message,
            **self.details,
        }


class GuardRejectedError(FSMError):
    """Every transition for the trigger was blocked by a guard (``guard_name`` is the first
    guard that said no; ``cause`` the exception it raised, if it raised)."""

    code = ErrorCode.GUARD_REJECTED

    def __init__(
        self,
        message: str,
        *,
        guard_name: str,
        cause: BaseException | None = None,
        current_state: str | None = None,
        trigger: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(
            message, current_state=current_state, trigger=trigger, guard_name=guard_name, **details
        )
        self.guard_name = guard_name
        self.cause = cause


class InvalidTransitionError(FSMError):
    """The trigger is defined, but no transition takes it from the current state."""

    code = ErrorCode.INVALID_TRANSITION


class UndefinedTriggerError(FSMError):
    """The machine defines no transition with this trigger."""

    code = ErrorCode.UNDEFINED_TRIGGER


class TerminalStateError(FSMError):
    """The entity is in a terminal state: it accepts no more triggers."""

    code = ErrorCode.TERMINAL_STATE


class InvalidStateError(FSMError):
    """The state given is not a state of the machine (or not a valid combination)."""

    code = ErrorCode.INVALID_STATE


class UndefinedGuardError(FSMError):
    """A guard named in the definition has no function bound (see ``bind_guards``)."""

    code = ErrorCode.UNDEFINED_GUARD


class UndefinedActionError(FSMError):
    """An action named in the definition has no function in the registry."""

    code = ErrorCode.UNDEFINED_ACTION


class ActionFailedError(FSMError):
    """An action raised; ``cause`` is the exception."""

    code = ErrorCode.ACTION_FAILED


class GuardExecutionError(FSMError):
    """A guard failed with a transient error (see :func:`is_transient_error`) while
    ``GuardRegistry.can_transition`` evaluated it: worth retrying, so it is raised rather
    than read as "no". ``original_error`` is the exception."""

    code = ErrorCode.GUARD_EXECUTION_ERROR

    def __init__(self, message: str, *, guard_name: str, original_error: BaseException) -> None:
        super().__init__(message, guard_name=guard_name)
        self.guard_name = guard_name
        self.original_error = original_error


#: the exception types :func:`is_transient_error` calls transient (network and I/O failures)
TRANSIENT_ERROR_TYPES: frozenset[type[Exception]] = frozenset(
    {OSError, ConnectionError, TimeoutError}
)


def is_transient_error(exc: BaseException) -> bool:
    """Is ``exc`` worth retrying? True for network and I/O failures (``OSError``, which
    covers ``ConnectionError``, and ``TimeoutError``), False for everything else: bugs,
    validation failures and every :class:`FSMError` (a rejected trigger stays rejected)."""
    return isinstance(exc, OSError | TimeoutError)


@dataclass
class ErrorPolicy:
    """A machine's error handling settings (``machine.error_policy``), as pystator keeps them.

    ``default_fallback`` (a state of the machine) and ``retry_attempts`` come from the config's
    ``error_policy``; like pystator's stateless ``process``, statefleet's machine and sessions
    do not act on them (pystator's Orchestrator does; see docs/migrate-pystator.md): they are
    checked and kept for your own orchestration. ``strict_mode`` (``meta.strict_mode``) and
    its two overrides (``meta.reject_invalid_events``, ``meta.strict_guard_registry``) do act:
    see :meth:`reject_invalid_events_effective` and :meth:`strict_guard_registry_effective`.
    """

    default_fallback: str | None = None
    retry_attempts: int = 0
    strict_mode: bool = True
    reject_invalid_events: bool | None = None
    strict_guard_registry: bool | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def reject_invalid_events_effective(self) -> bool:
        """Does a trigger that is undefined, or has no transition from the current state, fail
        (True), or succeed without moving (False: a no-op result)?"""
        if self.reject_invalid_events is not None:
            return self.reject_invalid_events
        return self.strict_mode

    def strict_guard_registry_effective(self) -> bool:
        """Must every guard the machine names be registered (True), or does an unregistered
        guard pass (False)?"""
        if self.strict_guard_registry is not None:
            return self.strict_guard_registry
        return self.strict_mode

    def should_fallback(self, error: FSMError) -> bool:
        """True when a ``default_fallback`` state is configured."""
        return self.default_fallback is not None


#: pystator's names for the same errors, for ``except`` clauses written against pystator:
#: a definition error (statefleet raises :class:`~statefleet.ChartDefinitionError`), a state
#: that is not in the machine, a guard or action nobody registered
ConfigurationError = ChartDefinitionError
UndefinedStateError = InvalidStateError
GuardNotFoundError = UndefinedGuardError
ActionNotFoundError = UndefinedActionError
