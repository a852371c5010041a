"""stateforward hsm's runtime API beyond ``start``: ``Started`` with a :class:`Config`,
``Dispatch``, ``Stop``, ``Restart``, the instance helpers (``ID``, ``Name``,
``QualifiedName``, ``TakeSnapshot``), attributes (``Get``/``Set``), operations (``Call``)
and the ``After*`` helpers that wait for what a machine does. Each takes a machine, a
started ``hsm.Instance`` or, where hsm allows it, a group.
"""

from __future__ import annotations

import copy
import inspect
import posixpath
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from statefleet.compat.hsm._events import EventKind, kind_of
from statefleet.compat.hsm._group import Group
from statefleet.compat.hsm._operations import CallData, call_event, invoke
from statefleet.compat.hsm._runtime import HSM, Instance, Pending, start, stop
from statefleet.core import (
    Chart,
    ChartDefinitionError,
    EventData,
    Listener,
    RealClock,
    Record,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._builder import Context, Event

__all__ = [
    "ID",
    "AfterDispatch",
    "AfterEntry",
    "AfterExecuted",
    "AfterExit",
    "AfterProcess",
    "Call",
    "Config",
    "EventInfo",
    "Get",
    "HsmSnapshot",
    "Name",
    "New",
    "NewMachine",
    "QualifiedName",
    "Restart",
    "Set",
    "Start",
    "Stop",
    "TakeSnapshot",
    "dispatch",
    "started",
]


class Config:
    """hsm's ``Config``: ``id`` (the machine id), ``name`` (the machine's qualified name, as
    ``QualifiedName`` reports it), ``clock`` (a statefleet :class:`~statefleet.VirtualClock`
    or :class:`~statefleet.RealClock`, or an ``hsm.Clock(sleep=...)``), ``listeners``; hsm's
    capitalised ``ID``, ``Name``, ``Data``, ``Clock`` spell the same fields.

    ``data`` is the data of the initial event (entry behaviours of the initial states see
    it as ``event.data``).
    """

    __slots__ = ("clock", "data", "id", "listeners", "name")

    def __init__(
        self,
        id: str | None = None,
        name: str | None = None,
        data: Any = None,
        clock: VirtualClock | RealClock | Any = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        *,
        ID: str | None = None,
        Name: str | None = None,
        Data: Any = None,
        Clock: VirtualClock | RealClock | Any = None,
    ) -> None:
        self.id = id if id is not None else ID
        self.name = name if name is not None else Name
        self.data = data if data is not None else Data
        self.clock = clock if clock is not None else Clock
        self.listeners = listeners

    def __repr__(self) -> str:
        return f"Config(id={self.id!r}, name={self.name!r}, clock={self.clock!r})"

    @property
    def ID(self) -> str | None:
        """The machine id."""
        return self.id

    @ID.setter
    def ID(self, value: str | None) -> None:
        self.id = value

    @property
    def Name(self) -> str | None:
        """The machine's qualified name."""
        return self.name

    @Name.setter
    def Name(self, value: str | None) -> None:
        self.name = value

    @property
    def Data(self) -> Any:
        """The data of the initial event."""
        return self.data

    @Data.setter
    def Data(self, value: Any) -> None:
        self.data = value

    @property
    def Clock(self) -> VirtualClock | RealClock | Any:
        """The machine's clock."""
        return self.clock

    @Clock.setter
    def Clock(self, value: VirtualClock | RealClock | Any) -> None:
        self.clock = value


class NewMachine:
    """What hsm's ``New(instance, model, config)`` returns: a machine made but not started;
    ``await hsm.Start(ctx, sm)`` starts it, and then every helper taking a machine takes it
    too."""

    __slots__ = ("config", "instance", "machine", "model")

    def __init__(self, instance: Any, model: Chart, config: Config | None = None) -> None:
        if not isinstance(model, Chart):
            raise StatefleetError(f"New() needs a model made by hsm.define(), got {model!r}")
        self.instance = instance
        self.model = model
        self.config = config
        #: the running machine, once started
        self.machine: HSM | None = None

    def __repr__(self) -> str:
        return f"<New {self.model.id!r} {'started' if self.machine else 'not started'}>"


def New(instance: Any, model: Chart, config: Config | None = None) -> NewMachine:
    """A machine for ``instance`` and ``model``, started later by ``Start(ctx, sm)``
    (hsm's ``New``)."""
    return NewMachine(instance, model, config)


async def Start(ctx: Context, instance: Any, model: Chart | None = None, **options: Any) -> HSM:
    """Start ``model`` for ``instance`` (see :func:`~statefleet.compat.hsm.start` for the
    options), or start a machine made by :func:`New`: ``Start(ctx, sm)`` (hsm's ``Start``)."""
    if isinstance(instance, NewMachine):
        if model is not None or options:
            raise StatefleetError("Start(ctx, sm) takes a machine from New() and nothing else")
        if instance.machine is not None:
            raise StatefleetError("this machine from New() was started already")
        instance.machine = await started(ctx, instance.instance, instance.model, instance.config)
        return instance.machine
    if model is None:
        raise StatefleetError("Start(ctx, instance, model) needs a model (or a machine from New())")
    return await start(ctx, instance, model, **options)


def _machine(target: HSM | Instance | NewMachine) -> HSM:
    if isinstance(target, HSM):
        return target
    if isinstance(target, Instance):
        return target.machine
    if isinstance(target, NewMachine):
        if target.machine is None:
            raise StatefleetError(
                "this machine from New() is not started: await hsm.Start(ctx, sm)"
            )
        return target.machine
    raise StatefleetError(
        f"expected a machine from hsm.start() or a started hsm.Instance, got "
        f"{type(target).__name__}"
    )


async def started(ctx: Context, instance: Any, model: Chart, config: Config | None = None) -> HSM:
    """Start ``model`` for ``instance`` with a :class:`Config` (hsm's ``Started``)."""
    config = config if config is not None else Config()
    if not isinstance(config, Config):
        raise StatefleetError(f"started() takes an hsm.Config, not {type(config).__name__}")
    name = config.name
    if name is not None and (not isinstance(name, str) or not name.startswith("/")):
        raise StatefleetError(f"hsm.Config(name=...) must be a path such as '/Name', got {name!r}")
    return await start(
        ctx,
        instance,
        model,
        clock=config.clock,
        listeners=config.listeners,
        id=config.id,
        name=name,
        data=config.data,
    )


async def dispatch(
    ctx: Context, target: HSM | Instance | Group, event: Event | str, data: Any = None
) -> None:
    """Dispatch ``event`` to the machine of ``target``, or to every member of a group
    (hsm's ``Dispatch(ctx, instance, event)``); returns once it and its ``async def``
    behaviours ran."""
    if isinstance(target, Group):
        await target.dispatch(event, data)
    else:
        await _machine(target).dispatch(event, data)


async def Stop(target: HSM | Instance | Group) -> None:
    """Stop the machine of ``target``, or every member of a group (hsm's ``Stop``);
    stopping an instance that is not running does nothing."""
    if isinstance(target, Group):
        await target.stop()
    elif isinstance(target, NewMachine):
        if target.machine is not None:
            await target.machine.stop()
    else:
        await stop(target)


def ID(target: HSM | Instance) -> str:
    """The machine's id (``Config(id=...)``, else a generated one)."""
    return _machine(target).id


def QualifiedName(target: HSM | Instance) -> str:
    """The machine's path: ``/<name>``, or ``Config(name=...)``."""
    return _machine(target).path


def Name(target: HSM | Instance) -> str:
    """The last segment of the machine's path (the name given to ``define``)."""
    return posixpath.basename(_machine(target).path)


def Get(ctx: Context | None, target: HSM | Instance, name: str) -> tuple[Any, bool]:
    """``(value, True)`` for attribute ``name`` (short or ``/<machine>/<name>``), or
    ``(None, False)`` if the machine has no such attribute (hsm's ``Get``)."""
    return _machine(target).get(name)


def Set(ctx: Context | None, target: HSM | Instance, name: str, value: Any) -> Pending:
    """Set attribute ``name``; a changed value dispatches its change event, which
    ``OnSet(name)`` transitions take (hsm's ``Set``; await it before looking at the state)."""
    return _machine(target).set(name, value)


async def Restart(target: HSM | Instance | Group, data: Any = None) -> None:
    """Stop the machine and start it again from its initial state, the initial event
    carrying ``data`` (hsm's ``Restart``); a group restarts every member."""
    if isinstance(target, Group):
        await target.restart(data)
    else:
        await _machine(target).restart(data)


async def Call(ctx: Context | None, target: HSM | Instance, name: str, *args: Any) -> Any:
    """Call operation ``name`` with ``args`` (hsm's ``Call``): the callback runs, the call
    event ``OnCall(name)`` transitions take is dispatched (its data a ``CallData``), and the
    callback's result is returned; an exception from the callback propagates after the
    dispatch."""
    sm = _machine(target)
    operations = sm.model.meta.get("hsm", {}).get("operations", {})
    if name not in operations:
        raise ChartDefinitionError(f'missing operation "{name}" for OnCall()', path=sm.path)
    result: Any = None
    failure: Exception | None = None
    try:
        result = invoke(name, operations[name], sm.ctx, sm.instance, args)
    except Exception as exc:
        failure = exc
    await sm.dispatch(EventData(call_event(sm.model.id, name), CallData(name, args)))
    if failure is not None:
        raise failure
    if inspect.isawaitable(result):
        result = await result
    return result


def AfterEntry(ctx: Context | None, target: HSM | Instance, state: str) -> Awaitable[None]:
    """An awaitable done when ``state`` (a path) is next entered (hsm's ``AfterEntry``)."""
    return _machine(target).waiter("entry", state)


def AfterExit(ctx: Context | None, target: HSM | Instance, state: str) -> Awaitable[None]:
    """An awaitable done when ``state`` (a path) is next exited (hsm's ``AfterExit``)."""
    return _machine(target).waiter("exit", state)


def AfterProcess(
    ctx: Context | None, target: HSM | Instance, event: Event | str | None = None
) -> Awaitable[None]:
    """An awaitable done when the machine next finishes processing ``event`` (any event
    if None): hsm's ``AfterProcess``."""
    name = event.name if isinstance(event, Event) else event
    return _machine(target).waiter("process", name)


def AfterDispatch(
    ctx: Context | None, target: HSM | Instance, event: Event | str
) -> Awaitable[None]:
    """An awaitable done when ``event`` is next dispatched (hsm's ``AfterDispatch``)."""
    name = event.name if isinstance(event, Event) else event
    return _machine(target).waiter("dispatch", name)


def AfterExecuted(ctx: Context | None, target: HSM | Instance, state: str) -> Awaitable[None]:
    """An awaitable done when an activity of ``state`` next returns (hsm's
    ``AfterExecuted``)."""
    return _machine(target).waiter("executed", state)


@dataclass(frozen=True, slots=True)
class EventInfo:
    """An event the machine would take now (hsm's snapshot entry): its name and kind."""

    name: str
    kind: int = EventKind

    @property
    def Name(self) -> str:
        """The event name."""
        return self.name

    @property
    def Kind(self) -> int:
        """The event's kind (``ChangeEventKind`` for an attribute's change event, ...)."""
        return self.kind


@dataclass(frozen=True, slots=True)
class HsmSnapshot:
    """hsm's ``Snapshot``: id, qualified name, current state, queue length and the events
    the machine would take now; both spellings (``State`` / ``state``) read."""

    id: str
    qualified_name: str
    state: str
    queue_len: int = 0
    events: tuple[EventInfo, ...] = field(default_factory=tuple)
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def ID(self) -> str:
        """The machine id."""
        return self.id

    @property
    def QualifiedName(self) -> str:
        """The machine path."""
        return self.qualified_name

    @property
    def State(self) -> str:
        """The current (deepest) state's path."""
        return self.state

    @property
    def QueueLen(self) -> int:
        """Events waiting: those ``Defer`` holds back (``dispatch`` runs every other event
        to completion)."""
        return self.queue_len

    @property
    def Attributes(self) -> dict[str, Any]:
        """The attributes by qualified name (``/<machine>/<name>``), copied."""
        return self.attributes

    @property
    def Events(self) -> tuple[EventInfo, ...]:
        """The events the machine would take now."""
        return self.events


def TakeSnapshot(ctx: Context, target: HSM | Instance | Group) -> HsmSnapshot:
    """A :class:`HsmSnapshot` of the machine (hsm's ``TakeSnapshot``); a group's has its
    id, no qualified name and its first member's state."""
    if isinstance(target, Group):
        return HsmSnapshot(target.id, "", target.state())
    sm = _machine(target)
    events = tuple(
        EventInfo(n, kind_of(n, sm.model.id))
        for n in sm.session.enabled_events()
        if not n.startswith("$")
    )
    attributes = copy.deepcopy(sm.attributes())
    return HsmSnapshot(sm.id, sm.path, sm.state(), len(sm.deferred), events, attributes)
