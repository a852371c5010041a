"""Compiles one ``StateChart`` subclass into a core :class:`~statefleet.core.Chart`, once.

Callbacks are found by naming convention (``on_enter_<state>``, ``on_exit_<state>``,
``before_<event>``, ``on_<event>``, ``after_<event>`` and the generic ``on_enter_state``,
``on_exit_state``, ``before_transition``, ``on_transition``, ``after_transition``) or given
inline (``enter=``, ``exit=``, ``cond=``, ``unless=``, ``on=``, ``before=``, ``after=``,
``validators=``) as callables or method names. Every callback becomes a core action whose
arguments are decided here, from its signature: ``event``, ``event_data``, ``source``,
``target``, ``state``, ``machine``, ``model``, ``transition``, ``error`` and any other name
(looked up in the event's data, i.e. the keyword arguments given to ``send``), ``**kwargs``
receiving all of them. Nothing is inspected or looked up by name when an event is processed.

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
import copy
import inspect
import operator
import re
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from statefleet.compat.psm._callbacks import (
    _STANDARD,
    ARGS,
    Provider,
    _collecting,
    _data_getter,
    _definition_errors_propagate,
    _direct,
    _escape_definitions,
    _g_error,
    _g_event_data,
    _g_machine,
    _g_model,
    _g_stash_source,
    _g_stash_target,
    _g_stash_transition,
    _isolated,
    _mark_taken,
    _method_call,
    _negate,
    _only_for,
    _propagating,
    _raiser,
    _Site,
    _stash,
    _static,
    returns_none,
    static_value,
)
from statefleet.compat.psm._definition import (
    _AFTER,
    _GENERIC,
    _INITIAL_EVENT,
    _NAMING,
    _RESERVED,
    Event,
    HistoryState,
    State,
    States,
    Transition,
    TransitionList,
    _AnyState,
    _expand_event_id,
    _NestedStateFactory,
)
from statefleet.compat.psm.contrib.timeout import Timeout
from statefleet.compat.psm.exceptions import AttrNotFound, InvalidDefinition
from statefleet.compat.psm.invoke import MachineHandle, invoke_source
from statefleet.core import (
    Action,
    AfterSpec,
    Chart,
    ChartDefinitionError,
    ChartSpec,
    EventData,
    InvokeSpec,
    OnOwner,
    StateSpec,
    TransitionSpec,
    compile_chart,
    parse_descriptors,
)

if TYPE_CHECKING:
    from statefleet.compat.psm._chart import StateChart

_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


_MISSING: Any = object()


class _Unresolved(AttrNotFound):
    """A callback name nothing defines (yet): raised when an instance is created."""


class _Compiler:
    """Compiles one ``StateChart`` subclass into a :class:`Chart` (once, at class creation)."""

    def __init__(self, cls: type[StateChart], base: type[StateChart]) -> None:
        self.cls = cls
        #: callback providers of a variant (see :meth:`variant`): the model and psm listeners
        self.providers: tuple[Provider, ...] = ()
        #: the state a variant starts in (``start_value=``), instead of the chart's initial
        self.start: str | None = None
        self.top: list[tuple[str, State]] = []
        #: the library's base class: its own attributes are not part of any chart
        self.base = base
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
        return InvalidDefinition(message, path=f"{self.cname}.{path}" if path else self.cname)

    def unresolved(self, path: str, message: str) -> ChartDefinitionError:
        """A name neither the class nor a provider defines: python-statemachine raises it when
        an instance is created (its model or a listener may define it), and so do we."""
        return _Unresolved(message, path=f"{self.cname}.{path}" if path else self.cname)

    # -- entry point -------------------------------------------------------------------------
    def run(self) -> Chart | None:
        """Check the class and compile its chart (``None`` for a class with no states)."""
        if not self.prepare():
            return None
        return self.build()

    def variant(self, providers: tuple[Provider, ...], start: str | None) -> Chart:
        """The chart of an instance whose model or listeners define callbacks, or that starts
        elsewhere (``start_value=``): same states, ids and version, so their snapshots are
        interchangeable with the class chart's."""
        v = copy.copy(self)
        v.providers = providers
        v.start = start
        return v.build()

    def prepare(self) -> bool:
        """Collect and check the class's declarations (once per class; sets its triggers)."""
        cls = self.cls
        for k in cls.__mro__:
            if isinstance(k, type) and issubclass(k, self.base) and k is not self.base:
                self.scopes.add((k.__module__, k.__qualname__))
        attrs: dict[str, Any] = {}
        for k in reversed(cls.__mro__):
            if isinstance(k, type) and issubclass(k, self.base) and k is not self.base:
                for key, value in vars(k).items():
                    if key.startswith("_sf_"):
                        continue  # what compiling a class leaves on it
                    attrs.pop(key, None)
                    attrs[key] = value
        top: list[tuple[str, State]] = []
        decls: list[tuple[str, Any, str]] = []  # (key, TransitionList|Event, path)
        for key, value in attrs.items():
            if isinstance(value, State):
                top.append((key, value))
            elif isinstance(value, States):
                top.extend((k, st) for k, st in value._states.items())
                for skey, st in value._states.items():
                    # ``Machine.DRAFT`` reads a state of ``States.from_enum`` (psm's)
                    if inspect.getattr_static(cls, skey, None) is None:
                        setattr(cls, skey, st)
            elif isinstance(value, TransitionList | Event):
                decls.append((key, value, key))
            elif isinstance(getattr(value, "_sf_transitions", None), TransitionList):
                # ``@a.to(b)`` over a method: the method's name is the event
                decls.append((key, value._sf_transitions, key))
        if not top:
            if decls:
                raise self.error(decls[0][0], "events are declared but the chart has no states")
            return False
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
        self.top = top
        cls._sf_events = dict(self.events_by_id)
        cls._sf_bare = {name: EventData(name) for name in self.events_by_id}
        cls._sf_states = {s._id: s for s in self.states}
        cls._sf_top = States(dict(top))
        custom = {s._id: s.value for s in self.states if s._value is not None}
        cls._sf_values = custom or None
        cls.states_map = {s.value: s for s in self.states}
        return True

    def build(self) -> Chart:
        """Resolve every callback and compile the chart (the class's, or a variant's)."""
        cls = self.cls
        top = self.top
        self.tspecs = []
        self.need_stash = False
        #: has the chart parallel states (a microstep may take several transitions)?
        self.parallel = any(st.parallel for st in self.states)
        #: does ``send`` need an :class:`Outcome` (results to collect, or a strict class)?
        self.collects = False
        #: has the chart ``async def`` callbacks (``await sm.send(...)`` in async code)?
        self.has_async = False
        specs = [self._state_spec(st, key) for key, st in top]
        if self.need_stash:
            for t, ts in self.tspecs:
                ts.before = (_stash(t), *ts.before)
        initial = self._initial_of([st for _, st in top], "")
        if self.start is not None:
            initial = (self.start,)
        spec = ChartSpec(
            id=cls.__qualname__,
            name=self.cname,
            states=specs,
            initial=initial,
            version=str(cls.chart_version),
            path=self.cname,
            meta={
                "dsl": True,
                "psm_outcome": self.collects,
                "psm_async": self.has_async,
                # what the engine raises out of send instead of error.execution (OnOwner
                # actions have no wrapper to do it); a StateMachine's wrappers propagate all
                "escape": _escape_definitions if self.catch else None,
            },
        )
        return compile_chart(spec)

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
            if (
                current is value
                or current is None
                or isinstance(current, Event)
                or getattr(current, "_sf_transitions", None) is value
            ):
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
        spec.invokes = self._invokes(st, path)
        # ``after={30: "expire"}``: ``expire`` is raised 30 s after entry (cancelled on exit);
        # ``invoke=timeout(30, on="expire")`` is the same (python-statemachine's helper)
        delays = list(st._after.items()) + [
            (h.duration, h.on or f"done.invoke.{st._id}")
            for h in st._invoke
            if isinstance(h, Timeout)
        ]
        for delay, event in delays:
            if not isinstance(event, str) or not event:
                raise self.error(
                    f"{path}.after", f"after maps seconds to an event name, not {event!r}"
                )
            spec.after.append(
                AfterSpec(
                    delay=delay,
                    transition=TransitionSpec(
                        actions=(_raiser(event),), path=f"{self.cname}.{path}.after[{delay!r}]"
                    ),
                )
            )
        return spec

    def _invokes(self, st: State, path: str) -> list[InvokeSpec]:
        # a function that is a method of the class (``@state.invoke``) runs with the machine
        # as ``self``
        handlers: list[tuple[Any, bool]] = [
            (
                h,
                isinstance(h, types.FunctionType)
                and inspect.getattr_static(self.cls, h.__name__, None) is h,
            )
            for h in st._invoke
            if not isinstance(h, Timeout)
        ]
        named = inspect.getattr_static(self.cls, f"on_invoke_{st._id}", None)
        if isinstance(named, types.FunctionType):
            handlers.append((named, True))
        out: list[InvokeSpec] = []
        for i, (handler, bound) in enumerate(handlers):
            where = f"{self.cname}.{path}.invoke[{i}]"
            if isinstance(handler, type) and issubclass(handler, self.base):
                out.append(InvokeSpec(src=handler.chart, path=where))
            elif isinstance(handler, str):
                method = inspect.getattr_static(self.cls, handler, None)
                if not isinstance(method, types.FunctionType):
                    raise self.error(f"{path}.invoke", f"unknown invoke handler {handler!r}")
                out.append(
                    InvokeSpec(
                        src=invoke_source(method, st._id, True),
                        params=MachineHandle.of,
                        kind="activity",
                        path=where,
                    )
                )
            elif callable(handler) or callable(getattr(handler, "run", None)):
                out.append(
                    InvokeSpec(
                        src=invoke_source(handler, st._id, bound),
                        params=MachineHandle.of,
                        kind="activity",
                        path=where,
                    )
                )
            else:
                raise self.error(f"{path}.invoke", f"cannot invoke {handler!r}")
        return out

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
        return tuple(self._wrap(a) for a in out)

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
            where = f"{path}.{group}"
            for action in self._resolve_all(func, site, where, group, convention=convention):
                method, on_owner = _direct(action)
                if on_owner and self.catch:
                    # a method taking only ``self`` goes to the engine as is (OnOwner: no
                    # adapter call per entry/exit; InvalidDefinition leaves send through the
                    # chart's escape, see build)
                    blocks.append((OnOwner(method),))
                else:
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

        def resolved(
            prefix: str, generic: str | None, generic_prio: int, inline: list[Any]
        ) -> list[tuple[Action, bool]]:
            """The group's actions in order, each with whether it always returns None."""
            items: list[tuple[int, Any, bool, str | None]] = []
            if generic is not None:
                items.append((generic_prio, generic, True, None))
            items.extend((p, f, False, None) for p, f in inline)
            items.extend((_NAMING, f"{prefix}_{s}", True, s) for s in suffixes)
            items.sort(key=lambda x: x[0])
            actions: list[tuple[Action, bool]] = []
            for _, func, convention, suffix in items:
                where = f"{tpath}.{prefix}"
                for a in self._resolve_all(func, site, where, prefix, convention=convention):
                    none = getattr(a, "_sf_none", False)
                    if conditional and suffix is not None:
                        a = _only_for(a, suffix, suffix_of)
                    actions.append((a, none))
            return actions

        def group(resolved: list[tuple[Action, bool]], collect: bool) -> Any:
            actions = [a for a, _ in resolved]
            if len(actions) > 1 or not self.catch:
                out = [self._wrap(a, isolate=True) for a in actions]
                if collect:
                    out = [_collecting(a) for a in out]
            elif collect:
                # one layer does both: collect the result, let InvalidDefinition propagate
                out = [_collecting(a, definitions=True) for a in actions]
            else:
                out = []
                for a in actions:
                    method, on_owner = _direct(a)
                    if on_owner and not targets:
                        # a targetless transition's one method taking only ``self`` goes to
                        # the engine as is: its specialised step calls ``method(owner)``, no
                        # adapter frame per event (~30-40 ns of a guarded counter event, W2);
                        # InvalidDefinition leaves send through the chart's escape (see
                        # build). Not for a moving transition: the full path calls an
                        # OnOwner through its __call__, dearer than the adapter
                        out.append(OnOwner(method))
                    else:
                        out.append(self._wrap(a))
            if collect and out:
                # what ``sm.send(event)`` returns: python-statemachine's before/on results
                self.collects = True
            return tuple(out)

        before_r = resolved("before", "before_transition", _GENERIC, t._before)
        on_r = resolved("on", "on_transition", _GENERIC, t._on)
        results = before_r + on_r
        # ``send`` returns the before/on results of the transitions that took the event.
        # Without parallel states one transition at most takes it, so one callback that
        # always returns None (see returns_none) makes the result None whatever happens:
        # nothing to collect (a plain instance's event then runs without an outcome)
        collect = bool(events) and not (not self.parallel and len(results) == 1 and results[0][1])
        before = group(before_r, collect)
        if events and not self.cls.allow_event_without_transition:
            self.collects = True
            before = (_mark_taken, *before)
        on = group(on_r, collect)
        after = group(resolved("after", "after_transition", _AFTER, t._after), False)
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
            method, on_owner = _direct(g)
            if on_owner and self.catch and expected and len(items) == 1 and not t._validators:
                # a guard method taking only ``self`` goes to the engine as is (OnOwner: the
                # specialised step calls ``method(owner)``, no adapter per event);
                # InvalidDefinition leaves send through the chart's escape, see build
                return OnOwner(method)
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
        return _definition_errors_propagate(action)

    def _resolve_all(
        self, func: Any, site: _Site, where: str, group: str, *, convention: bool = False
    ) -> list[Callable[[Any], Any]]:
        """``func``'s action on the class, then, for a convention name, the same name on every
        provider that defines it (python-statemachine calls them all)."""
        if not isinstance(func, str) or not convention:
            a = self._resolve(func, site, where, group)
            return [a] if a is not None else []
        own = self._resolve(func, site, where, group, convention=True)
        out = [own] if own is not None else []
        for index, provider in enumerate(self.providers):
            if func in provider.names:
                out.append(self._provided(index, provider, func, site, where, group))
        return out

    def _provided(
        self,
        index: int,
        provider: Provider,
        name: str,
        site: _Site,
        where: str,
        group: str,
        *,
        guard: bool = False,
    ) -> Callable[[Any], Any]:
        """An action calling ``name`` on the instance's ``index``-th provider."""

        def owner_of(ctx: Any) -> Any:
            return ctx.owner._sf_providers[index]

        obj = inspect.getattr_static(provider.type, name, None)
        if isinstance(obj, types.FunctionType):
            return self._callable(obj, site, where, group, bound=True, self_of=owner_of)
        if isinstance(obj, staticmethod):
            return self._callable(obj.__func__, site, where, group)

        def read(ctx: Any) -> Any:
            value = getattr(owner_of(ctx), name)
            return value() if callable(value) else value

        return read

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
            obj = inspect.getattr_static(cls, name, _MISSING)
            not_callback = isinstance(obj, State | Event | TransitionList | _NestedStateFactory)
            if obj is _MISSING or not_callback:
                # not on the class (or the class's is a state or an event): the model's or a
                # listener's, if one defines it (python-statemachine looks there too)
                if convention:
                    return None
                for index, provider in enumerate(self.providers):
                    if name in provider.names:
                        return self._provided(
                            index, provider, name, site, where, group, guard=guard
                        )
                if not_callback:
                    raise self.unresolved(where, f"{name!r} is a state or an event, not a callback")
                if guard:
                    raise self.unresolved(
                        where,
                        f"unknown guard {name!r}: {self.cname} has no such attribute"
                        " (nor has its model or a listener)",
                    )
                raise self.unresolved(
                    where,
                    f"unknown callback {name!r}: {self.cname} has no such method"
                    " (nor has its model or a listener)",
                )
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
                # a method under ``@a.to(b)``: its attribute became the event's trigger
                bound = own is func or hasattr(func, "_sf_transitions")
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
            if isinstance(node, ast.Constant):
                return _static(node.value)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("In", "in_")
                and not node.keywords
                and node.args
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
            ):
                # SCXML's In(): every named state is active
                ids = tuple(str(a.value) for a in node.args)  # type: ignore[attr-defined]
                unknown = [i for i in ids if i not in self.cls._sf_states]
                if unknown:
                    raise self.error(where, f"In() names unknown state {unknown[0]!r}")
                return lambda ctx: all(ctx.in_state(i) for i in ids)
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                op = _COMPARISONS.get(type(node.ops[0]))
                if op is not None:
                    left, right = build(node.left), build(node.comparators[0])
                    return lambda ctx: op(left(ctx), right(ctx))
            raise self.error(where, f"unsupported guard expression {expr!r}")

        return build(tree.body)

    def _callable(
        self,
        func: Any,
        site: _Site,
        where: str,
        group: str,
        *,
        bound: bool = False,
        self_of: Callable[[Any], Any] | None = None,
    ) -> Callable[[Any], Any]:
        """Wrap ``func`` so it receives its arguments by name (decided here, once).

        ``bound``: ``func`` is a method whose ``self`` is the chart instance, or
        ``self_of(ctx)`` when given (a provider: the model or a listener). The wrapper of a
        function that always returns ``None`` says so (``_sf_none``, see
        :func:`returns_none`): its result needs no collecting."""
        call = self._adapter(func, site, where, group, bound=bound, self_of=self_of)
        if returns_none(func):
            call._sf_none = True  # type: ignore[attr-defined]
        return call

    def _adapter(
        self,
        func: Any,
        site: _Site,
        where: str,
        group: str,
        *,
        bound: bool,
        self_of: Callable[[Any], Any] | None,
    ) -> Callable[[Any], Any]:
        if inspect.iscoroutinefunction(func):
            if group in ("cond", "validators"):
                raise self.error(
                    where,
                    f"{getattr(func, '__name__', func)!r} is async: guards and validators are"
                    " synchronous (await in an action or an invoked service instead)",
                )
            self.has_async = True
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
        for index, p in enumerate(params):
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
            getter = self._getter(
                p.name, default, site, None if after_var or p.kind is p.KEYWORD_ONLY else index
            )
            named.add(p.name)
            if p.kind is inspect.Parameter.KEYWORD_ONLY or after_var:
                kw.append((p.name, getter))
            else:
                pos.append(getter)
        extra = self._kwargs_builder(site, frozenset(named)) if varkw else None
        f = func
        if not varkw and not kw and self_of is None:
            n = len(pos)
            if bound:
                if n == 0:
                    return _method_call(f)
                # arguments known now (``state``, a transition's ``source``/``target``) are
                # passed as values, not fetched by a getter call per event (~40 ns each)
                fixed = [static_value(g) for g in pos]
                if all(v is not None for v in fixed):
                    values = tuple(v[0] for v in fixed if v is not None)
                    return lambda ctx: f(ctx.owner, *values)
                if n == 1:
                    (g0,) = pos
                    return lambda ctx: f(ctx.owner, g0(ctx))
                if all(v is not None for v in fixed[1:]):
                    # the usual ``(self, event, source, target)`` / ``(self, event, state)``
                    g0 = pos[0]
                    rest = tuple(v[0] for v in fixed[1:] if v is not None)
                    return lambda ctx: f(ctx.owner, g0(ctx), *rest)
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
            if self_of is not None:
                return f(self_of(ctx), *args, **kwargs)
            if bound:
                return f(ctx.owner, *args, **kwargs)
            return f(*args, **kwargs)

        return call

    def _getter(
        self, name: str, default: Any, site: _Site, index: int | None = None
    ) -> Callable[[Any], Any]:
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
        return _data_getter(name, default, index)

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
            d = ev.data if ev is not None else getattr(ctx.owner, "_sf_start_data", None)
            if type(d) is dict:
                out.update((k, v) for k, v in d.items() if k not in named and k != ARGS)
            if want_error and ev is not None and ev.error is not None:
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
