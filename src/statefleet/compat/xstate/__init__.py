"""XState's Python API on statefleet (xstate-statemachine): ``from statefleet.compat.xstate import
create_machine, SyncInterpreter``.

``from_dict``/``from_json`` (alias ``create_machine``) read XState-style configs (seed 001);
:class:`XStateSession` (alias ``SyncInterpreter``) runs them; :class:`MachineLogic` holds the
actions, guards and services a config names. ``statefleet.formats.xstate`` is the same API.
See ``docs/formats-xstate.md``.
"""

from statefleet.compat.xstate._interpreter import StateIds, XStateSession
from statefleet.formats._xstate import ActionDef, MachineLogic, XEvent, from_dict, from_json

#: seed 001's name for :func:`from_dict`
create_machine = from_dict
#: seed 001's name for :class:`XStateSession`
SyncInterpreter = XStateSession

__all__ = [
    "ActionDef",
    "MachineLogic",
    "StateIds",
    "SyncInterpreter",
    "XEvent",
    "XStateSession",
    "create_machine",
    "from_dict",
    "from_json",
]
