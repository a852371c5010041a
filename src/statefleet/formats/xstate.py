"""The XState dialect's API: ``from statefleet.formats.xstate import XStateSession``.

``from_dict``/``from_json`` read XState-style configs (seed 001); :class:`XStateSession` runs
them with the seed's ``SyncInterpreter`` view; :class:`MachineLogic` holds the actions,
guards and services a config names. ``create_machine`` and ``SyncInterpreter`` are the seed's
names for ``from_dict`` and ``XStateSession``, so seed 001 programs need only a new import
line. See :mod:`statefleet.formats._xstate` and ``docs/formats-xstate.md``.
"""

from statefleet.formats._xstate import (
    ActionDef,
    MachineLogic,
    StateIds,
    XEvent,
    XStateSession,
    from_dict,
    from_json,
)

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
