"""stateforward hsm's newer API: the capitalised names (``hsm.Define``, ``hsm.State``,
``hsm.Dispatch``, ``hsm.Started``, ...), their snake_case forms (``hsm.dispatch``,
``hsm.started``, ...), ``hsm.At`` and the instance helpers (``hsm.ID``, ``hsm.Name``,
``hsm.QualifiedName``, ``hsm.TakeSnapshot``).

The elements hsm offers that statefleet's builder does not model (``Defer``, ``When``,
``Attribute``/``Get``/``Set``/``OnSet``) raise a
:class:`~statefleet.ChartDefinitionError` that says so, instead of an ``AttributeError``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from statefleet.compat.hsm._runtime import HSM, Instance, start
from statefleet.core import (
    Chart,
    ChartDefinitionError,
    Listener,
    RealClock,
    Record,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._builder import Behavior, Context, Element, Event, after

__all__ = [
    "ID",
    "Config",
    "EventInfo",
    "HsmSnapshot",
    "Name",
    "QualifiedName",
    "TakeSnapshot",
    "at",
    "dispatch",
    "started",
    "unsupported",
]


@dataclass(slots=True)
class Config:
    """hsm's ``Config``: ``id`` (the machine's session id), ``clock`` (a statefleet
    :class:`~statefleet.VirtualClock` or :class:`~statefleet.RealClock`), ``listeners``.

    hsm's ``name`` and ``data`` are not supported: the machine's name is the model's, and
    the initial event carries no data (``Config(name=...)`` or ``data=...`` raise).
    """

    id: str | None = None
    clock: VirtualClock | RealClock | None = None
    listeners: Iterable[Listener | Callable[[Record], Any]] = ()
    name: Any = None
    data: Any = None


def _machine(target: HSM | Instance) -> HSM:
    if isinstance(target, HSM):
        return target
    if isinstance(target, Instance):
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
    for key in ("name", "data"):
        if getattr(config, key) is not None:
            raise StatefleetError(
                f"hsm.Config({key}=...) is not supported by statefleet "
                "(see docs/migrate-stateforward-hsm.md)"
            )
    return await start(
        ctx, instance, model, clock=config.clock, listeners=config.listeners, id=config.id
    )


async def dispatch(
    ctx: Context, target: HSM | Instance, event: Event | str, data: Any = None
) -> None:
    """Dispatch ``event`` to the machine of ``target`` (hsm's ``Dispatch(ctx, instance,
    event)``); returns once it and its ``async def`` behaviours ran."""
    await _machine(target).dispatch(event, data)


def ID(target: HSM | Instance) -> str:
    """The machine's id (``Config(id=...)``, else its session id)."""
    return _machine(target).session.session_id


def QualifiedName(target: HSM | Instance) -> str:
    """The machine's path, ``/<name>``."""
    return "/" + _machine(target).model.id


def Name(target: HSM | Instance) -> str:
    """The machine's name (the name given to ``define``)."""
    return _machine(target).model.id


@dataclass(frozen=True, slots=True)
class EventInfo:
    """An event the machine would take now (hsm's snapshot entry)."""

    name: str

    @property
    def Name(self) -> str:
        """The event name."""
        return self.name


@dataclass(frozen=True, slots=True)
class HsmSnapshot:
    """hsm's ``Snapshot``: id, qualified name, current state, queue length and the events
    the machine would take now; both spellings (``State`` / ``state``) read."""

    id: str
    qualified_name: str
    state: str
    queue_len: int = 0
    events: tuple[EventInfo, ...] = field(default_factory=tuple)

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
        """Events waiting (always 0: ``dispatch`` runs each event to completion)."""
        return self.queue_len

    @property
    def Events(self) -> tuple[EventInfo, ...]:
        """The events the machine would take now."""
        return self.events


def TakeSnapshot(ctx: Context, target: HSM | Instance) -> HsmSnapshot:
    """A :class:`HsmSnapshot` of the machine (hsm's ``TakeSnapshot``)."""
    sm = _machine(target)
    events = tuple(EventInfo(n) for n in sm.session.enabled_events() if not n.startswith("$"))
    return HsmSnapshot(ID(sm), QualifiedName(sm), sm.state(), 0, events)


def at(when: datetime.datetime | Behavior) -> Element:
    """A time trigger at the wall-clock instant ``when`` (a ``datetime``, or a behaviour
    returning one), measured when the state is entered: hsm's ``At``. A past instant fires
    at once."""

    def seconds_until(ctx: Context, instance: Any, event: Event) -> float:
        moment = when(ctx, instance, event) if callable(when) else when
        if not isinstance(moment, datetime.datetime):
            raise StatefleetError(f"hsm.at() needs a datetime, got {type(moment).__name__}")
        now = datetime.datetime.now(moment.tzinfo)
        return max(0.0, (moment - now).total_seconds())

    if not callable(when) and not isinstance(when, datetime.datetime):
        raise ChartDefinitionError(
            f"at() takes a datetime or a behaviour returning one, not {type(when).__name__}",
            path="at",
        )
    return after(seconds_until)


_WHY = {
    "Defer": "SCXML has no deferred events; keep the event in the datamodel and re-raise it "
    "on entry of the state that handles it",
    "When": "change events are not modelled; dispatch an event where the value changes",
    "Attribute": "attributes are not modelled; keep data on the instance",
    "Get": "attributes are not modelled; read the instance's fields",
    "Set": "attributes are not modelled; set the field and dispatch an event",
    "OnSet": "attributes are not modelled; dispatch an event where the value changes",
}


def unsupported(name: str) -> Callable[..., Any]:
    """An hsm name statefleet does not offer: calling it raises a
    :class:`~statefleet.ChartDefinitionError` saying why and what to do instead."""
    why = _WHY[name]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ChartDefinitionError(f"hsm.{name} is not supported by statefleet: {why}", path=name)

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"Not supported: {why}."
    return refuse
