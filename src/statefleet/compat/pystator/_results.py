"""The outcome of one trigger: :class:`TransitionResult` and the delayed transitions it
started (:class:`ScheduledTransition`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from statefleet.compat.pystator._errors import FSMError
from statefleet.core import Snapshot
from statefleet.formats._yaml import ActionCall


@dataclass(frozen=True)
class ScheduledTransition:
    """A delayed transition started by a step: ``event`` fires at ``due`` (``delay`` seconds
    after the step) unless its ``state`` exits first. ``trigger`` is its readable name (the
    transition's trigger, ``"timeout"`` or ``"after"``). A stateless caller schedules
    ``machine.process(state, event, context)`` for that time."""

    event: str
    trigger: str
    state: str
    delay: float
    due: float


@dataclass(frozen=True)
class TransitionResult:
    """The outcome of one trigger.

    ``success`` says whether a transition was taken; then ``target_state`` is the new state
    and ``actions_to_run`` the actions to run after committing it (exit, transition, enter
    order). Otherwise ``error`` is the :class:`FSMError` and ``metadata`` explains it
    (``{"reason": "guard_rejected", "guard_name": ..., ...}``). ``snapshot`` is the complete
    new state (history, pending delayed transitions); pass it to the next ``process`` call to
    keep them. ``active_states`` lists the active leaf states (several inside parallel
    regions), ``scheduled``/``cancelled`` the delayed transitions started and cancelled.
    """

    success: bool
    source_state: str | None
    target_state: str | None
    trigger: str
    actions_to_run: tuple[ActionCall, ...] = ()
    error: FSMError | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    active_states: tuple[str, ...] = ()
    scheduled: tuple[ScheduledTransition, ...] = ()
    cancelled: tuple[str, ...] = ()

    @classmethod
    def success_result(
        cls,
        source_state: str | None,
        target_state: str | None,
        trigger: str,
        actions_to_run: Sequence[ActionCall] = (),
        **metadata: Any,
    ) -> TransitionResult:
        """A successful result (pystator's constructor, for code that builds results itself,
        such as a test double or a custom store)."""
        return cls(True, source_state, target_state, trigger, tuple(actions_to_run), None, metadata)

    @classmethod
    def failure_result(
        cls, source_state: str | None, trigger: str, error: FSMError
    ) -> TransitionResult:
        """A failed result carrying ``error`` (``metadata`` explains it, as ``process`` does)."""
        if not isinstance(error, FSMError):
            raise TypeError(f"failure_result needs an FSMError, got {type(error).__name__}")
        return cls(False, source_state, None, trigger, (), error, error.to_metadata())

    @property
    def action_names(self) -> list[str]:
        """The names of ``actions_to_run``, in order."""
        return [a.name for a in self.actions_to_run]

    def raise_for_error(self) -> TransitionResult:
        """Raise ``error`` if there is one; return self otherwise."""
        if self.error is not None:
            raise self.error
        return self


#: what ``process`` and ``snapshot_for`` accept as "the current state"
StateInput = str | Iterable[str] | Snapshot | Mapping[str, Any] | TransitionResult
