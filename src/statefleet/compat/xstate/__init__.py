"""xstate-statemachine's API on statefleet: ``from statefleet.compat.xstate import
create_machine, Interpreter, SyncInterpreter, MachineLogic``.

``create_machine`` reads an XState config (with ``logic=``, ``logic_modules=``,
``logic_providers=``); :class:`XStateSession` (alias ``SyncInterpreter``) runs it
synchronously on a core ``Session``, :class:`Interpreter` asynchronously as an actor; both
take plugins (``use(PluginBase())``). ``from_dict``/``from_json`` are statefleet's own
readers. ``statefleet.formats.xstate`` is the same API. See ``docs/formats-xstate.md`` and
``docs/migrate-xstate-statemachine.md``.
"""

from statefleet.compat.xstate._async import Interpreter
from statefleet.compat.xstate._builtins import assign, emit, log, raise_
from statefleet.compat.xstate._errors import (
    ActorSpawningError,
    ImplementationMissingError,
    InvalidConfigError,
    NotSupportedError,
    StateNotFoundError,
    XStateMachineError,
)
from statefleet.compat.xstate._interpreter import StateIds, XStateSession
from statefleet.compat.xstate._logic import LogicLoader, create_machine
from statefleet.compat.xstate._plugins import LoggingInspector, PluginBase, TransitionInfo
from statefleet.formats._xstate import ActionDef, MachineLogic, XEvent, from_dict, from_json

#: seed 001's name for :class:`XStateSession`
SyncInterpreter = XStateSession
#: xstate-statemachine's name for :class:`ActionDef`
ActionDefinition = ActionDef

__all__ = [
    "ActionDef",
    "ActionDefinition",
    "ActorSpawningError",
    "ImplementationMissingError",
    "Interpreter",
    "InvalidConfigError",
    "LoggingInspector",
    "LogicLoader",
    "MachineLogic",
    "NotSupportedError",
    "PluginBase",
    "StateIds",
    "StateNotFoundError",
    "SyncInterpreter",
    "TransitionInfo",
    "XEvent",
    "XStateMachineError",
    "XStateSession",
    "assign",
    "create_machine",
    "emit",
    "from_dict",
    "from_json",
    "log",
    "raise_",
]
