"""xstate-statemachine's API on statefleet: ``from statefleet.compat.xstate import
create_machine, Interpreter, SyncInterpreter, MachineLogic``.

``create_machine`` reads an XState config (with ``logic=``, ``logic_modules=``,
``logic_providers=``, ``event_schemas=``) into a :class:`MachineNode` (``states``,
``get_state_by_id``; config keys ``maxIterations`` and ``strict``); :class:`XStateSession`
(alias ``SyncInterpreter``) runs it synchronously on a core ``Session``, :class:`Interpreter`
asynchronously as an actor; both take plugins (``use(PluginBase())``), ``on()`` and
``subscribe()``. The built-in actions (``assign``, ``raise_``, ``send_to``, ``spawn_child``,
``pure``, ``choose``, ...) are in :mod:`._builtins`. ``from_dict``/``from_json`` are
statefleet's own readers; ``statefleet.formats.xstate`` is the same API. See
``docs/formats-xstate.md`` and ``docs/migrate-xstate-statemachine.md``.
"""

from statefleet.compat.xstate._async import Interpreter
from statefleet.compat.xstate._builtins import (
    ActionEnqueuer,
    assign,
    cancel,
    choose,
    emit,
    enqueue_actions,
    escalate,
    forward_to,
    log,
    pure,
    raise_,
    send,
    send_parent,
    send_to,
    spawn_child,
    stop_child,
)
from statefleet.compat.xstate._errors import (
    ActorSpawningError,
    ImplementationMissingError,
    InvalidConfigError,
    InvalidEventPayloadError,
    NotSupportedError,
    RunawayChainError,
    StateNotFoundError,
    UnknownEventError,
    XStateMachineError,
)
from statefleet.compat.xstate._interpreter import Event, StateIds, XStateSession
from statefleet.compat.xstate._logic import LogicLoader, create_machine
from statefleet.compat.xstate._machine import MachineNode, StateNode, TransitionDefinition
from statefleet.compat.xstate._plugins import LoggingInspector, PluginBase, TransitionInfo
from statefleet.compat.xstate._waiting import to_promise, wait_for, wait_for_sync
from statefleet.formats._xstate import ActionDef, MachineLogic, XEvent, from_dict, from_json

#: seed 001's name for :class:`XStateSession`
SyncInterpreter = XStateSession
#: xstate-statemachine's name for :class:`ActionDef`
ActionDefinition = ActionDef

__all__ = [
    "ActionDef",
    "ActionDefinition",
    "ActionEnqueuer",
    "ActorSpawningError",
    "Event",
    "ImplementationMissingError",
    "Interpreter",
    "InvalidConfigError",
    "InvalidEventPayloadError",
    "LoggingInspector",
    "LogicLoader",
    "MachineLogic",
    "MachineNode",
    "NotSupportedError",
    "PluginBase",
    "RunawayChainError",
    "StateIds",
    "StateNode",
    "StateNotFoundError",
    "SyncInterpreter",
    "TransitionDefinition",
    "TransitionInfo",
    "UnknownEventError",
    "XEvent",
    "XStateMachineError",
    "XStateSession",
    "assign",
    "cancel",
    "choose",
    "create_machine",
    "emit",
    "enqueue_actions",
    "escalate",
    "forward_to",
    "from_dict",
    "from_json",
    "log",
    "pure",
    "raise_",
    "send",
    "send_parent",
    "send_to",
    "spawn_child",
    "stop_child",
    "to_promise",
    "wait_for",
    "wait_for_sync",
]
