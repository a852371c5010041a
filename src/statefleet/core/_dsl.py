"""The class DSL: python-statemachine 3's ``StateChart``, compiled to a core :class:`Chart`.

A chart class declares its states as class attributes (``State``, ``HistoryState``, nested
``State.Compound`` / ``State.Parallel`` class bodies) and its events as attributes holding
transition lists (``start = idle.to(working)``, combined with ``|``, or wrapped in
``Event(..., id="error.execution")``). Bare ``a.to(b)`` statements that no attribute names
become eventless transitions. Callbacks are found by naming convention (``on_enter_<state>``,
``on_exit_<state>``, ``before_<event>``, ``on_<event>``, ``after_<event>`` and the generic
``on_enter_state``, ``on_exit_state``, ``before_transition``, ``on_transition``,
``after_transition``) or given inline (``enter=``, ``exit=``, ``cond=``, ``unless=``,
``on=``, ``before=``, ``after=``, ``validators=``) as callables or method names.

The class is compiled **once**, when it is created (``__init_subclass__``), into a
:class:`~statefleet.core.ChartSpec` and then a :class:`~statefleet.core.Chart` cached on the
class (``MyChart.chart``). Every callback becomes a core action whose arguments are decided
then, from its signature: ``event``, ``event_data``, ``source``, ``target``, ``state``,
``machine``, ``model``, ``transition``, ``error`` and any other name (looked up in the event's
data, i.e. the keyword arguments given to ``send``), ``**kwargs`` receiving all of them.
Nothing is inspected or looked up by name when an event is processed.

Instances are sync :class:`~statefleet.core.Session` objects (``StateChart`` subclasses
``Session``): ``send``, ``raise_``, triggers (``sm.start()``), ``configuration_values``,
``snapshot()`` and ``MyChart.restore(snapshot)``.

Callback order inside a microstep (python-statemachine's): ``before_transition``, inline
``before=``, ``before_<event>``; then exits (``on_exit_state``, inline ``exit=``,
``on_exit_<state>``); then ``on_transition``, inline ``on=``, ``on_<event>``; then entries
(``on_enter_state``, inline ``enter=``, ``on_enter_<state>``); then inline ``after=``,
``after_<event>``, ``after_transition``. Each callback is its own block: an exception in one
(with ``catch_errors_as_events = True``, the default) raises ``error.execution`` carrying the
exception and the others still run, so ``after_<event>`` works as a finalize hook.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import itertools
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from statefleet.core._api import Chart, RealClock, Session, VirtualClock, compile_chart
from statefleet.core._errors import ChartDefinitionError
from statefleet.core._events import EventData, parse_descriptors
from statefleet.core._model import Action, ChartSpec, StateSpec, TransitionSpec
from statefleet.core._records import Listener, Record
from statefleet.core._snapshot import Snapshot

__all__ = [
    "Event",
    "HistoryState",
    "State",
    "StateChart",
    "Transition",
    "TransitionList",
]

# callback priorities (python-statemachine's): generic < inline < decorator < naming < after
_GENERIC = 0
_INLINE = 10
_DECORATOR = 20
_NAMING = 30
_AFTER = 40

#: names a state or event may not take: the DSL itself calls them on the instance
_RESERVED = frozenset({"send", "raise_", "model", "cancel_event"})

_SEPARATOR_RE = re.compile(r"[_.]")
_EVENT_COUNTER = itertools.count(1)


def _humanize(id: str) -> str:
    """``"error.execution"`` -> ``"Error execution"`` (python-statemachine's default names)."""
    return _SEPARATOR_RE.sub(" ", id).strip().capitalize()


def _expand_event_id(key: str) -> tuple[str, ...]:
    """The event ids an attribute name declares (python-statemachine 3's rule).

    ``error_X``, ``done_state_X`` and ``done_invoke_X`` also declare their SCXML dotted
    forms (``error.X``, ``done.state.X``, ``done.invoke.X``); any other name only itself.
    """
    if key.startswith("done_invoke_"):
        return (key, f"done.invoke.{key[len('done_invoke_') :]}")
    if key.startswith("done_state_"):
        return (key, f"done.state.{key[len('done_state_') :]}")
    if key.startswith("error_"):
        return (key, key.replace("_", "."))
    return (key,)


def _definition_scope() -> tuple[str, str] | None:
    """The class body a transition is declared in (``(module, qualname)``), if any.

    Used so that a subclass's transitions from inherited states do not leak into sibling
    subclasses compiled later. Called at definition time only.
    """
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    if frame is None:
        return None
    ns = frame.f_locals
    qualname = ns.get("__qualname__")
    module = ns.get("__module__")
    if isinstance(qualname, str) and isinstance(module, str) and frame.f_code.co_name != "<module>":
        return (module, qualname)
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str) or callable(value):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


# -- definition objects ----------------------------------------------------------------------


class _CallbackHolder:
    """Decorators adding callbacks to every transition of a list (``@go.on``)."""

    def _transitions_for_callbacks(self) -> list[Transition]:
        raise NotImplementedError

    def _add(self, group: str, func: Any) -> Any:
        for t in self._transitions_for_callbacks():
            getattr(t, group).append((_DECORATOR, func))
        return func

    def before(self, func: Any) -> Any:
        """Decorator: run ``func`` before the transitions (before any exit)."""
        return self._add("_before", func)

    def on(self, func: Any) -> Any:
        """Decorator: run ``func`` as the transitions' content (between exits and entries)."""
        return self._add("_on", func)

    def after(self, func: Any) -> Any:
        """Decorator: run ``func`` after the transitions' entries (a finalize hook)."""
        return self._add("_after", func)

    def cond(self, func: Any) -> Any:
        """Decorator: add a guard that must be truthy."""
        return self._add("_cond", func)

    def unless(self, func: Any) -> Any:
        """Decorator: add a guard that must be falsy."""
        return self._add("_unless", func)

    def validators(self, func: Any) -> Any:
        """Decorator: add a validator (raises to refuse the event; the error reaches ``send``)."""
        return self._add("_validators", func)


class Transition:
    """One declared transition (``source.to(target, ...)``); see :meth:`State.to`."""

    __slots__ = (
        "_after",
        "_before",
        "_cond",
        "_events",
        "_on",
        "_scope",
        "_unless",
        "_validators",
        "internal",
        "source",
        "targets",
    )

    def __init__(
        self,
        source: State,
        target: State | list[State] | tuple[State, ...] | None = None,
        *,
        event: Any = None,
        internal: bool = False,
        cond: Any = None,
        unless: Any = None,
        on: Any = None,
        before: Any = None,
        after: Any = None,
        validators: Any = None,
        _scope: tuple[str, str] | None = None,
    ) -> None:
        self.source = source
        if target is None:
            self.targets: list[State] = []
        elif isinstance(target, list | tuple):
            self.targets = list(target)
        else:
            self.targets = [target]
        self.internal = internal
        self._events: list[Any] = _as_list(event)
        self._cond: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(cond)]
        self._unless: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(unless)]
        self._validators: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(validators)]
        self._on: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(on)]
        self._before: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(before)]
        self._after: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(after)]
        self._scope = _scope

    @property
    def target(self) -> State | None:
        """The first target (``None`` for a targetless transition)."""
        return self.targets[0] if self.targets else None

    @property
    def is_self(self) -> bool:
        """Is this a self-transition (its only target is its source)?"""
        return len(self.targets) == 1 and self.targets[0] is self.source

    def add_event(self, event: str) -> None:
        """Add an event (descriptor) that triggers this transition."""
        self._events.append(event)

    def __repr__(self) -> str:
        tg = ", ".join(repr(t.id or t.name) for t in self.targets) or "None"
        return f"Transition({self.source.id or self.source.name!r}, {tg}, internal={self.internal})"


class TransitionList(_CallbackHolder):
    """Transitions declared together; ``|`` combines lists, an attribute names their event."""

    def __init__(self, transitions: Iterable[Transition] = ()) -> None:
        self.transitions: list[Transition] = list(transitions)

    def _transitions_for_callbacks(self) -> list[Transition]:
        return self.transitions

    def __or__(self, other: TransitionList | Transition | Iterable[Transition]) -> TransitionList:
        if isinstance(other, Transition):
            return TransitionList([*self.transitions, other])
        if isinstance(other, TransitionList):
            return TransitionList([*self.transitions, *other.transitions])
        return TransitionList([*self.transitions, *other])

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions)

    def __len__(self) -> int:
        return len(self.transitions)

    def __getitem__(self, index: int) -> Transition:
        return self.transitions[index]

    def add_event(self, event: str) -> None:
        """Add an event (descriptor) to every transition of the list."""
        for t in self.transitions:
            t.add_event(event)

    def __repr__(self) -> str:
        return f"TransitionList({self.transitions!r})"


class _ToBuilder:
    """``state.to``: ``state.to(a, b, cond=...)`` and ``state.to.itself(...)``."""

    __slots__ = ("_state",)

    def __init__(self, state: State) -> None:
        self._state = state

    def __call__(self, *targets: State | list[State] | None, **kwargs: Any) -> TransitionList:
        """One transition per target (a list target is one multi-target transition)."""
        scope = _definition_scope()
        src = self._state
        out = []
        for tg in targets:
            t = Transition(src, tg, _scope=scope, **kwargs)
            src.transitions.append(t)
            out.append(t)
        return TransitionList(out)

    def itself(self, **kwargs: Any) -> TransitionList:
        """A self-transition (``internal=True``: run its actions without exit/entry)."""
        return self(self._state, **kwargs)


class _FromBuilder:
    """``state.from_``: ``target.from_(a, b)`` declares ``a -> target`` and ``b -> target``."""

    __slots__ = ("_state",)

    def __init__(self, state: State) -> None:
        self._state = state

    def __call__(self, *sources: State, **kwargs: Any) -> TransitionList:
        """One transition from each source to this state."""
        scope = _definition_scope()
        out = []
        for src in sources:
            t = Transition(src, self._state, _scope=scope, **kwargs)
            src.transitions.append(t)
            out.append(t)
        return TransitionList(out)

    def itself(self, **kwargs: Any) -> TransitionList:
        """A self-transition."""
        return self(self._state, **kwargs)

    def any(self, **kwargs: Any) -> TransitionList:
        """Transitions from every non-final top-level state of the chart to this state.

        Like python-statemachine, the transition belongs to the event it is assigned to
        (``cancel = canceled.from_.any()``): its placeholder source is private to this call,
        so nothing is left behind for classes compiled later.
        """
        source = _AnyState()
        t = Transition(source, self._state, **kwargs)
        source.transitions.append(t)
        return TransitionList([t])


class _NestedStateFactory(type):
    """Metaclass turning a ``class x(State.Compound)`` body into a :class:`State`."""

    def __new__(
        mcls, classname: str, bases: tuple[type, ...], attrs: dict[str, Any], **kwargs: Any
    ) -> Any:
        if not any(isinstance(b, _NestedStateFactory) for b in bases):
            cls = super().__new__(mcls, classname, bases, attrs)
            cls._factory_kwargs = dict(kwargs)  # type: ignore[attr-defined]
            return cls
        inherited: dict[str, Any] = {}
        for b in bases:
            inherited.update(getattr(b, "_factory_kwargs", {}))
        inherited.update(kwargs)
        children: list[State] = []
        events: list[tuple[str, Any]] = []
        callbacks: dict[str, Any] = {}
        for key, value in attrs.items():
            if key.startswith("__") and key.endswith("__"):
                continue
            if isinstance(value, State):
                if not value._id:
                    value._id = key
                children.append(value)
            elif isinstance(value, TransitionList | Event):
                events.append((key, value))
            elif isinstance(value, types.FunctionType | staticmethod | classmethod | property):
                callbacks[key] = value
        state = State(**inherited)
        state._id = ""
        state._class_name = classname
        state._events_decl = events
        state._callbacks = callbacks
        for c in children:
            state._add_child(c)
        return state

    def __init__(cls, classname: str, bases: tuple[type, ...], attrs: dict[str, Any], **kw: Any):
        super().__init__(classname, bases, attrs)

    if TYPE_CHECKING:  # a nested class body *is* a State at runtime: type it like one

        @property
        def to(cls) -> _ToBuilder: ...

        @property
        def from_(cls) -> _FromBuilder: ...

        @property
        def id(cls) -> str: ...

        def enter(cls, func: Any) -> Any: ...

        def exit(cls, func: Any) -> Any: ...


class State:
    """A state of a :class:`StateChart` (its id is the attribute name it is assigned to).

    ``name`` is a display name (default: the humanized id), ``value`` what
    ``configuration_values`` reports (default: the id). ``initial`` marks the initial child
    (default: the first in document order), ``final`` a final state. ``enter``/``exit`` are
    callbacks (callables or method names, or lists of them). ``donedata`` (final states
    only) computes the data of the ``done.state.<parent>`` event.

    ``class shop(State.Compound): ...`` and ``class both(State.Parallel): ...`` declare
    compound and parallel states whose class bodies hold their children, events and
    callbacks.
    """

    class Compound(metaclass=_NestedStateFactory):
        """Base of a class body declaring a compound state (its attributes are children)."""

    class Parallel(metaclass=_NestedStateFactory, parallel=True):
        """Base of a class body declaring a parallel state (its children are the regions)."""

    def __init__(
        self,
        name: str | None = None,
        value: Any = None,
        initial: bool = False,
        final: bool = False,
        parallel: bool = False,
        states: list[State] | None = None,
        history: list[HistoryState] | None = None,
        enter: Any = None,
        exit: Any = None,
        donedata: Any = None,
    ) -> None:
        self._name = name or ""
        self._value = value
        self.initial = initial
        self.final = final
        self.parallel = parallel
        self._id = ""
        self._class_name = ""
        self.parent: State | None = None
        self.states: list[State] = []
        self.history: list[HistoryState] = []
        self._children: list[State] = []
        self.transitions: list[Transition] = []
        self._enter: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(enter)]
        self._exit: list[tuple[int, Any]] = [(_INLINE, c) for c in _as_list(exit)]
        self._donedata = donedata
        self._events_decl: list[tuple[str, Any]] = []
        self._callbacks: dict[str, Any] = {}
        for c in (*(states or ()), *(history or ())):
            self._add_child(c)

    def _add_child(self, child: State) -> None:
        child.parent = self
        self._children.append(child)
        if isinstance(child, HistoryState):
            self.history.append(child)
        else:
            self.states.append(child)

    @property
    def id(self) -> str:
        """The state id (the attribute name; empty until the chart class is compiled)."""
        return self._id

    @property
    def name(self) -> str:
        """The display name."""
        return self._name or _humanize(self._id)

    @property
    def value(self) -> Any:
        """The value reported by ``configuration_values`` (default: the id)."""
        return self._value if self._value is not None else self._id

    @property
    def is_compound(self) -> bool:
        """Has child states and is not parallel."""
        return bool(self.states) and not self.parallel

    @property
    def is_atomic(self) -> bool:
        """Has no child states."""
        return not self.states

    @property
    def to(self) -> _ToBuilder:
        """Declare transitions from this state: ``a.to(b, cond=..., on=...)``."""
        return _ToBuilder(self)

    @property
    def from_(self) -> _FromBuilder:
        """Declare transitions to this state: ``b.from_(a, c)``."""
        return _FromBuilder(self)

    def enter(self, func: Any) -> Any:
        """Decorator: add an entry callback."""
        self._enter.append((_DECORATOR, func))
        return func

    def exit(self, func: Any) -> Any:
        """Decorator: add an exit callback."""
        self._exit.append((_DECORATOR, func))
        return func

    def __getattr__(self, name: str) -> Any:
        # children of compound/parallel states: ``Chart.shop.cart``
        if not name.startswith("_"):
            for c in self.__dict__.get("_children", ()):
                if c._id == name:
                    return c
        raise AttributeError(f"{type(self).__name__} {self._id or self._name!r} has no {name!r}")

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return InstanceState(self, instance)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, id={self._id!r}, value={self.value!r},"
            f" initial={self.initial!r}, final={self.final!r}, parallel={self.parallel!r})"
        )

    def __str__(self) -> str:
        return self.name


class HistoryState(State):
    """A history pseudo-state inside a compound state (``type="shallow"`` or ``"deep"``).

    A transition targeting it re-enters what was active when the parent was last exited
    (shallow: the direct child, entered by default; deep: the exact leaves). Its default,
    taken when there is no memory yet, is ``h.to(child)`` (otherwise the parent's initial).
    History memory is per instance and part of ``snapshot()``.
    """

    def __init__(self, name: str | None = None, value: Any = None, type: str = "shallow") -> None:
        super().__init__(name=name, value=value)
        self.type = getattr(type, "value", type)

    @property
    def is_deep(self) -> bool:
        """True for deep history."""
        return bool(self.type == "deep")


class _AnyState(State):
    """The placeholder source of one ``target.from_.any()`` call."""


class InstanceState:
    """A state seen through a chart instance (``sm.idle``): adds :attr:`is_active`."""

    __slots__ = ("_machine", "_state")

    def __init__(self, state: State, machine: StateChart) -> None:
        self._state = state
        self._machine = machine

    @property
    def is_active(self) -> bool:
        """Is this state in the instance's configuration?"""
        return self._state._id in self._machine._m.cfg.id_set

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._state, name)
        if isinstance(value, State):
            return InstanceState(value, self._machine)
        return value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InstanceState):
            return self._state is other._state
        return self._state is other or (isinstance(other, str) and other == self._state._id)

    def __hash__(self) -> int:
        return hash(self._state._id)

    def __repr__(self) -> str:
        return repr(self._state)


class Event(_CallbackHolder, str):
    """An event: ``Event(transitions, id="error.execution", name="Error")``.

    Assigned to a class attribute it declares its transitions' event (``id`` defaults to the
    attribute name, expanded like python-statemachine: ``error_x`` also declares
    ``error.x``). On an instance it is a trigger: ``sm.start(**data)`` sends it. ``delay``
    (milliseconds, like python-statemachine) and ``internal`` are the trigger's defaults.
    """

    id: str
    name: str
    delay: float
    internal: bool
    _transitions: TransitionList | None
    _has_real_id: bool
    _ids: tuple[str, ...]

    def __new__(
        cls,
        transitions: str | Transition | TransitionList | None = None,
        id: str | None = None,
        name: str | None = None,
        delay: float = 0,
        internal: bool = False,
    ) -> Self:
        if isinstance(transitions, str):
            id, transitions = transitions, None
        if id is not None and not isinstance(id, str):
            raise ChartDefinitionError(
                f"Event() got a non-string id {id!r}; combine transitions with '|'",
                path="Event",
            )
        has_id = id is not None
        sid = id if id is not None else f"__event__{next(_EVENT_COUNTER)}"
        self = super().__new__(cls, sid)
        self.id = sid
        self.name = name or (_humanize(sid) if has_id else "")
        self.delay = delay
        self.internal = internal
        if isinstance(transitions, Transition):
            transitions = TransitionList([transitions])
        self._transitions = transitions
        self._has_real_id = has_id
        self._ids = (sid,) if has_id else ()
        return self

    def _transitions_for_callbacks(self) -> list[Transition]:
        if self._transitions is None:
            raise ChartDefinitionError(
                f"cannot add a callback to event {self.id!r}: it has no transitions",
                path=self.id,
            )
        return self._transitions.transitions

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return _BoundEvent(self, instance)

    def __repr__(self) -> str:
        return f"Event({self.id!r}, delay={self.delay!r}, internal={self.internal!r})"

    __hash__ = str.__hash__


_INITIAL_EVENT = Event(id="__initial__")


class _BoundEvent:
    """``sm.start``: calling it sends the event."""

    __slots__ = ("_event", "_machine")

    def __init__(self, event: Event, machine: StateChart) -> None:
        self._event = event
        self._machine = machine

    @property
    def id(self) -> str:
        """The event id."""
        return self._event.id

    @property
    def name(self) -> str:
        """The event's display name."""
        return self._event.name

    def __call__(self, **data: Any) -> None:
        """Send the event (``data`` becomes its payload)."""
        ev = self._event
        if ev.delay or ev.internal:
            self._machine.send(ev.id, delay=ev.delay or None, internal=ev.internal, **data)
        else:
            self._machine.send(ev.id, **data)

    def __eq__(self, other: object) -> bool:
        return self._event == other

    def __hash__(self) -> int:
        return hash(self._event)

    def __repr__(self) -> str:
        return f"BoundEvent({self._event.id!r})"


# -- callbacks: resolution and argument injection (class-compile time) ------------------------


class _Propagate(BaseException):
    """Carries a callback's exception through the engine to ``send`` (validators, and every
    callback when ``catch_errors_as_events = False``)."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(exc)
        self.exc = exc


class _Site:
    """Where a callback runs: decides what ``source``/``target``/``state``/``transition`` are."""

    __slots__ = ("kind", "state", "transition")

    def __init__(self, kind: str, state: State | None, transition: Transition | None) -> None:
        self.kind = kind  # "transition", "enter", "exit", "donedata"
        self.state = state
        self.transition = transition


_STANDARD = (
    "event",
    "event_data",
    "machine",
    "model",
    "source",
    "target",
    "state",
    "transition",
    "error",
)


def _g_event_data(ctx: Any) -> Any:
    return ctx.event


def _g_machine(ctx: Any) -> Any:
    return ctx.owner


def _g_model(ctx: Any) -> Any:
    return getattr(ctx.owner, "model", None)


def _g_error(ctx: Any) -> Any:
    ev = ctx.event
    return ev.error if ev is not None else None


def _g_stash_transition(ctx: Any) -> Any:
    return getattr(ctx.owner, "_sf_tr", None)


def _g_stash_source(ctx: Any) -> Any:
    t = getattr(ctx.owner, "_sf_tr", None)
    return t.source if t is not None else None


def _g_stash_target(ctx: Any) -> Any:
    t = getattr(ctx.owner, "_sf_tr", None)
    return t.target if t is not None else None


def _static(value: Any) -> Callable[[Any], Any]:
    def get(ctx: Any) -> Any:
        return value

    return get


def _data_getter(name: str, default: Any) -> Callable[[Any], Any]:
    def get(ctx: Any) -> Any:
        ev = ctx.event
        if ev is not None:
            d = ev.data
            if type(d) is dict:
                return d.get(name, default)
        return default

    return get


class _Compiler:
    """Compiles one ``StateChart`` subclass into a :class:`Chart` (once, at class creation)."""

    def __init__(self, cls: type[StateChart]) -> None:
        self.cls = cls
        self.cname = cls.__name__
        self.catch = bool(cls.catch_errors_as_events)
        self.events_by_id: dict[str, Event] = {}
        self.need_stash = False
        self.tspecs: list[tuple[Transition, TransitionSpec]] = []
        self.tr_events: dict[Transition, list[str]] = {}
        self.tr_path: dict[Transition, str] = {}
        self.scopes: set[tuple[str, str]] = set()
        self.states: list[State] = []  # every state of the chart, document order
        self.state_set: set[int] = set()
        self.by_key: dict[int, State] = {}
        #: copies of ``from_.any()`` transitions, per source state
        self._any_copies: dict[int, list[Transition]] = {}

    def error(self, path: str, message: str) -> ChartDefinitionError:
        return ChartDefinitionError(message, path=f"{self.cname}.{path}" if path else self.cname)

    # -- entry point -------------------------------------------------------------------------
    def run(self) -> Chart | None:
        cls = self.cls
        for k in cls.__mro__:
            if isinstance(k, type) and issubclass(k, StateChart) and k is not StateChart:
                self.scopes.add((k.__module__, k.__qualname__))
        attrs: dict[str, Any] = {}
        for k in reversed(cls.__mro__):
            if isinstance(k, type) and issubclass(k, StateChart) and k is not StateChart:
                for key, value in vars(k).items():
                    attrs.pop(key, None)
                    attrs[key] = value
        top: list[tuple[str, State]] = []
        decls: list[tuple[str, Any, str]] = []  # (key, TransitionList|Event, path)
        for key, value in attrs.items():
            if isinstance(value, State):
                top.append((key, value))
            elif isinstance(value, TransitionList | Event):
                decls.append((key, value, key))
        if not top:
            if decls:
                raise self.error(decls[0][0], "events are declared but the chart has no states")
            return None
        # ids and the state tree
        seen: dict[int, str] = {}
        for key, st in top:
            if isinstance(st, HistoryState):
                raise self.error(key, "a history state must be declared inside a compound state")
            if st._id and st._id != key:
                raise self.error(key, f"state {st._id!r} is declared again as {key!r}")
            st._id = key
            if st.parent is not None:
                raise self.error(key, f"state {key!r} is already a child of {st.parent.id!r}")
        for key, st in top:
            self._walk(st, key, seen, decls)
        # callbacks declared in nested class bodies live on the chart class
        self._lift_callbacks()
        # events
        self._declare_events(decls)
        # validation in python-statemachine's terms, naming the attribute
        self._validate([st for _, st in top])
        specs = [self._state_spec(st, key) for key, st in top]
        if self.need_stash:
            for t, ts in self.tspecs:
                ts.before = (_stash(t), *ts.before)
        initial = self._initial_of([st for _, st in top], "")
        spec = ChartSpec(
            id=cls.__qualname__,
            name=self.cname,
            states=specs,
            initial=initial,
            version=str(cls.chart_version),
            path=self.cname,
            meta={"dsl": True},
        )
        chart = compile_chart(spec)
        cls._sf_events = dict(self.events_by_id)
        cls._sf_states = {s._id: s for s in self.states}
        custom = {s._id: s.value for s in self.states if s._value is not None}
        cls._sf_values = custom or None
        cls.states_map = {s.value: s for s in self.states}
        return chart

    def _walk(self, st: State, path: str, seen: dict[int, str], decls: list[Any]) -> None:
        if id(st) in seen:
            raise self.error(path, f"state {st._id!r} is declared twice (also at {seen[id(st)]})")
        seen[id(st)] = path
        if not st._id:
            raise self.error(path, "a state needs an id (assign it to a class attribute)")
        if st._id in _RESERVED:
            raise self.error(path, f"{st._id!r} is reserved by StateChart; rename the state")
        self.states.append(st)
        self.state_set.add(id(st))
        self.by_key[id(st)] = st
        for key, value in st._events_decl:
            decls.append((key, value, f"{path}.{key}"))
        for c in st._children:
            self._walk(c, f"{path}.{c._id}", seen, decls)

    def _lift_callbacks(self) -> None:
        cls = self.cls
        for st in self.states:
            for name, func in st._callbacks.items():
                existing = inspect.getattr_static(cls, name, None)
                if existing is None:
                    setattr(cls, name, func)
                elif existing is not func:
                    raise self.error(
                        name,
                        f"callback {name!r} is declared in the {st._id!r} state body and"
                        f" elsewhere in {self.cname}; nested state bodies share the class"
                        " namespace, rename one of them",
                    )

    def _declare_events(self, decls: list[tuple[str, Any, str]]) -> None:
        cls = self.cls
        obj_ids: dict[int, tuple[str, ...]] = {}
        #: ``from_.any()`` transitions reachable from this class's declarations
        any_transitions: dict[Transition, None] = {}
        for key, value, path in decls:
            if key in _RESERVED:
                raise self.error(path, f"{key!r} is reserved by StateChart; rename the event")
            if isinstance(value, Event):
                ids = value._ids or _expand_event_id(key)
                transitions = value._transitions.transitions if value._transitions else []
                ev = value
                if not value._ids or value.id != ids[0]:
                    ev = Event(
                        value._transitions,
                        id=ids[0],
                        name=value.name or None,
                        delay=value.delay,
                        internal=value.internal,
                    )
                    ev._ids = ids
            else:
                ids = _expand_event_id(key)
                transitions = value.transitions
                ev = Event(value, id=ids[0])
                ev._ids = ids
            obj_ids[id(value)] = ids
            for t in transitions:
                if isinstance(t.source, _AnyState):
                    any_transitions[t] = None
                lst = self.tr_events.setdefault(t, [])
                lst.extend(i for i in ids if i not in lst)
                self.tr_path.setdefault(t, path)
            # one Event per id (``event`` is injected with the id actually received)
            self.events_by_id.setdefault(ids[0], ev)
            if ids[0] != key and inspect.getattr_static(cls, ids[0], None) is None:
                setattr(cls, ids[0], ev)
            for i in ids[1:]:
                other = self.events_by_id.get(i)
                if other is None:
                    other = self.events_by_id[i] = Event(
                        ev._transitions, id=i, delay=ev.delay, internal=ev.internal
                    )
                if inspect.getattr_static(cls, i, None) is None:
                    setattr(cls, i, other)
            # the attribute becomes the trigger (a nested body's event only if the name is free)
            current = inspect.getattr_static(cls, key, None)
            if current is value or current is None or isinstance(current, Event):
                setattr(cls, key, ev)
        # events named inside transitions (``event="a b"`` or ``event=some_event``)
        any_sources = [t.source for t in any_transitions]
        for st in (*self.states, *any_sources):
            for t in st.transitions:
                if not self._in_scope(t):
                    continue
                for e in t._events:
                    if isinstance(e, Event):
                        ids = e._ids or obj_ids.get(id(e), ())
                        if not ids:
                            raise self.error(
                                self._tpath(t), "a transition names an event that has no id"
                            )
                        if e.id not in self.events_by_id and e._ids:
                            self.events_by_id.setdefault(e.id, e)
                    elif isinstance(e, str):
                        ids = parse_descriptors(e)
                    else:
                        raise self.error(
                            self._tpath(t), f"event must be a string or an Event, not {e!r}"
                        )
                    lst = self.tr_events.setdefault(t, [])
                    lst.extend(i for i in ids if i not in lst)
                    for i in ids:
                        if i not in self.events_by_id and i != "*":
                            self.events_by_id[i] = Event(id=i)
        # from_.any(): copy onto every non-final top-level state
        for t in any_transitions:
            for st in self.states:
                if st.parent is None and not st.final and not isinstance(st, HistoryState):
                    c = Transition(st, list(t.targets), internal=t.internal, _scope=t._scope)
                    for group in ("_cond", "_unless", "_validators", "_on", "_before", "_after"):
                        setattr(c, group, list(getattr(t, group)))
                    self.tr_events[c] = list(self.tr_events.get(t, []))
                    self.tr_path[c] = self.tr_path.get(t, st._id)
                    self._any_copies.setdefault(id(st), []).append(c)

    def _in_scope(self, t: Transition) -> bool:
        sc = t._scope
        if sc is None:
            return True
        mod, qn = sc
        return any(m == mod and (qn == q or qn.startswith(q + ".")) for m, q in self.scopes)

    def _transitions_of(self, st: State) -> list[Transition]:
        own = [t for t in st.transitions if self._in_scope(t)]
        return own + self._any_copies.get(id(st), [])

    def _tpath(self, t: Transition) -> str:
        p = self.tr_path.get(t)
        if p:
            return p
        tg = ",".join(s._id for s in t.targets) or "None"
        return f"{t.source._id}.to({tg})"

    # -- validation (python-statemachine's checks) -----------------------------------------------
    def _validate(self, top: list[State]) -> None:
        for st in self.states:
            trans = self._transitions_of(st)
            path = self._state_path(st)
            if st.final and trans:
                raise self.error(path, f"final state {st._id!r} cannot have outgoing transitions")
            if st.final and st._children:
                raise self.error(path, f"final state {st._id!r} cannot have child states")
            if st._donedata is not None and not st.final:
                raise self.error(path, "donedata can only be given to final states")
            if isinstance(st, HistoryState):
                if st.type not in ("shallow", "deep"):
                    raise self.error(
                        path, f"history type must be 'shallow' or 'deep', not {st.type!r}"
                    )
                if st.parent is None or st.parent.parallel:
                    raise self.error(path, "a history state must be inside a compound state")
                if len(trans) > 1:
                    raise self.error(path, "a history state has at most one default transition")
            for t in trans:
                for tg in t.targets:
                    if not isinstance(tg, State) or id(tg) not in self.state_set:
                        what = (
                            f"state {tg._id or tg.name or '(unnamed)'!r}"
                            if isinstance(tg, State)
                            else repr(tg)
                        )
                        raise self.error(
                            self._tpath(t),
                            f"transition target {what} is not declared in {self.cname}",
                        )
                if t.internal and t.targets and not t.is_self:
                    bad = [x for x in t.targets if not _is_descendant(x, st)]
                    if bad:
                        raise self.error(
                            self._tpath(t),
                            f"internal transition from {st._id!r}: target {bad[0]._id!r}"
                            " should be the source itself or a descendant",
                        )
            if st.states and not st.parallel:
                initials = [c for c in st.states if c.initial]
                if len(initials) > 1:
                    raise self.error(
                        path,
                        "there should be one and only one initial state; found "
                        + ", ".join(repr(c._id) for c in initials),
                    )
        initials = [s for s in top if s.initial]
        if len(initials) > 1:
            raise self.error(
                initials[1]._id,
                "there should be one and only one initial state; found "
                + ", ".join(repr(s._id) for s in initials),
            )
        cls = self.cls
        if cls.validate_trap_states:
            traps = [
                s._id
                for s in top
                if not s.final and not s._children and not self._transitions_of(s)
            ]
            if traps:
                raise self.error(
                    traps[0],
                    "all non-final states should have at least one outgoing transition;"
                    f" these have none: {traps!r}",
                )
        if cls.validate_disconnected_states:
            start = initials[0] if initials else top[0]
            reached = self._connected(start)
            missing = [s._id for s in self.states if id(s) not in reached]
            if missing:
                raise self.error(
                    missing[0],
                    f"there are unreachable states (not connected to {start._id!r}): {missing!r}",
                )
        if cls.validate_final_reachability and any(s.final for s in top):
            stuck = [
                s._id
                for s in top
                if not s.final
                and not any(
                    x.final and x.parent is None
                    for x in map(self.by_key.__getitem__, self._connected(s))
                )
            ]
            if stuck:
                raise self.error(
                    stuck[0],
                    f"all non-final states should have a path to a final state: {stuck!r}",
                )

    def _connected(self, start: State) -> set[int]:
        seen: set[int] = set()
        todo = [start]
        while todo:
            s = todo.pop()
            if id(s) in seen:
                continue
            seen.add(id(s))
            for t in self._transitions_of(s):
                todo.extend(t.targets)
            if s.parallel:
                todo.extend(s.states)
            elif s.states:
                init = [c for c in s.states if c.initial] or s.states[:1]
                todo.extend(init)
            todo.extend(s.history)
            if s.parent is not None:
                todo.append(s.parent)
        return seen

    def _state_path(self, st: State) -> str:
        parts = []
        s: State | None = st
        while s is not None:
            parts.append(s._id)
            s = s.parent
        return ".".join(reversed(parts))

    # -- specs -----------------------------------------------------------------------------------
    def _initial_of(self, children: list[State], path: str) -> tuple[str, ...] | None:
        regular = [c for c in children if not isinstance(c, HistoryState)]
        flagged = [c for c in regular if c.initial]
        if flagged:
            return (flagged[0]._id,)
        return (regular[0]._id,) if regular else None

    def _state_spec(self, st: State, path: str) -> StateSpec:
        kind: Any = "state"
        if isinstance(st, HistoryState):
            kind = "history"
        elif st.final:
            kind = "final"
        elif st.parallel:
            kind = "parallel"
        spec = StateSpec(
            id=st._id,
            kind=kind,
            path=f"{self.cname}.{path}",
            meta={"name": st.name, "value": st.value},
        )
        if isinstance(st, HistoryState):
            spec.history = "deep" if st.is_deep else "shallow"
            for t in self._transitions_of(st):
                ts = TransitionSpec(
                    target=tuple(x._id for x in t.targets),
                    actions=self._history_actions(t, st),
                    path=f"{self.cname}.{self._tpath(t)}",
                )
                spec.transitions.append(ts)
            return spec
        spec.children = [self._state_spec(c, f"{path}.{c._id}") for c in st._children]
        if st.states and not st.parallel:
            spec.initial = self._initial_of(st.states, path)
        spec.onentry = self._state_blocks(st, "enter", path)
        spec.onexit = self._state_blocks(st, "exit", path)
        if st._donedata is not None:
            site = _Site("donedata", st, None)
            dd = self._resolve(st._donedata, site, f"{path}.donedata", "donedata")
            spec.donedata = self._wrap(dd) if dd is not None else None
        for t in self._transitions_of(st):
            spec.transitions.append(self._transition_spec(t, st))
        return spec

    def _history_actions(self, t: Transition, st: HistoryState) -> tuple[Action, ...]:
        """The content of a history state's default transition (its inline ``on=``)."""
        site = _Site("transition", st, t)
        where = f"{self._tpath(t)}.on"
        out: list[Action] = []
        for _, func in sorted(t._on, key=lambda x: x[0]):
            a = self._resolve(func, site, where, "on")
            if a is not None:
                out.append(a)
        if len(out) > 1 or not self.catch:
            return tuple(self._wrap(a, isolate=True) for a in out)
        return tuple(out)

    def _state_blocks(self, st: State, group: str, path: str) -> list[tuple[Action, ...]]:
        site = _Site(group, st, None)
        items: list[tuple[int, Any, bool]] = []
        inline = st._enter if group == "enter" else st._exit
        generic = "on_enter_state" if group == "enter" else "on_exit_state"
        items.append((_GENERIC, generic, True))
        items.extend((p, f, False) for p, f in inline)
        items.append((_NAMING, f"on_{group}_{st._id}", True))
        items.sort(key=lambda x: x[0])
        blocks: list[tuple[Action, ...]] = []
        for _, func, convention in items:
            action = self._resolve(func, site, f"{path}.{group}", group, convention=convention)
            if action is not None:
                blocks.append((self._wrap(action),))
        return blocks

    def _transition_spec(self, t: Transition, st: State) -> TransitionSpec:
        tpath = self._tpath(t)
        site = _Site("transition", st, t)
        events = self.tr_events.get(t, [])
        targets = tuple(x._id for x in t.targets)
        kind: Any = "external"
        if t.internal:
            if t.is_self:
                targets = ()  # an internal self-transition: actions only, no exit/entry
            else:
                kind = "internal"
        suffix_of = {e: e.replace(".", "_") for e in events if e != "*"}
        suffixes = list(dict.fromkeys(suffix_of.values()))
        conditional = len(suffixes) > 1

        def group(prefix: str, generic: str | None, generic_prio: int, inline: list[Any]) -> Any:
            items: list[tuple[int, Any, bool, str | None]] = []
            if generic is not None:
                items.append((generic_prio, generic, True, None))
            items.extend((p, f, False, None) for p, f in inline)
            items.extend((_NAMING, f"{prefix}_{s}", True, s) for s in suffixes)
            items.sort(key=lambda x: x[0])
            actions: list[Action] = []
            for _, func, convention, suffix in items:
                a = self._resolve(func, site, f"{tpath}.{prefix}", prefix, convention=convention)
                if a is None:
                    continue
                if conditional and suffix is not None:
                    a = _only_for(a, suffix, suffix_of)
                actions.append(a)
            if len(actions) > 1 or not self.catch:
                return tuple(self._wrap(a, isolate=True) for a in actions)
            return tuple(actions)

        before = group("before", "before_transition", _GENERIC, t._before)
        on = group("on", "on_transition", _GENERIC, t._on)
        after = group("after", "after_transition", _AFTER, t._after)
        cond = self._guard(t, site, tpath)
        ts = TransitionSpec(
            event=tuple(events),
            target=targets,
            cond=cond,
            type=kind,
            actions=on,
            before=before,
            after=after,
            path=f"{self.cname}.{tpath}",
            name=self.tr_path.get(t),
            cond_label=self._cond_label(t),
        )
        self.tspecs.append((t, ts))
        return ts

    def _cond_label(self, t: Transition) -> str | None:
        parts = [_label(f) for _, f in t._cond] + [f"!{_label(f)}" for _, f in t._unless]
        return "[" + " and ".join(parts) + "]" if parts else None

    def _guard(self, t: Transition, site: _Site, tpath: str) -> Callable[[Any], Any] | None:
        items: list[tuple[int, Any, bool]] = [(p, f, True) for p, f in t._cond]
        items += [(p, f, False) for p, f in t._unless]
        items.sort(key=lambda x: x[0])
        checks: list[tuple[Callable[[Any], Any], bool]] = []
        for _, func, expected in items:
            g = self._resolve(func, site, f"{tpath}.cond", "cond", guard=True)
            assert g is not None
            checks.append((self._wrap(g), expected))
        validators = []
        for _, func in sorted(t._validators, key=lambda x: x[0]):
            v = self._resolve(func, site, f"{tpath}.validators", "validators")
            assert v is not None
            validators.append(_propagating(v))
        if not checks and not validators:
            return None
        if not validators and len(checks) == 1:
            g, expected = checks[0]
            if expected:
                return g
            return _negate(g)
        vs = tuple(validators)
        cs = tuple(checks)

        def guard(ctx: Any) -> bool:
            for v in vs:
                v(ctx)
            return all(bool(c(ctx)) is expected for c, expected in cs)

        return guard

    # -- resolving one callback ------------------------------------------------------------------
    def _wrap(self, action: Callable[[Any], Any], isolate: bool = False) -> Callable[[Any], Any]:
        if not self.catch:
            return _propagating(action)
        if isolate:
            return _isolated(action)
        return action

    def _resolve(
        self,
        func: Any,
        site: _Site,
        where: str,
        group: str,
        *,
        convention: bool = False,
        guard: bool = False,
    ) -> Callable[[Any], Any] | None:
        """A core action for ``func`` (a callable or a name); ``None`` for a convention name
        the class does not define."""
        cls = self.cls
        if isinstance(func, str):
            name = func
            if not convention and not name.isidentifier():
                if guard:
                    return self._expression(name, site, where)
                raise self.error(where, f"{name!r} is not a callback name")
            try:
                obj = inspect.getattr_static(cls, name)
            except AttributeError:
                if convention:
                    return None
                if guard:
                    raise self.error(
                        where, f"unknown guard {name!r}: {self.cname} has no such attribute"
                    ) from None
                raise self.error(
                    where, f"unknown callback {name!r}: {self.cname} has no such method"
                ) from None
            if isinstance(obj, State | Event | TransitionList | _NestedStateFactory):
                if convention:
                    return None
                raise self.error(where, f"{name!r} is a state or an event, not a callback")
            if isinstance(obj, types.FunctionType):
                return self._callable(obj, site, where, group, bound=True)
            if isinstance(obj, staticmethod):
                return self._callable(obj.__func__, site, where, group)
            if isinstance(obj, classmethod):
                return self._callable(getattr(cls, name), site, where, group)
            if isinstance(obj, property):

                def read(ctx: Any, _name: str = name) -> Any:
                    return getattr(ctx.owner, _name)

                return read
            if callable(obj):
                return self._callable(obj, site, where, group)
            if convention:
                return None
            if guard:

                def attr(ctx: Any, _name: str = name) -> Any:
                    return getattr(ctx.owner, _name)

                return attr
            raise self.error(where, f"{name!r} is not callable (it is {type(obj).__name__})")
        if callable(func):
            bound = False
            if isinstance(func, types.FunctionType):
                own = inspect.getattr_static(cls, func.__name__, None)
                bound = own is func
            return self._callable(func, site, where, group, bound=bound)
        raise self.error(where, f"a callback must be a callable or a method name, not {func!r}")

    def _expression(self, expr: str, site: _Site, where: str) -> Callable[[Any], Any]:
        """A guard written as a boolean expression of names: ``"a and not (b or c)"``."""
        text = re.sub(r"!(?!=)", " not ", expr)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise self.error(where, f"invalid guard expression {expr!r}") from None

        def build(node: ast.AST) -> Callable[[Any], Any]:
            if isinstance(node, ast.Name):
                g = self._resolve(node.id, site, where, "cond", guard=True)
                assert g is not None
                return g
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                return _negate(build(node.operand))
            if isinstance(node, ast.BoolOp):
                parts = tuple(build(v) for v in node.values)
                if isinstance(node.op, ast.And):
                    return lambda ctx: all(p(ctx) for p in parts)
                return lambda ctx: any(p(ctx) for p in parts)
            raise self.error(where, f"unsupported guard expression {expr!r}")

        return build(tree.body)

    def _callable(
        self, func: Any, site: _Site, where: str, group: str, *, bound: bool = False
    ) -> Callable[[Any], Any]:
        """Wrap ``func`` so it receives its arguments by name (decided here, once)."""
        try:
            params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            params = []
        if bound:
            if not params or params[0].kind not in (
                inspect.Parameter.POSITIONAL_ONLY,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
            ):
                raise self.error(where, f"method {func.__name__!r} needs a 'self' parameter")
            params = params[1:]
        pos: list[Callable[[Any], Any]] = []
        kw: list[tuple[str, Callable[[Any], Any]]] = []
        named: set[str] = set()
        varkw = False
        after_var = False
        for p in params:
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                after_var = True
                continue
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                varkw = True
                continue
            if p.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise self.error(
                    where, f"cannot inject positional-only parameter {p.name!r} of {func!r}"
                )
            default = None if p.default is inspect.Parameter.empty else p.default
            getter = self._getter(p.name, default, site)
            named.add(p.name)
            if p.kind is inspect.Parameter.KEYWORD_ONLY or after_var:
                kw.append((p.name, getter))
            else:
                pos.append(getter)
        extra = self._kwargs_builder(site, frozenset(named)) if varkw else None
        f = func
        if not varkw and not kw:
            n = len(pos)
            if bound:
                if n == 0:
                    return lambda ctx: f(ctx.owner)
                if n == 1:
                    (g0,) = pos
                    return lambda ctx: f(ctx.owner, g0(ctx))
                if n == 2:
                    g0, g1 = pos
                    return lambda ctx: f(ctx.owner, g0(ctx), g1(ctx))
            else:
                if n == 0:
                    return lambda ctx: f()
                if n == 1:
                    (g0,) = pos
                    return lambda ctx: f(g0(ctx))
        gpos = tuple(pos)
        gkw = tuple(kw)

        def call(ctx: Any) -> Any:
            args = [g(ctx) for g in gpos]
            kwargs = {name: g(ctx) for name, g in gkw}
            if extra is not None:
                more = extra(ctx)
                more.update(kwargs)
                kwargs = more
            if bound:
                return f(ctx.owner, *args, **kwargs)
            return f(*args, **kwargs)

        return call

    def _getter(self, name: str, default: Any, site: _Site) -> Callable[[Any], Any]:
        kind = site.kind
        t = site.transition
        if name == "event":
            return self._event_getter()
        if name == "event_data":
            return _g_event_data
        if name == "machine":
            return _g_machine
        if name == "model":
            return _g_model
        if name == "error":
            return _g_error
        if name == "state":
            return _static(site.state)
        if name == "transition":
            if kind == "transition":
                return _static(t)
            self.need_stash = True
            return _g_stash_transition
        if name == "source":
            if kind == "transition":
                return _static(t.source if t is not None else None)
            if kind == "exit":
                return _static(site.state)
            self.need_stash = True
            return _g_stash_source
        if name == "target":
            if kind == "transition":
                return _static(t.target if t is not None else None)
            if kind == "enter":
                return _static(site.state)
            self.need_stash = True
            return _g_stash_target
        return _data_getter(name, default)

    def _event_getter(self) -> Callable[[Any], Any]:
        by_id = self.events_by_id

        def get(ctx: Any) -> Any:
            ev = ctx.event
            if ev is None:
                return _INITIAL_EVENT  # the initial entry (python-statemachine's name)
            e = by_id.get(ev.name)
            return e if e is not None else Event(id=ev.name)

        return get

    def _kwargs_builder(
        self, site: _Site, named: frozenset[str]
    ) -> Callable[[Any], dict[str, Any]]:
        std = tuple(
            (n, self._getter(n, None, site)) for n in _STANDARD if n not in named and n != "error"
        )
        want_error = "error" not in named

        def build(ctx: Any) -> dict[str, Any]:
            ev = ctx.event
            out: dict[str, Any] = {}
            if ev is not None:
                d = ev.data
                if type(d) is dict:
                    out.update((k, v) for k, v in d.items() if k not in named)
                if want_error and ev.error is not None:
                    out["error"] = ev.error
            for n, g in std:
                out[n] = g(ctx)
            return out

        return build


def _label(func: Any) -> str:
    if isinstance(func, str):
        return func
    return str(getattr(func, "__name__", repr(func)))


def _is_descendant(state: State, ancestor: State) -> bool:
    p = state.parent
    while p is not None:
        if p is ancestor:
            return True
        p = p.parent
    return False


def _negate(g: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda ctx: not g(ctx)


def _only_for(
    action: Callable[[Any], Any], suffix: str, suffix_of: dict[str, str]
) -> Callable[[Any], Any]:
    """Run a ``before_/on_/after_<event>`` callback only for its own event."""

    def run(ctx: Any) -> Any:
        ev = ctx.event
        if ev is not None and suffix_of.get(ev.name) == suffix:
            return action(ctx)
        return None

    return run


def _isolated(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Each callback is its own block: its exception raises ``error.execution`` and the
    callbacks after it still run."""

    def run(ctx: Any) -> Any:
        try:
            return action(ctx)
        except Exception as exc:
            ctx.raise_error(exc)
            return None

    return run


def _propagating(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The exception leaves the engine and is re-raised by ``send``."""

    def run(ctx: Any) -> Any:
        try:
            return action(ctx)
        except Exception as exc:
            raise _Propagate(exc) from exc

    return run


def _stash(t: Transition) -> Callable[[Any], None]:
    """Remember the transition being taken, for entry/exit callbacks that ask for it."""

    def stash(ctx: Any) -> None:
        with contextlib.suppress(AttributeError):
            ctx.owner._sf_tr = t

    return stash


# -- the chart class ---------------------------------------------------------------------------


class _ChartAttr:
    """``MyChart.chart``: the compiled :class:`Chart` shared by every instance."""

    def __get__(self, instance: Any, owner: type[StateChart]) -> Chart:
        chart = owner.__dict__.get("_sf_chart")
        if chart is None:
            chart = owner._sf_chart
        if chart is None:
            raise ChartDefinitionError("declares no states", path=owner.__name__)
        return chart

    def __set__(self, instance: Any, value: Any) -> None:
        # Session.__init__ assigns the chart; the class already holds it
        pass


class StateChart(Session):
    """Base class of class-DSL charts (python-statemachine 3's ``StateChart``).

    Subclasses declare states, events and callbacks in their class body; the class is
    compiled once into :attr:`chart`. An instance is a sync :class:`~statefleet.core.Session`
    entered into its initial configuration on creation.

    ``catch_errors_as_events`` (default ``True``): an exception in a callback becomes the
    internal event ``error.execution`` (the exception injected as ``error``); ``False`` lets
    it propagate out of ``send`` (the configuration may then be half-made, as in
    python-statemachine's ``StateMachine``). ``validate_trap_states``,
    ``validate_disconnected_states`` and ``validate_final_reachability`` enable
    python-statemachine's definition checks (all on by default). ``chart_version`` is the
    version stamped in snapshots.

    ``configuration`` is the set of active state ids (as for every Session);
    ``configuration_values`` the set of their values (``State(value=...)``, default the id).
    """

    __slots__ = ("__dict__", "_sf_tr", "model")

    catch_errors_as_events: ClassVar[bool] = True
    validate_trap_states: ClassVar[bool] = True
    validate_disconnected_states: ClassVar[bool] = True
    validate_final_reachability: ClassVar[bool] = True
    chart_version: ClassVar[str] = "1"

    chart = _ChartAttr()

    _sf_chart: ClassVar[Chart | None] = None
    _sf_events: ClassVar[dict[str, Event]] = {}
    _sf_states: ClassVar[dict[str, State]] = {}
    _sf_values: ClassVar[dict[str, Any] | None] = None
    #: state value -> :class:`State`, every state of the chart
    states_map: ClassVar[dict[Any, State]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._sf_chart = _Compiler(cls).run()

    def __init__(
        self,
        model: Any = None,
        *,
        context: Mapping[str, Any] | None = None,
        clock: VirtualClock | RealClock | None = None,
        session_id: str | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
    ) -> None:
        cls = type(self)
        chart = cls._sf_chart
        if chart is None:
            raise ChartDefinitionError("declares no states", path=cls.__name__)
        self.model = model
        self._sf_tr: Transition | None = None
        restore = self.__dict__.pop("_sf_restore", None)
        snapshot = None
        if restore is not None:
            snapshot, r_clock = restore
            clock = r_clock if r_clock is not None else clock
        try:
            Session.__init__(
                self,
                chart,
                context=context,
                clock=clock,
                session_id=session_id,
                listeners=listeners,
                snapshot=snapshot,
            )
        except _Propagate as p:
            raise p.exc from None

    @classmethod
    def restore(
        cls,
        snapshot: Snapshot,
        /,
        *args: Any,
        clock: VirtualClock | RealClock | None = None,
        **kwargs: Any,
    ) -> Self:
        """An instance resuming ``snapshot`` (configuration, history, context, timers).

        ``args``/``kwargs`` go to the class's ``__init__`` (which must call
        ``super().__init__()``); no entry callback runs.
        """
        inst = cls.__new__(cls)
        inst.__dict__["_sf_restore"] = (snapshot, clock)
        inst.__init__(*args, **kwargs)  # type: ignore[misc]
        return inst

    # -- events ------------------------------------------------------------------------------
    def send(
        self,
        event: str | EventData,
        /,
        *,
        delay: float | None = None,
        send_id: str | None = None,
        internal: bool | None = None,
        **data: Any,
    ) -> None:
        """Send ``event`` with ``data`` as its payload (keyword arguments of the callbacks).

        ``delay`` is in milliseconds (python-statemachine's unit) and waits on the session's
        clock; ``send_id`` names a delayed send for :meth:`cancel_event`; ``internal=True``
        from inside a callback puts the event on the internal queue (like :meth:`raise_`).
        """
        actor = getattr(self, "_sf_actor", None)
        if actor is not None:  # an actor drives this instance: the event goes to its mailbox
            actor.send_nowait(event, **data)
            return
        if delay or internal or send_id is not None:
            self._send_special(event, delay, send_id, internal, data)
            return
        try:
            Session.send(self, event, **data)
        except _Propagate as p:
            raise p.exc from None

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward, firing due delayed events in due-time order."""
        try:
            Session.advance(self, seconds)
        except _Propagate as p:
            raise p.exc from None

    def poll(self) -> int:
        """Fire every delayed event that is due now; return how many fired."""
        try:
            return Session.poll(self)
        except _Propagate as p:
            raise p.exc from None

    def _send_special(
        self,
        event: str | EventData,
        delay: float | None,
        send_id: str | None,
        internal: bool | None,
        data: dict[str, Any],
    ) -> None:
        name = event.name if isinstance(event, EventData) else event
        payload = data or None
        m = self._m
        if delay:
            if internal:
                raise ChartDefinitionError(
                    f"event {name!r} cannot be both delayed and internal", path=type(self).__name__
                )
            if not self._busy:
                m.now = self._clock.now()
            m.send(name, payload, delay=float(delay) / 1000.0, sendid=send_id)
            if not self._busy:
                self._apply_effects()
            return
        if internal and self._busy:
            m.raise_(name, payload)
            return
        if isinstance(event, EventData):
            Session.send(self, event)
        else:
            self.send(event, **data)

    def raise_(self, event: str, /, **data: Any) -> None:
        """Raise an internal event: processed within the current macrostep, before any
        external event (from outside a callback it is simply sent)."""
        if self._busy or getattr(self, "_sf_actor", None) is not None:
            self._m.raise_(event, data or None)
        else:
            self.send(event, **data)

    def cancel_event(self, send_id: str) -> None:
        """Cancel a delayed event sent with ``send_id`` (no-op if it already fired)."""
        self._m.cancel(send_id)
        if not self._busy:
            self._apply_effects()

    # -- inspection --------------------------------------------------------------------------
    @property
    def configuration_values(self) -> frozenset[Any]:
        """Values of the active states (``State(value=...)``, default: the state id)."""
        ids = self._m.cfg.id_set
        values = self._sf_values
        if values is None:
            return ids
        return frozenset(values.get(i, i) for i in ids)

    @property
    def current_state_value(self) -> Any:
        """The value of the only active state, or the set of values when several are."""
        vals = self.configuration_values
        if len(vals) == 1:
            return next(iter(vals))
        return vals

    @property
    def current_state(self) -> Any:
        """The only active :class:`State`, or the set of them when several are active."""
        states = self._sf_states
        active = [states[i] for i in self._m.cfg.ids]
        if len(active) == 1:
            return active[0]
        return frozenset(active)

    @property
    def is_terminated(self) -> bool:
        """True once a top-level final state was reached."""
        return not self._m.running

    @property
    def events(self) -> list[Event]:
        """Every event declared by the chart."""
        return list(dict.fromkeys(type(self)._sf_events.values()))

    @property
    def allowed_events(self) -> list[Event]:
        """Events with a transition from an active state (guards not evaluated)."""
        by_id = type(self)._sf_events
        out: dict[str, Event] = {}
        for node in self._m.cfg.ordered:
            for t in node.transitions:
                for d in t.descriptors:
                    e = by_id.get(d)
                    if e is not None:
                        out.setdefault(e.id, e)
        return list(out.values())

    def enabled_events(self) -> list[str]:
        """Events that would trigger a transition now (guards evaluated), as :class:`Event`."""
        by_id = type(self)._sf_events
        return [by_id.get(n) or Event(id=n) for n in Session.enabled_events(self)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(configuration={list(self._m.cfg.ids)!r})"
