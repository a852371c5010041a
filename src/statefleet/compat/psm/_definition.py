"""python-statemachine's definition objects: ``State``, ``Event``, transitions and their builders.

A chart class declares its states as class attributes (``State``, ``HistoryState``, nested
``State.Compound`` / ``State.Parallel`` class bodies) and its events as attributes holding
transition lists (``start = idle.to(working)``, combined with ``|``, or wrapped in
``Event(..., id="error.execution")``). Bare ``a.to(b)`` statements that no attribute names
become eventless transitions. These objects only record what was declared; the compiler
(``_compiler.py``) turns a class into a core chart.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
import sys
import types
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self

from statefleet.core import ChartDefinitionError, EventData

if TYPE_CHECKING:
    from statefleet.compat.psm._chart import StateChart

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

    def __call__(self, func: Any) -> Any:
        """Decorator form: ``@idle.to(busy)`` over ``def start(self): ...`` declares the event
        ``start`` with these transitions and runs the method as their ``on`` callback (its
        result is what ``sm.start()`` returns), as python-statemachine does."""
        if not callable(func) or isinstance(func, State | Event | TransitionList):
            raise ChartDefinitionError(
                f"{self!r} only decorates a callback, not {func!r}", path="TransitionList"
            )
        self._add("_on", func)
        func._sf_transitions = self
        return func

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
        invoke: Any = None,
        after: Mapping[Any, str] | None = None,
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
        self._invoke: list[Any] = [invoke] if isinstance(invoke, type) else _as_list(invoke)
        self._after: dict[Any, str] = dict(after or {})
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

    def invoke(self, func: Any) -> Any:
        """Decorator: add an invoke handler (runs while the state is active)."""
        self._invoke.append(func)
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
        bound = _bind(self, instance)
        name = self.id
        if getattr(type(instance), name, None) is self:
            # kept in the instance's __dict__ under its attribute name, where the next
            # ``sm.go`` finds it without calling this (building one costs ~200 ns, as much
            # as a plain step); a deep copy rebinds it to the copy
            setattr(instance, name, bound)
        return bound

    def __repr__(self) -> str:
        return f"Event({self.id!r}, delay={self.delay!r}, internal={self.internal!r})"

    __hash__ = str.__hash__


_INITIAL_EVENT = Event(id="__initial__")


class _BoundEvent(functools.partial[Any]):
    """``sm.start``: calling it sends the event.

    A ``functools.partial`` of the machine's event call (``StateChart._sf_trigger``, or
    ``send`` with the event's ``delay``/``internal``): calling it costs no Python frame of
    its own (~10% of a plain event)."""

    __slots__ = ("id", "name")

    #: the event id
    id: str
    #: the event's display name
    name: str

    def __eq__(self, other: object) -> bool:
        return self.id == other

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"BoundEvent({self.id!r})"


def _bind(event: Event, machine: StateChart) -> _BoundEvent:
    """``sm.<event>``: the trigger (``data`` becomes the event's payload, ``args`` reach the
    callbacks by position; it returns what :meth:`StateChart.send` returns)."""
    if event.delay or event.internal:
        bound = _BoundEvent(
            machine.send, event.id, delay=event.delay or None, internal=event.internal
        )
    else:
        # the event without data, the class's one (``_sf_bare``, also what ``send("name")``
        # hands the engine): an EventData is immutable, and handing one to the engine saves
        # building one per call (~80-140 ns of a plain event)
        bare = machine._sf_bare.get(event.id)
        # a partial of the function with the instance, not of a bound method: one C-level
        # hop less per call (~9 ns of a plain event on 3.11 and 3.13)
        bound = _BoundEvent(
            type(machine)._sf_trigger, machine, bare if bare is not None else EventData(event.id)
        )
    bound.id = event.id
    bound.name = event.name
    return bound


class States:
    """States declared together: python-statemachine's ``States`` (``States.from_enum``).

    Assigned to a class attribute (``states = States.from_enum(Status, initial=...)``) its
    states join the chart under their keys; ``states.PENDING`` reads one. ``Machine.states``
    is the chart's top-level states in document order.
    """

    def __init__(self, states: Mapping[str, State] | None = None) -> None:
        self._states: dict[str, State] = dict(states or {})

    @classmethod
    def from_enum(
        cls,
        enum_type: type[enum.Enum],
        initial: Any,
        final: Any = None,
        use_enum_instance: bool = True,
    ) -> States:
        """One state per member of ``enum_type``: the id is the member's name, the value
        the member itself (or its ``.value`` with ``use_enum_instance=False``); ``initial``
        is a member, ``final`` a member or a list of them."""
        finals = set(final if isinstance(final, list | tuple | set) else [final])
        out: dict[str, State] = {}
        for member in enum_type:
            out[member.name] = State(
                name=str(member.name).replace("_", " ").capitalize(),
                value=member if use_enum_instance else member.value,
                initial=member is initial,
                final=member in finals,
            )
        return cls(out)

    def __getattr__(self, name: str) -> State:
        states: dict[str, State] = self.__dict__.get("_states", {})
        if name in states:
            return states[name]
        raise AttributeError(f"no state {name!r} in {list(states)!r}")

    def __getitem__(self, key: str | int) -> State:
        if isinstance(key, int):
            return list(self._states.values())[key]
        return self._states[key]

    def __iter__(self) -> Iterator[State]:
        return iter(self._states.values())

    def __contains__(self, item: object) -> bool:
        if isinstance(item, State):
            return any(s is item for s in self._states.values())
        return item in self._states

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"States({list(self._states.values())!r})"
