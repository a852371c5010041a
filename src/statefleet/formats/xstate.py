"""The XState dialect's API under its first path: ``from statefleet.formats.xstate import ...``.

The same names as :mod:`statefleet.compat.xstate`, where the front-end lives.
"""

from statefleet.compat.xstate import (
    ActionDef,
    ActionDefinition,
    ActorSpawningError,
    ImplementationMissingError,
    Interpreter,
    InvalidConfigError,
    LoggingInspector,
    LogicLoader,
    MachineLogic,
    NotSupportedError,
    PluginBase,
    StateIds,
    StateNotFoundError,
    SyncInterpreter,
    TransitionInfo,
    XEvent,
    XStateMachineError,
    XStateSession,
    create_machine,
    from_dict,
    from_json,
)

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
    "create_machine",
    "from_dict",
    "from_json",
]
