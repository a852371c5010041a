"""The outcome of one trigger: :class:`TransitionResult` and the delayed transitions it
started (:class:`ScheduledTransition`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from statefleet.compat.pystator._errors import FSMError
from statefleet.compat.pystator._model import ActionSpec
from statefleet.core import Snapshot
from statefleet.formats._yaml import ActionCall

Phase = Literal["exit", "transition", "enter"]


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
        *,
        actions: Iterable[ActionCall | ActionSpec | str] = (),
        on_exit: Iterable[ActionCall | ActionSpec | str] = (),
        on_enter: Iterable[ActionCall | ActionSpec | str] = (),
        metadata: Mapping[str, Any] | None = None,
        **more: Any,
    ) -> TransitionResult:
        """A successful result (pystator's constructor, for code that builds results itself,
        such as a test double or a custom store). ``on_exit``, ``actions`` and ``on_enter``
        (names, :class:`ActionSpec` or :class:`ActionCall`) follow ``actions_to_run`` in that
        order; ``metadata`` and keyword arguments make the metadata."""
        calls = [
            *actions_to_run,
            *(_call(a, "exit") for a in on_exit),
            *(_call(a, "transition") for a in actions),
            *(_call(a, "enter") for a in on_enter),
        ]
        return cls(
            True,
            source_state,
            target_state,
            trigger,
            tuple(calls),
            None,
            {**(metadata or {}), **more},
        )

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

    @property
    def all_actions(self) -> tuple[str, ...]:
        """pystator's name for the action names, in order (exit, transition, enter)."""
        return tuple(a.name for a in self.actions_to_run)

    def _phase(self, phase: str) -> tuple[ActionCall, ...]:
        return tuple(a for a in self.actions_to_run if a.phase == phase)

    @property
    def on_exit_actions(self) -> tuple[ActionCall, ...]:
        """The exit actions of the states left, innermost first."""
        return self._phase("exit")

    @property
    def actions_to_execute(self) -> tuple[ActionCall, ...]:
        """The transition's own actions."""
        return self._phase("transition")

    @property
    def on_enter_actions(self) -> tuple[ActionCall, ...]:
        """The enter actions of the states entered, outermost first."""
        return self._phase("enter")

    @property
    def state_changed(self) -> bool:
        """Did the transition move to another state?"""
        return self.success and self.target_state != self.source_state

    @property
    def is_self_transition(self) -> bool:
        """Did the transition end in the state it started from?"""
        return self.success and self.target_state == self.source_state

    def raise_for_error(self) -> TransitionResult:
        """Raise ``error`` if there is one; return self otherwise."""
        if self.error is not None:
            raise self.error
        return self


#: what ``process`` and ``snapshot_for`` accept as "the current state"
StateInput = str | Iterable[str] | Snapshot | Mapping[str, Any] | TransitionResult


def _call(item: ActionCall | ActionSpec | str, phase: Phase) -> ActionCall:
    """``item`` as an :class:`ActionCall` of ``phase``."""
    if isinstance(item, ActionCall):
        return item
    if isinstance(item, ActionSpec):
        return ActionCall(item.name, dict(item.params) or None, phase)
    if isinstance(item, str):
        return ActionCall(item, None, phase)
    raise TypeError(f"an action is a name, an ActionSpec or an ActionCall, not {item!r}")
