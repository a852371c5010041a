"""pystator's workflow outcome labels (``pystator.workflow_status``): where an entity stands,
read from its state's type, for stores and dashboards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from statefleet.compat.pystator._errors import InvalidStateError

if TYPE_CHECKING:
    from statefleet.compat.pystator._machine import StateMachine

__all__ = [
    "WORKFLOW_STATUS_ACTIVE",
    "WORKFLOW_STATUS_COMPLETE",
    "WORKFLOW_STATUS_FAILED",
    "WORKFLOW_VALID_STATUSES",
    "WorkflowStatusLiteral",
    "compute_workflow_status",
]

WORKFLOW_STATUS_ACTIVE = "active"
WORKFLOW_STATUS_COMPLETE = "complete"
WORKFLOW_STATUS_FAILED = "failed"
WORKFLOW_VALID_STATUSES = frozenset(
    {WORKFLOW_STATUS_ACTIVE, WORKFLOW_STATUS_COMPLETE, WORKFLOW_STATUS_FAILED}
)
WorkflowStatusLiteral = Literal["active", "complete", "failed"]


def compute_workflow_status(machine: StateMachine, state_name: str) -> WorkflowStatusLiteral:
    """``"complete"`` in a ``terminal`` state, ``"failed"`` in an ``error`` state,
    ``"active"`` otherwise (an unknown state name too, as pystator: stored rows may outlive a
    definition)."""
    try:
        state = machine.get_state(state_name)
    except InvalidStateError:
        return "active"
    if state.is_terminal:
        return "complete"
    if state.is_error:
        return "failed"
    return "active"
