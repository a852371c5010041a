"""Can an entity get to a given state now? pystator's ``evaluate_destination``: each declared
transition to that state, tried with ``process``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from statefleet.compat.pystator._results import TransitionResult

if TYPE_CHECKING:
    from statefleet.compat.pystator._machine import StateMachine

__all__ = ["DestinationCandidate", "DestinationCheckResult", "evaluate_destination"]


@dataclass(frozen=True, slots=True)
class DestinationCandidate:
    """One declared transition toward the requested state: ``executable`` when processing
    its ``trigger`` now lands there; otherwise ``reason`` (an error code, or
    ``"target_mismatch"`` when it lands elsewhere, such as a compound state's child)."""

    trigger: str
    dest: str
    executable: bool
    transition_result: TransitionResult | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DestinationCheckResult:
    """Whether ``destination_state`` can be reached from ``source_state`` now: ``allowed``
    when at least one candidate is executable (``metadata["ambiguous"]`` when several are;
    ``metadata["reason"]`` is ``"no_transition_to_destination"`` or
    ``"undefined_destination"`` when there is none to try)."""

    allowed: bool
    source_state: str
    destination_state: str
    candidate_count: int
    passing_count: int
    candidates: tuple[DestinationCandidate, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ambiguous(self) -> bool:
        """Do several transitions reach the destination?"""
        return self.passing_count > 1


def evaluate_destination(
    machine: StateMachine,
    current_state: str,
    destination_state: str,
    context: Mapping[str, Any] | None = None,
) -> DestinationCheckResult:
    """For each transition declared from ``current_state`` (or a state containing it) whose
    ``dest`` is ``destination_state`` (history destinations excluded), process its trigger
    with ``context``. Raises :class:`InvalidStateError` for an unknown ``current_state``."""
    ctx = dict(context or {})
    available = machine.get_available_transitions(current_state)
    if not machine.validate_state(destination_state):
        return DestinationCheckResult(
            False, current_state, destination_state, 0, 0, (), {"reason": "undefined_destination"}
        )
    candidates = []
    for t in available:
        if t.dest != destination_state or t.trigger is None:
            continue
        result = machine.process(current_state, t.trigger, ctx)
        executable = result.success and result.target_state == destination_state
        reason = None
        if not executable:
            if result.success:
                reason = "target_mismatch"
            else:
                reason = result.error.code.value if result.error is not None else "failed"
        candidates.append(DestinationCandidate(t.trigger, t.dest, executable, result, reason))
    passing = sum(c.executable for c in candidates)
    meta: dict[str, Any] = {}
    if not candidates:
        meta["reason"] = "no_transition_to_destination"
    elif passing > 1:
        meta["ambiguous"] = True
    return DestinationCheckResult(
        passing > 0,
        current_state,
        destination_state,
        len(candidates),
        passing,
        tuple(candidates),
        meta,
    )
