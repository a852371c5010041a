"""hsm's groups and broadcast: ``NewGroup``/``MakeGroup``, ``DispatchAll``, ``DispatchTo``.

A :class:`Group` is a flat list of instances that ``Dispatch``, ``Stop`` and ``Restart``
address together. ``DispatchAll(ctx, event)`` reaches every machine started with ``ctx``
and still running, ``DispatchTo(ctx, event, *patterns)`` those whose id matches a pattern
(``*`` and ``?`` wildcards, :func:`match`). The machines of a context are found through the
context itself (each machine notes its context when it starts, weakly): there is no
process-wide registry.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import uuid
import weakref
from typing import Any

from statefleet.compat.hsm._runtime import HSM, Instance
from statefleet.core import StatefleetError
from statefleet.formats._builder import Context, Event

__all__ = ["Group", "dispatch_all", "dispatch_to", "machines_of", "match"]

_IDS = itertools.count(1)
_PREFIX = uuid.uuid4().hex[:8]

#: the running machines started with each context, by id (both sides weak)
_by_context: weakref.WeakKeyDictionary[Context, weakref.WeakValueDictionary[str, HSM]] = (
    weakref.WeakKeyDictionary()
)


def note_started(sm: HSM) -> None:
    """Note ``sm`` as a machine of its context (``DispatchAll``/``DispatchTo`` find it)."""
    _by_context.setdefault(sm.ctx, weakref.WeakValueDictionary())[sm.id] = sm


def machines_of(ctx: Context) -> list[HSM]:
    """The running machines started with ``ctx``, in start order."""
    found = _by_context.get(ctx)
    return [sm for sm in list(found.values()) if not sm.stopped] if found is not None else []


def match(value: str, *patterns: str) -> bool:
    """True if ``value`` matches one of ``patterns`` (``*`` and ``?`` wildcards): hsm's
    ``Match``."""
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


async def dispatch_all(ctx: Context, event: Event | str) -> None:
    """Dispatch ``event`` to every running machine started with ``ctx`` (hsm's
    ``DispatchAll``)."""
    for sm in machines_of(ctx):
        await sm.dispatch(event)


async def dispatch_to(ctx: Context, event: Event | str, *patterns: str) -> None:
    """Dispatch ``event`` to the running machines of ``ctx`` whose id matches one of
    ``patterns`` (hsm's ``DispatchTo``)."""
    for sm in machines_of(ctx):
        if match(sm.id, *patterns):
            await sm.dispatch(event)


class Group:
    """Instances addressed together (hsm's ``NewGroup``/``MakeGroup``): nested groups are
    flattened; ``Dispatch``, ``Stop`` and ``Restart`` reach every member, in order."""

    def __init__(self, *members: Instance | Group | None) -> None:
        self.instances: list[Instance] = []
        for m in members:
            if m is None:
                continue
            if isinstance(m, Group):
                self.instances.extend(m.instances)
            elif isinstance(m, Instance):
                self.instances.append(m)
            else:
                raise StatefleetError(
                    f"a group holds hsm.Instance objects and groups, not {type(m).__name__}"
                )
        #: the group's own id (hsm's snapshot of a group reports it)
        self.id = f"group-{_PREFIX}{next(_IDS):x}"

    def __repr__(self) -> str:
        return f"<Group {self.id} of {len(self.instances)}>"

    def Instances(self) -> list[Instance]:
        """The members, in order."""
        return list(self.instances)

    def state(self) -> str:
        """The first member's state (``""`` for an empty group)."""
        return self.instances[0].state() if self.instances else ""

    async def dispatch(self, event: Event | str, data: Any = None) -> None:
        """Dispatch ``event`` to every member."""
        machines = [inst.machine for inst in self.instances]  # every member must be running
        for sm in machines:
            await sm.dispatch(event, data)

    async def stop(self) -> None:
        """Stop every member."""
        for inst in self.instances:
            await inst.stop()

    async def restart(self, data: Any = None) -> None:
        """Restart every member, each with its own copy of ``data``."""
        machines = [inst.machine for inst in self.instances]
        for sm in machines:
            await sm.restart(copy.deepcopy(data))
