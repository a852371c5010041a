"""python-statemachine 3's API on statefleet: ``from statefleet.compat.psm import StateChart``.

The class DSL (``class M(StateChart)``, ``State``, ``Event``, ``a.to(b)``, callbacks found by
name) compiles once per class into a core :class:`~statefleet.core.Chart`; instances are sync
:class:`~statefleet.core.Session` objects. The most used names are also exported by
``statefleet`` itself.
"""

from statefleet.compat.psm._chart import StateChart, StateMachine
from statefleet.compat.psm._definition import (
    Event,
    HistoryState,
    State,
    States,
    Transition,
    TransitionList,
)
from statefleet.compat.psm.exceptions import (
    AttrNotFound,
    InvalidDefinition,
    StateMachineError,
    TransitionNotAllowed,
)
from statefleet.compat.psm.invoke import IInvoke, InvokeContext, invoke_group

__all__ = [
    "AttrNotFound",
    "Event",
    "HistoryState",
    "IInvoke",
    "InvalidDefinition",
    "InvokeContext",
    "State",
    "StateChart",
    "StateMachine",
    "StateMachineError",
    "States",
    "Transition",
    "TransitionList",
    "TransitionNotAllowed",
    "invoke_group",
]
