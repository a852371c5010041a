"""The XState dialect: XState-style config dicts and JSON read into a core chart (seed 001).

A config is a tree of state nodes (``id``, ``initial``, ``states``, ``type``, ``on``,
``always``, ``after``, ``entry``/``exit``, ``onDone``, ``invoke``, ...). This module validates
it, reporting every problem as a :class:`~statefleet.ChartDefinitionError` that names the bad
element by its path in the config (``states.processing.onDone.actions[0]: unknown action
'logCompletion'``), and builds the equivalent :class:`~statefleet.core.ChartSpec`:

- state ids are dotted paths from the machine id (``checkout.confirmation``) unless a state sets
  ``id``; targets are sibling keys (``"payment"``, ``"payment.card"``), ``.child`` descendants
  of the source or ``#id`` references (``#id.child`` too);
- ``on`` events (exact names first, then ``foo.*`` wildcards, then ``*``), the ``""`` eventless
  key and ``always`` become transitions; a guarded list is tried in order, the first enabled
  transition wins;
- ``after`` delays (milliseconds, or names resolved through ``delays``) are core timers
  (:class:`~statefleet.core.AfterSpec`) sending ``$after(<delay>)#<state id>``, scheduled on
  entry and cancelled on exit; the transitions listed for one delay are tried in order;
- ``onDone`` listens for ``done.state.<state id>``; ``invoke`` starts a service (a named
  function, a compiled chart) whose result arrives as ``done.invoke.<invoke id>`` and whose
  exception as ``error.invoke.<invoke id>`` (the invoke id defaults to the state id);
- a transition to the source itself re-enters it unless ``reenter: false`` / ``internal: true``;
  a transition to a descendant of the source does not re-enter it unless ``reenter: true`` /
  ``internal: false``.

XState matches event names exactly, SCXML by dotted prefix (``done.state.a`` matches
``done.state.a.b``). Where a name the chart uses or raises extends another one, the shorter
one's transitions get an exact-name check, so ``onDone`` of a parallel state never fires on
one region's ``done.state.*`` event.

Names of actions, guards, services and delays are resolved once, at load time, through the
``actions``/``guards``/``services``/``delays`` mappings, then the ``logic`` object (attributes
named exactly, or their snake_case form: ``logCompletion`` finds ``log_completion``) by the
readers' shared :class:`~statefleet.formats._resolve.Resolver`; ``resolve=False`` leaves a
name found nowhere unbound (listed in ``chart.meta["unbound"]``, raising
:class:`~statefleet.formats.UnboundNameError` if run) so a chart can be checked and drawn
without its code. Each function is adapted to the core's one-argument callables by its
signature, inspected once (the shared adapter, with the call forms below):

======== ================================================ ==================================
kind     full form (seed 001's ``MachineLogic``)           shorter forms drop from the left
======== ================================================ ==================================
action   ``(interpreter, context, event, action_def)``     ``(context, event, action_def)``,
                                                           ``(context, event)``, ...
guard    ``(context, event)`` (``(.., guard_def)`` too)    ``(context)``, ``()``
service  ``(interpreter, context, event)`` (``(.., input)``) ``(context, event)``, ...
delay    ``(context, event) -> milliseconds``             ``(context)``, ``()``
======== ================================================ ==================================

A config root that needs a state of its own (``type: parallel``, a root ``invoke`` or
``after``, no child states) is wrapped in a top-level state whose id is the machine id, so
leaf ids are unchanged; a root's ``on``/``always`` transitions are otherwise copied onto each
top-level state (with the same priority: after that state's own), its ``entry`` runs as the
initial transition's content and its ``exit`` when the machine finishes.

:class:`XStateSession` drives a chart the way seed 001's ``SyncInterpreter`` does:
``active_state_ids`` (the active leaf ids), ``send(type, **payload)`` (the payload is
``event.data`` in callbacks), ``context``, ``value``, ``stop()``.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import datetime
import inspect
import json
import operator
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import msgspec

from statefleet.core import (
    ActionContext,
    Chart,
    ChartDefinitionError,
    EventData,
    Invocation,
    compile_chart,
)
from statefleet.core._algorithm import Form, with_form
from statefleet.formats import _ir as ir
from statefleet.formats._input import Source, check_data, clip, nesting_error, read_source, shown
from statefleet.formats._resolve import (
    Kind,
    Problems,
    Resolver,
    adapt_positional,
    did_you_mean,
    parse_duration,
    positional_arity,
)

__all__ = [
    "ActionDef",
    "MachineLogic",
    "XEvent",
    "from_dict",
    "from_json",
]

DEFAULT_MACHINE_ID = "(machine)"
#: a root's transitions are copied onto every top-level state: at most this many copies
MAX_ROOT_COPIES = 100_000

_STATE_KEYS = (
    "id",
    "type",
    "initial",
    "states",
    "on",
    "always",
    "after",
    "entry",
    "exit",
    "onDone",
    "invoke",
    "history",
    "target",
    "output",
    "data",
    "meta",
    "description",
    "tags",
)
_ROOT_KEYS = (
    *_STATE_KEYS,
    "context",
    "version",
    "predictableActionArguments",
    "preserveActionOrder",
    "tsTypes",
    "schema",
    "types",
)
_TRANSITION_KEYS = (
    "target",
    "actions",
    "guard",
    "cond",
    "in",
    "internal",
    "reenter",
    "description",
    "meta",
)
_DELAYED_KEYS = (*_TRANSITION_KEYS, "delay")
_INVOKE_KEYS = (
    "src",
    "id",
    "onDone",
    "onError",
    "input",
    "data",
    "autoForward",
    "description",
    "meta",
)
_STATE_TYPES = ("atomic", "compound", "parallel", "final", "history")
_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")
_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
#: a YAML mapping key at the start of a line (``states:``), to tell YAML handed to from_json
_YAML_KEY = re.compile(r"^(meta|states|transitions)\s*:", re.MULTILINE)
_PLATFORM_EVENTS = ("error.execution", "error.communication", "error.platform")


# -- what callbacks receive ----------------------------------------------------------------
_UNSET: Any = object()


class XEvent(msgspec.Struct, eq=False):
    """An event as XState-style callbacks see it.

    ``type`` is the event name, ``data`` (also ``payload``) its payload: the keyword
    arguments given to ``send`` (a dict, empty when there were none), a service's return value for
    ``done.invoke.*``, the exception for ``error.*`` events raised by a failure. ``raw`` is the
    core :class:`~statefleet.EventData`. ``event["key"]`` and ``event.get("key")`` read the
    payload.
    """

    # One is made per event a callback taking the event sees, so it is made as cheaply as
    # possible: a Struct (its constructor is C, ~45 ns against ~125 for a Python
    # ``__init__``: ~7% of a guarded event, W2), compared by identity (``eq=False``), keeping
    # only the raw event; ``type``, ``error`` and ``data`` are read from it when asked, the
    # payload-less ``data`` dict made on first use (~100 ns of a guarded event, W2)
    raw: Any
    #: the engine delivering the event (see _private)
    _by: Any = None
    _data: Any = _UNSET

    @property
    def type(self) -> str:
        """The event name."""
        return _raw(self).name

    @property
    def error(self) -> Any:
        """The exception an ``error.*`` event carries (else None)."""
        return _raw(self).error

    @property
    def data(self) -> Any:
        """The payload: the exception for an error event, a dict (empty when the event has
        none, but for ``done.*`` events, whose payload is what the service returned)."""
        data = self._data
        if data is _UNSET:
            raw = _raw(self)
            if raw.error is not None:
                data = raw.error
            elif raw.data is None and not raw.name.startswith("done."):
                data = {}
                _private(self)  # a dict of this view's own
            else:
                data = raw.data
            self._data = data
        return data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value
        _private(self)

    @property
    def name(self) -> str:
        """The event name (same as ``type``)."""
        return _raw(self).name

    @property
    def payload(self) -> Any:
        """The payload (same as ``data``: xstate-statemachine's name for it)."""
        return self.data

    def get(self, key: str, default: Any = None) -> Any:
        """A payload item, or ``default``."""
        data = self.data
        return data.get(key, default) if isinstance(data, Mapping) else default

    def __getitem__(self, key: str) -> Any:
        data = self.data
        if not isinstance(data, Mapping):
            raise KeyError(key)
        return data[key]

    def __repr__(self) -> str:
        return f"XEvent({self.type!r}, data={self.data!r})"


def _raw(view: XEvent) -> EventData:
    """The core event of ``view`` (``XEvent(None)`` is the start's: ``xstate.init``)."""
    raw = view.raw
    return raw if raw is not None else _INIT_EVENT


_INIT_EVENT = EventData("xstate.init", type="platform")
#: the raw event of the view cache's placeholder (no event is this one)
_NO_VIEW_EVENT = EventData("xstate.none", type="platform")


class _Stale(XEvent):
    """What the view cache holds once its view was made private (:func:`_private`): that
    view, and the engine (``_by``) and version it belongs to."""

    view: Any = None
    version: int = -1


def _private(view: XEvent) -> None:
    """``view`` now holds a payload of its own (the empty dict it made for a payload-less
    event, or one a callback set). One core event object may be delivered more than once
    (an actor's ``send_nowait("name")`` sends one shared payload-less event per name; a
    caller may send one ``EventData`` twice), and what a callback wrote into one delivery's
    view must not be seen by the next: the cache, which hands its view out by the raw event
    alone, gives way to a placeholder, and :func:`_event_of` hands the view out again only
    to the same engine in the same version (the rest of that step's callbacks). A step
    that changes nothing keeps its engine's version, so a guard writing into the data of an
    event no transition takes is still seen by the next delivery of that very object to
    that engine. Costs nothing until a view is made private (issue 16's W2 dict row)."""
    global _last_event
    by = view._by
    if _last_event is view and by is not None:
        _last_event = _Stale(_NO_VIEW_EVENT, by, view=view, version=by.version)


#: the view of the last event callbacks saw (its ``raw`` is never None, see _event_of, nor
#: the start's event, which gets a fresh view each time); one global read tells whether it
#: is the current event's, and no pair is built per event
_last_event: XEvent = XEvent(_INIT_EVENT)


@dataclass(frozen=True)
class ActionDef:
    """What an action (or a guard) was declared as: its ``type`` (the name) and ``params``
    (the other keys of an ``{"type": name, ...}`` object, or its ``params`` mapping)."""

    type: str
    params: Mapping[str, Any] = field(default_factory=dict)


class MachineLogic:
    """Implementations of the actions, guards, services and delays a config names.

    Subclass it and define methods named like the config's names (or their snake_case
    form), with seed 001's signatures: actions ``(self, interpreter, context, event,
    action_def)``, guards ``(self, context, event)``, services ``(self, interpreter, context,
    event)``. Or pass mappings: ``MachineLogic(actions={"notify": fn}, guards=...)``; a
    mapping entry wins over a method of the same name.
    """

    def __init__(
        self,
        actions: Mapping[str, Any] | None = None,
        guards: Mapping[str, Any] | None = None,
        services: Mapping[str, Any] | None = None,
        delays: Mapping[str, Any] | None = None,
    ) -> None:
        self.actions: dict[str, Any] = dict(actions or {})
        self.guards: dict[str, Any] = dict(guards or {})
        self.services: dict[str, Any] = dict(services or {})
        self.delays: dict[str, Any] = dict(delays or {})


_LOGIC_OWN = frozenset(dir(MachineLogic)) | {"actions", "guards", "services", "delays"}


# -- errors and paths ----------------------------------------------------------------------
def _join(path: str, key: Any) -> str:
    k = str(key)
    if _SIMPLE_KEY.match(k):
        return f"{path}.{k}" if path else k
    return f"{path}[{json.dumps(k)}]"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {clip(value)!r}"
    if isinstance(value, int | float):
        return f"the number {shown(value)}"
    return type(value).__name__


# -- logic resolution ----------------------------------------------------------------------


def _resolver(
    logic: Any, maps: dict[Kind, Mapping[str, Any] | None], errors: Problems, resolve: bool
) -> Resolver:
    """Names are looked up in the mappings given, a :class:`MachineLogic`'s own mappings,
    then on the logic object (exact name, then snake_case)."""
    found: dict[Kind, list[Mapping[str, Any]]] = {}
    attr = {"action": "actions", "guard": "guards", "service": "services", "delay": "delays"}
    for kind in ("action", "guard", "service", "delay"):
        sources: list[Mapping[str, Any]] = []
        given = maps.get(kind)
        if given is not None:
            if not isinstance(given, Mapping):
                errors.add(
                    attr[kind],
                    f"expected a mapping of names to {attr[kind]}, got {_type_name(given)}",
                )
            else:
                sources.append(given)
        if isinstance(logic, MachineLogic):
            own = getattr(logic, attr[kind], None)
            if isinstance(own, Mapping):
                sources.append(own)
        found[kind] = sources
    return Resolver(found, logic, skip=_LOGIC_OWN, resolve=resolve)


# a service's context (a C-level getter: no Python call)
_context: Callable[[Any], Any] = operator.attrgetter("context")


def _event_of(raw: EventData | None, x: Any) -> XEvent:
    """The :class:`XEvent` for ``raw`` as engine ``x`` delivers it: built once per event
    (the last one is kept, so every callback of a step gets the same one; the start's
    ``None`` gets a fresh one; a view made private only within its step, see
    :func:`_private`)."""
    global _last_event
    last = _last_event
    if last.raw is raw:
        return last
    if type(last) is _Stale:
        view = last.view
        if view.raw is raw and last._by is x and last.version == x.version:
            return view  # type: ignore[no-any-return]
    ev = XEvent(raw, x)
    if raw is not None:
        _last_event = ev
    return ev


def _adapt(
    fn: Callable[..., Any], most: int, d: ActionDef | None = None
) -> Callable[[ActionContext], Any]:
    """A one-argument core callable calling ``fn`` with the first arguments of XState's
    call form ``(interpreter, context, event, action_def)`` its signature takes: ``()``,
    ``(context)``, ``(context, event)``, ``(context, event, def)`` and, for actions
    (``most=4``), the whole form.

    Delays, ``input``/``output`` functions and data templates' values take up to
    ``(context, event)`` (``most=2``). This is
    :func:`~statefleet.formats._resolve.adapt_positional` with XState's forms written out:
    the event view (the current event's cached :class:`XEvent`) is read in the closure
    itself, so a callback costs one Python call beside the user's function, not one more
    for its event argument (a hot transition runs them on every event). A guard's or an
    action's adapter (``d`` given) carries its core ``Form`` (``with_form``): the engine's
    specialised step calls ``fn`` in that form itself, with no adapter call at all.
    """
    n = positional_arity(fn, most)
    call: Callable[[ActionContext], Any]
    if n == 0:

        def call(x: ActionContext) -> Any:
            return fn()

    elif n == 1:

        def call(x: ActionContext) -> Any:
            return fn(x.context)

    elif n == 2:

        def call(x: ActionContext) -> Any:
            raw = x.event
            last = _last_event
            return fn(x.context, last if last.raw is raw else _event_of(raw, x))

    elif n == 3:

        def call(x: ActionContext) -> Any:
            raw = x.event
            last = _last_event
            return fn(x.context, last if last.raw is raw else _event_of(raw, x), d)

    else:

        def call(x: ActionContext) -> Any:
            raw = x.event
            last = _last_event
            return fn(x.owner, x.context, last if last.raw is raw else _event_of(raw, x), d)

    if d is not None:  # a guard or an action
        call.__name__ = call.__qualname__ = d.type
        # the engine's specialised step calls fn in this form itself (no adapter frame per
        # event: ~100 ns of a guarded XState counter event, issue 16's W2 dict row)
        with_form(call, _FORMS[n](fn, d))
    return call


#: what each adapter of :func:`_adapt` does, by its arity, as a core :class:`Form`
_FORMS: tuple[Callable[[Callable[..., Any], ActionDef | None], Form], ...] = (
    lambda fn, d: Form(fn, ()),
    lambda fn, d: Form(fn, ("context",)),
    lambda fn, d: Form(fn, ("context", "view"), view=_event_of),
    lambda fn, d: Form(fn, ("context", "view", "const"), d, _event_of),
    lambda fn, d: Form(fn, ("owner", "context", "view", "const"), d, _event_of),
)


def _interpreter_of(inv: Invocation) -> Any:
    owner = inv.owner
    wrapper = getattr(owner, "xstate", None)
    return wrapper if wrapper is not None else owner


def _inv_event(inv: Invocation) -> XEvent:
    return XEvent(inv.event)


_inv_data: Callable[[Any], Any] = operator.attrgetter("data")


_SERVICE_FORMS = (
    (),
    (_context,),
    (_context, _inv_event),
    (_interpreter_of, _context, _inv_event),
    (_interpreter_of, _context, _inv_event, _inv_data),
)


def _adapt_service(fn: Callable[..., Any], name: str) -> Callable[[Invocation], Any]:
    call = adapt_positional(fn, _SERVICE_FORMS, name)
    if not inspect.iscoroutinefunction(fn):
        return call

    async def async_service(inv: Invocation) -> Any:
        return await call(inv)

    async_service.__name__ = async_service.__qualname__ = name
    return async_service


def _to_seconds(ms: Any) -> float:
    if isinstance(ms, datetime.timedelta):
        return ms.total_seconds()
    if isinstance(ms, int | float) and not isinstance(ms, bool):
        with contextlib.suppress(ValueError):
            return parse_duration(ms, "ms")
    raise ValueError(f"a delay must be milliseconds >= 0, got {shown(ms)}")


def _adapt_delay(fn: Callable[..., Any]) -> Callable[[ActionContext], float]:
    call = _adapt(fn, 2)

    def delay(ctx: ActionContext) -> float:
        return _to_seconds(call(ctx))

    return delay


def _function(fn: Any, ref: ir.Ref) -> Any:
    if not callable(fn):
        raise ValueError(f"{ref.kind} {ref.name!r} resolves to {_type_name(fn)}, not a function")
    return fn


def _bind_service(fn: Any, ref: ir.Ref) -> Any:
    return fn if isinstance(fn, Chart) else _adapt_service(_function(fn, ref), ref.name)


def _bind_delay(value: Any, ref: ir.Ref) -> Any:
    if callable(value):
        return _adapt_delay(value)
    try:
        return _to_seconds(value)
    except ValueError as exc:
        raise ValueError(f"delay {ref.name!r}: {exc}") from None


def _binding(resolver: Resolver) -> ir.Binding:
    """How XState names are bound: through ``resolver``, with the call forms above."""

    def unknown(ref: ir.Ref) -> str:
        if ref.kind != "delay":
            return resolver.unknown(ref.kind, ref.name)
        return (
            f"unknown delay {ref.name!r}: not a number of milliseconds, and no delay of that"
            f" name{did_you_mean(ref.name, resolver.candidates('delay'))}"
        )

    return ir.Binding(
        resolver,
        {
            "action": lambda fn, ref: _adapt(
                _function(fn, ref), 4, ActionDef(ref.name, ref.params)
            ),
            "guard": lambda fn, ref: _adapt(_function(fn, ref), 3, ActionDef(ref.name, ref.params)),
            "service": _bind_service,
            "delay": _bind_delay,
        },
        unknown,
    )


# -- the config tree -----------------------------------------------------------------------
class _Node:
    """One state node of the config, before it becomes a StateSpec."""

    def __init__(
        self, key: str, id: str, path: str, cfg: Mapping[str, Any], parent: _Node | None
    ) -> None:
        self.key = key
        self.id = id
        self.path = path
        self.cfg = cfg
        self.parent = parent
        self.children: dict[str, _Node] = {}
        self.kind: Literal["state", "parallel", "final", "history"] = "state"
        self.spec: ir.State | None = None
        self.ancestors: tuple[_Node, ...] = () if parent is None else (parent, *parent.ancestors)

    def state_children(self) -> list[_Node]:
        return [c for c in self.children.values() if c.kind != "history"]

    def initial_child(self) -> _Node | None:
        init = self.cfg.get("initial")
        if isinstance(init, str) and init in self.children:
            return self.children[init]
        kids = self.state_children()
        return kids[0] if kids else None


@dataclass
class _Pending:
    """A transition whose event name may need an exact-match check."""

    spec: ir.Transition
    name: str


class _Reader:
    def __init__(self, config: Any, logic: Resolver, errors: Problems) -> None:
        self.config = config
        self.logic = logic
        self.errors = errors
        self.by_id: dict[str, _Node] = {}
        self.nodes: list[_Node] = []
        self.pending: list[_Pending] = []
        self.generated: set[str] = set(_PLATFORM_EVENTS)
        self.machine_id = DEFAULT_MACHINE_ID
        self.root: _Node | None = None
        self.wrap = False

    # -- pass 1: the tree ------------------------------------------------------------------
    def read(self) -> ir.Chart | None:
        cfg = self.config
        err = self.errors
        if not isinstance(cfg, Mapping):
            err.add("", f"a machine config must be an object, got {_type_name(cfg)}")
            return None
        self.check_keys(cfg, _ROOT_KEYS, "", "the machine config")
        mid = cfg.get("id", DEFAULT_MACHINE_ID)
        if not isinstance(mid, str) or not mid.strip():
            err.add("id", f"the machine id must be a non-empty string, got {_type_name(mid)}")
            mid = DEFAULT_MACHINE_ID
        elif any(c.isspace() for c in mid):
            err.add("id", f"the machine id {mid!r} cannot contain whitespace")
        self.machine_id = mid
        root = _Node("", mid, "", cfg, None)
        self.root = root
        root.kind = self.kind_of(root)
        if root.kind in ("final", "history"):
            err.add("type", f"the machine root cannot be a {root.kind} state")
            root.kind = "state"
        self.check_structure(root)
        # the root's id is the machine id (a real state only when the root is wrapped)
        self.by_id[mid] = root
        self.children_of(root, ())
        self.wrap = (
            root.kind == "parallel" or "invoke" in cfg or "after" in cfg or not root.children
        )
        if err.items:
            return None
        for node in self.nodes:
            self.build_state(node)
        for node in self.nodes:  # document order: children keep their order
            parent = node.parent
            if parent is not None and parent.spec is not None and node.spec is not None:
                parent.spec.children.append(node.spec)
        root_parts = self.build_root(root)
        self.exact_checks()
        return root_parts

    def check_keys(
        self, cfg: Mapping[str, Any], allowed: tuple[str, ...], path: str, what: str
    ) -> None:
        for k in cfg:
            if not isinstance(k, str):
                self.errors.add(path, f"{what} has a non-string key {k!r}")
            elif k not in allowed:
                self.errors.add(
                    _join(path, k), f"unknown key {k!r} in {what}{did_you_mean(k, allowed)}"
                )

    def kind_of(self, node: _Node) -> Literal["state", "parallel", "final", "history"]:
        t = node.cfg.get("type")
        path = _join(node.path, "type")
        if t is None:
            return "state"
        if not isinstance(t, str) or t not in _STATE_TYPES:
            self.errors.add(
                path,
                f"unknown state type {t!r}: expected one of"
                f" {', '.join(_STATE_TYPES)}{did_you_mean(str(t), _STATE_TYPES)}",
            )
            return "state"
        states = node.cfg.get("states")
        if t == "atomic" and states:
            self.errors.add(path, "an atomic state cannot have child states")
        if t == "compound" and not states:
            self.errors.add(path, "a compound state needs child states")
        if t in ("atomic", "compound"):
            return "state"
        return t  # type: ignore[return-value]

    def children_of(self, node: _Node, keypath: tuple[str, ...]) -> None:
        states = node.cfg.get("states")
        spath = _join(node.path, "states")
        if states is None:
            return
        if not isinstance(states, Mapping):
            self.errors.add(spath, f"expected an object of child states, got {_type_name(states)}")
            return
        for key, sub in states.items():
            path = _join(spath, key)
            if not isinstance(key, str) or not key:
                self.errors.add(spath, f"a state key must be a non-empty string, got {key!r}")
                continue
            if "." in key or key.startswith("#") or any(c.isspace() for c in key):
                self.errors.add(
                    path, f"state key {key!r} cannot contain '.' or whitespace or start with '#'"
                )
                continue
            if sub is None:
                sub = {}
            if not isinstance(sub, Mapping):
                self.errors.add(path, f"expected a state object, got {_type_name(sub)}")
                continue
            self.check_keys(sub, (*_STATE_KEYS, "context"), path, f"state {key!r}")
            kp = (*keypath, key)
            sid = sub.get("id")
            if sid is None:
                sid = ".".join((self.machine_id, *kp))
            elif not isinstance(sid, str) or not sid:
                self.errors.add(
                    _join(path, "id"),
                    f"a state id must be a non-empty string, got {_type_name(sid)}",
                )
                continue
            elif any(c.isspace() for c in sid) or sid.startswith("#"):
                self.errors.add(
                    _join(path, "id"),
                    f"state id {sid!r} cannot contain whitespace or start with '#'",
                )
                continue
            child = _Node(key, sid, path, sub, node)
            child.kind = self.kind_of(child)
            other = self.by_id.get(sid)
            if other is not None:
                self.errors.add(
                    _join(path, "id") if "id" in sub else path,
                    f"duplicate state id {sid!r} (also {other.path or 'the machine root'})",
                )
            else:
                self.by_id[sid] = child
            node.children[key] = child
            self.nodes.append(child)
            self.check_structure(child)
            self.children_of(child, kp)

    def check_structure(self, node: _Node) -> None:
        cfg = node.cfg
        path = node.path
        if node.kind == "final":
            for k, what in (
                ("states", "child states"),
                ("on", "outgoing transitions (on)"),
                ("always", "outgoing transitions (always)"),
                ("after", "outgoing transitions (after)"),
                ("onDone", "onDone"),
                ("initial", "an initial state"),
                ("invoke", "invocations"),
            ):
                if k in cfg:
                    self.errors.add(_join(path, k), f"a final state cannot have {what}")
        elif node.kind == "history":
            for k in cfg:
                if k not in ("type", "history", "target", "id", "meta", "description"):
                    self.errors.add(_join(path, k), f"a history state cannot have {k!r}")
            h = cfg.get("history", "shallow")
            if h not in ("shallow", "deep"):
                self.errors.add(
                    _join(path, "history"),
                    f"history must be 'shallow' or 'deep', got {_type_name(h)}",
                )
        else:
            for k in ("history", "target"):
                if k in cfg:
                    self.errors.add(_join(path, k), f"{k!r} is only allowed on a history state")
            for k in ("output", "data"):
                if k in cfg:
                    self.errors.add(_join(path, k), f"{k!r} is only allowed on a final state")
        if "context" in cfg and node.parent is not None:
            self.errors.add(_join(path, "context"), "only the machine root has a context")

    # -- targets ---------------------------------------------------------------------------
    def descend(self, base: _Node, parts: list[str], path: str, target: str) -> _Node | None:
        node = base
        for part in parts:
            nxt = node.children.get(part)
            if nxt is None:
                self.errors.add(
                    path,
                    f"unknown target {target!r}: {node.id!r} has no child state {part!r}"
                    f"{did_you_mean(part, node.children)}",
                )
                return None
            node = nxt
        return node

    def resolve(self, src: _Node, target: str, path: str) -> _Node | None:
        node = self.resolve_any(src, target, path)
        if node is not None and node.parent is None and not self.wrap:
            self.errors.add(path, f"cannot target the machine root {target!r}")
            return None
        return node

    def resolve_any(self, src: _Node, target: str, path: str) -> _Node | None:
        if not target:
            self.errors.add(path, "a target cannot be empty")
            return None
        if target.startswith("#"):
            ref = target[1:]
            node = self.by_id.get(ref)
            if node is not None:
                return node
            parts = ref.split(".")
            for i in range(len(parts) - 1, 0, -1):
                base = self.by_id.get(".".join(parts[:i]))
                if base is not None:
                    return self.descend(base, parts[i:], path, target)
            self.errors.add(
                path,
                f"unknown target {target!r}: no state has id {ref!r}"
                f"{did_you_mean(ref, self.by_id)}",
            )
            return None
        if target.startswith("."):
            return self.descend(src, target[1:].split("."), path, target)
        parts = target.split(".")
        base = src.parent if src.parent is not None else src
        first = base.children.get(parts[0])
        if first is None:
            where = "the machine root" if base.parent is None else repr(base.id)
            self.errors.add(
                path,
                f"unknown target {target!r}: {where} has no child state {parts[0]!r}"
                f"{did_you_mean(parts[0], base.children)}",
            )
            return None
        return self.descend(first, parts[1:], path, target)

    # -- logic ------------------------------------------------------------------------------
    def named(self, kind: Kind, raw: Any, path: str) -> ir.Ref | None:
        """An action/guard reference: a name, ``{type: name, ...}`` or a callable."""
        if callable(raw) and not isinstance(raw, str):
            return ir.Ref(kind, str(getattr(raw, "__name__", kind)), raw, path=path)
        params: Mapping[str, Any] = {}
        if isinstance(raw, Mapping):
            t = raw.get("type")
            if not isinstance(t, str) or not t:
                if callable(t):
                    rest = {k: v for k, v in raw.items() if k != "type"}
                    return ir.Ref(kind, getattr(t, "__name__", kind), t, rest, path)
                self.errors.add(path, f"an {kind} object needs a 'type' naming the {kind}")
                return None
            rest = {k: v for k, v in raw.items() if k != "type"}
            if set(rest) == {"params"} and isinstance(rest["params"], Mapping):
                params = dict(rest["params"])
            else:
                params = rest
            name = t
        elif isinstance(raw, str):
            if not raw:
                self.errors.add(path, f"an {kind} name cannot be empty")
                return None
            name = raw
        else:
            self.errors.add(
                path,
                f"expected an {kind} name, an {{'type': name}} object or a function,"
                f" got {_type_name(raw)}",
            )
            return None
        return ir.Ref(kind, name, params=params, path=path, order=len(self.errors))

    def actions(self, raw: Any, path: str) -> list[ir.Ref]:
        if raw is None:
            return []
        items = list(raw) if isinstance(raw, list | tuple) else [raw]
        out: list[ir.Ref] = []
        for i, item in enumerate(items):
            ref = self.named("action", item, f"{path}[{i}]")
            if ref is not None:
                out.append(ref)
        return out

    # -- transitions ------------------------------------------------------------------------
    def transitions(
        self,
        src: _Node,
        raw: Any,
        path: str,
        event: str | None,
        *,
        exact: bool = True,
    ) -> list[ir.Transition]:
        """``raw`` is a target, a transition object, null or a list of them."""
        if isinstance(raw, list | tuple):
            out: list[ir.Transition] = []
            for i, item in enumerate(raw):
                ts = self.transition(src, item, f"{path}[{i}]", event, exact=exact)
                if ts is not None:
                    out.append(ts)
            return out
        ts = self.transition(src, raw, path, event, exact=exact)
        return [ts] if ts is not None else []

    def transition(
        self,
        src: _Node,
        raw: Any,
        path: str,
        event: str | None,
        *,
        exact: bool = True,
        keys: tuple[str, ...] = _TRANSITION_KEYS,
    ) -> ir.Transition | None:
        err = self.errors
        target: Any = None
        guards: list[ir.Ref] = []
        actions: list[ir.Ref] = []
        reenter: bool | None = None
        if isinstance(raw, str):
            target = raw
        elif isinstance(raw, Mapping):
            self.check_keys(raw, keys, path, "a transition")
            target = raw.get("target")
            actions = self.actions(raw.get("actions"), _join(path, "actions"))
            if "guard" in raw and "cond" in raw:
                err.add(path, "give either 'guard' or 'cond', not both")
            if "in" in raw:
                guards += self.in_state_guard(src, raw["in"], _join(path, "in"))
            gkey = "guard" if "guard" in raw else "cond" if "cond" in raw else None
            if gkey is not None:
                ref = self.named("guard", raw[gkey], _join(path, gkey))
                guards += [ref] if ref is not None else []
            for k in ("internal", "reenter"):
                if k in raw and not isinstance(raw[k], bool):
                    err.add(_join(path, k), f"expected true or false, got {_type_name(raw[k])}")
            if "internal" in raw and "reenter" in raw:
                err.add(path, "give either 'internal' or 'reenter', not both")
            if isinstance(raw.get("reenter"), bool):
                reenter = raw["reenter"]
            elif isinstance(raw.get("internal"), bool):
                reenter = not raw["internal"]
        elif raw is not None:
            err.add(
                path,
                f"expected a target, a transition object or a list of them, got {_type_name(raw)}",
            )
            return None
        nodes: list[_Node] = []
        tpath = _join(path, "target") if isinstance(raw, Mapping) else path
        if target is not None:
            tlist = list(target) if isinstance(target, list | tuple) else [target]
            for i, t in enumerate(tlist):
                p = f"{tpath}[{i}]" if isinstance(target, list | tuple) else tpath
                if not isinstance(t, str):
                    err.add(p, f"a target must be a string, got {_type_name(t)}")
                    continue
                n = self.resolve(src, t, p)
                if n is not None:
                    nodes.append(n)
        kind: Literal["external", "internal"] = "external"
        if nodes:
            if all(src in n.ancestors for n in nodes):
                kind = "external" if reenter is True else "internal"
            elif nodes == [src] and reenter is False:
                # a non-reentering self-transition: the state stays and a compound state's
                # children restart; SCXML exits a parallel source whatever the type, so there
                # (and in an atomic state) it is a targetless transition
                init = src.initial_child() if src.kind == "state" else None
                nodes = [init] if init is not None else []
                kind = "internal"
        spec = ir.Transition(
            events=(event,) if event else (),
            targets=tuple(n.id for n in nodes),
            guards=guards,
            type=kind,
            actions=actions,
            path=path,
        )
        if event and exact:
            self.pending.append(_Pending(spec, event))
        return spec

    def in_state_guard(self, src: _Node, raw: Any, path: str) -> list[ir.Ref]:
        """The check of an ``in`` key (the state must be active), if it names a state."""
        if not isinstance(raw, str):
            self.errors.add(path, f"'in' names a state, got {_type_name(raw)}")
            return []
        if raw.startswith(("#", ".")):
            node = self.resolve_any(src, raw, path)
        elif raw in self.by_id:
            node = self.by_id[raw]
        else:
            assert self.root is not None
            node = self.descend(self.root, raw.split("."), path, raw)
        if node is None:
            return []
        sid = node.id

        def in_state(ctx: ActionContext) -> Any:
            return ctx.in_state(sid)

        return [ir.Ref("guard", f"in {sid}", in_state, path=path, label=f"in {sid}", core=True)]

    def on_transitions(self, src: _Node, raw: Any, path: str) -> list[ir.Transition]:
        if raw is None:
            return []
        if not isinstance(raw, Mapping):
            self.errors.add(
                path, f"expected an object of event names to transitions, got {_type_name(raw)}"
            )
            return []
        exact_keys: list[Any] = []
        partial: list[Any] = []
        star: list[Any] = []
        for k in raw:
            if not isinstance(k, str):
                self.errors.add(path, f"event names must be strings, got {k!r}")
            elif any(c.isspace() for c in k):
                self.errors.add(_join(path, k), f"event name {k!r} cannot contain whitespace")
            elif k == "*":
                star.append(k)
            elif k.endswith(".*"):
                partial.append(k)
            else:
                exact_keys.append(k)
        partial.sort(key=len, reverse=True)
        out: list[ir.Transition] = []
        for k in (*exact_keys, *partial, *star):
            wildcard = k == "*" or k.endswith(".*")
            out += self.transitions(src, raw[k], _join(path, k), k or None, exact=not wildcard)
        return out

    def after(self, node: _Node, raw: Any, path: str) -> list[ir.Timer]:
        """Delayed transitions: one core timer per delay, sending ``$after(<delay>)#<id>``
        and trying its transitions in order."""
        groups: dict[str, tuple[Any, list[tuple[Any, str]]]] = {}
        if isinstance(raw, Mapping):
            for k, v in raw.items():
                key = str(k)
                if key in groups:
                    self.errors.add(_join(path, k), f"delay {k!r} is given twice")
                    continue
                groups[key] = (k, [(v, _join(path, key))])
        elif isinstance(raw, list | tuple):
            for i, item in enumerate(raw):
                p = f"{path}[{i}]"
                if not isinstance(item, Mapping) or "delay" not in item:
                    self.errors.add(p, "expected a transition object with a 'delay'")
                    continue
                d = item["delay"]
                key = str(d)
                groups.setdefault(key, (d, []))[1].append(
                    ({k: v for k, v in item.items() if k != "delay"}, p)
                )
        else:
            self.errors.add(
                path, f"expected an object of delays to transitions, got {_type_name(raw)}"
            )
            return []
        timers: list[ir.Timer] = []
        for key, (raw_delay, items) in groups.items():
            order = len(self.errors)
            delay = self.delay(raw_delay, items[0][1])
            if delay is None:
                continue
            name = f"$after({key})#{node.id}"
            self.generated.add(name)
            trans: list[ir.Transition] = []
            for item, p in items:
                # the core matches a timer's event exactly: no exact-name check needed
                trans += self.transitions(node, item, p, name, exact=False)
            timers.append(
                ir.Timer(
                    delay,
                    trans,
                    unit="ms",
                    event=name,
                    invalid="invalid delay {value}: expected milliseconds >= 0",
                    path=items[0][1],
                    order=order,
                )
            )
        return timers

    def delay(self, raw: Any, path: str) -> Any:
        """A literal delay (milliseconds), a :class:`~statefleet.formats._ir.Ref` to a named
        one, or None (a problem)."""
        if isinstance(raw, bool):
            self.errors.add(path, f"invalid delay {raw!r}: expected milliseconds or a delay name")
            return None
        if isinstance(raw, int | float) or (isinstance(raw, str) and _NUMBER.match(raw)):
            return raw
        if not isinstance(raw, str) or not raw:
            self.errors.add(
                path, f"invalid delay {_type_name(raw)}: expected milliseconds or a delay name"
            )
            return None
        return ir.Ref("delay", raw, path=path, order=len(self.errors))

    # -- pass 2: states ---------------------------------------------------------------------
    def build_state(self, node: _Node) -> None:
        cfg = node.cfg
        path = node.path
        meta: dict[str, Any] = {"xstate_key": node.key}
        for k in ("meta", "description", "tags"):
            if k in cfg:
                meta[k] = cfg[k]
        spec = ir.State(id=node.id, kind=node.kind, path=path, meta=meta)
        node.spec = spec
        if node.kind == "history":
            spec.history = cfg.get("history", "shallow")
            if "target" in cfg and node.parent is not None:
                # the default is resolved among the history state's siblings
                ts = self.transition(node, cfg["target"], _join(path, "target"), None, exact=False)
                if ts is not None and ts.targets:
                    spec.transitions = [
                        ir.Transition(targets=ts.targets, path=_join(path, "target"))
                    ]
            return
        self.common(node, spec)
        if node.kind == "final":
            out = cfg.get("output", cfg.get("data"))
            if out is not None:
                spec.donedata = self.donedata(
                    out, _join(path, "output" if "output" in cfg else "data")
                )
            return
        init = cfg.get("initial")
        if init is not None:
            ipath = _join(path, "initial")
            if isinstance(init, Mapping) and "target" in init:
                init = init["target"]
            if node.kind == "parallel":
                self.errors.add(
                    ipath, "a parallel state has no initial state: all regions are entered"
                )
            elif not node.children:
                self.errors.add(ipath, "an initial state needs child states")
            elif not isinstance(init, str):
                self.errors.add(ipath, f"expected the key of a child state, got {_type_name(init)}")
            elif init.startswith((".", "#")):
                target = self.resolve(node, init, ipath)
                if target is not None:
                    spec.initial = (target.id,)
            elif init not in node.children:
                self.errors.add(
                    ipath,
                    f"unknown initial state {init!r}: {node.id!r} has no child state {init!r}"
                    f"{did_you_mean(init, node.children)}",
                )
            else:
                spec.initial = (node.children[init].id,)
        if "onDone" in cfg:
            dpath = _join(path, "onDone")
            if not node.children:
                self.errors.add(
                    dpath,
                    "onDone needs child states (a service's completion is invoke.onDone)",
                )
            else:
                name = f"done.state.{node.id}"
                spec.transitions += self.transitions(node, cfg["onDone"], dpath, name)

    def common(self, node: _Node, spec: ir.State) -> None:
        """entry, exit, on, always, after, invoke: shared by states and the root."""
        cfg = node.cfg
        path = node.path
        entry = self.actions(cfg.get("entry"), _join(path, "entry"))
        exit_ = self.actions(cfg.get("exit"), _join(path, "exit"))
        if entry:
            spec.entry.append(entry)
        if exit_:
            spec.exit.append(exit_)
        spec.transitions += self.on_transitions(node, cfg.get("on"), _join(path, "on"))
        if "always" in cfg:
            spec.transitions += self.transitions(node, cfg["always"], _join(path, "always"), None)
        if "after" in cfg:
            spec.timers += self.after(node, cfg["after"], _join(path, "after"))
        if "invoke" in cfg:
            raw = cfg["invoke"]
            ipath = _join(path, "invoke")
            items = list(raw) if isinstance(raw, list | tuple) else [raw]
            for i, inv in enumerate(items):
                p = f"{ipath}[{i}]" if isinstance(raw, list | tuple) else ipath
                self.invoke(node, spec, inv, p, i)

    def invoke(self, node: _Node, spec: ir.State, raw: Any, path: str, index: int) -> None:
        err = self.errors
        if isinstance(raw, str):
            raw = {"src": raw}
        if not isinstance(raw, Mapping):
            err.add(path, f"expected an invoke object with a 'src', got {_type_name(raw)}")
            return
        self.check_keys(raw, _INVOKE_KEYS, path, "an invoke")
        if "src" not in raw:
            err.add(path, "an invoke needs a 'src' (a service name)")
            return
        iid = raw.get("id")
        if iid is None:
            iid = node.id if index == 0 else f"{node.id}:invocation[{index}]"
        elif not isinstance(iid, str) or not iid or any(c.isspace() for c in iid):
            err.add(
                _join(path, "id"),
                "an invoke id must be a non-empty string without whitespace,"
                f" got {_type_name(iid)}",
            )
            return
        src = self.service(raw["src"], _join(path, "src"))
        params: ir.Ref | None = None
        ikey = "input" if "input" in raw else "data" if "data" in raw else None
        if ikey is not None:
            params = self.input(raw[ikey])
        if src is not None:
            spec.invokes.append(
                ir.Invoke(
                    id=iid,
                    src=src,
                    params=params,
                    autoforward=bool(raw.get("autoForward", False)),
                    path=path,
                )
            )
        done, error = f"done.invoke.{iid}", f"error.invoke.{iid}"
        self.generated.update((done, error))
        if "onDone" in raw:
            spec.transitions += self.transitions(node, raw["onDone"], _join(path, "onDone"), done)
        if "onError" in raw:
            spec.transitions += self.transitions(
                node, raw["onError"], _join(path, "onError"), error
            )

    def service(self, raw: Any, path: str) -> Any:
        """A compiled chart, or a :class:`~statefleet.formats._ir.Ref` to a service."""
        if isinstance(raw, Chart):
            return raw
        if callable(raw) and not isinstance(raw, str):
            return ir.Ref("service", getattr(raw, "__name__", "service"), raw, path=path)
        name = raw.get("type") if isinstance(raw, Mapping) else raw
        if not isinstance(name, str) or not name:
            self.errors.add(path, f"expected a service name, got {_type_name(raw)}")
            return None
        return ir.Ref("service", name, path=path, order=len(self.errors))

    def input(self, raw: Any) -> ir.Ref:
        """An ``input``/``output`` computed from ``(context, event)``: a function or a data
        template."""
        fn = _adapt(raw, 2) if callable(raw) else _template(raw)
        return ir.Ref("action", "input", fn, core=True)

    def donedata(self, raw: Any, path: str) -> ir.Ref:
        return self.input(raw)

    # -- the root ---------------------------------------------------------------------------
    def build_root(self, root: _Node) -> ir.Chart:
        cfg = root.cfg
        err = self.errors
        tops = list(root.children.values())
        top_specs = [n.spec for n in tops if n.spec is not None]
        data: list[ir.Data] = []
        context = cfg.get("context")
        if context is not None:
            if not isinstance(context, Mapping):
                err.add("context", f"expected an object, got {_type_name(context)}")
            else:
                for k, v in context.items():
                    if not isinstance(k, str):
                        err.add("context", f"context keys must be strings, got {k!r}")
                        continue
                    data.append(_data(k, v))
        if "onDone" in cfg:
            err.add("onDone", "the machine root cannot have onDone (the machine itself is done)")
        init = cfg.get("initial")
        initial: tuple[str, ...] | None = None
        if init is not None:
            if root.kind == "parallel":
                err.add(
                    "initial", "a parallel machine has no initial state: all regions are entered"
                )
            elif not isinstance(init, str):
                err.add("initial", f"expected the key of a top-level state, got {_type_name(init)}")
            elif init not in root.children:
                err.add(
                    "initial",
                    f"unknown initial state {init!r}: the machine has no state {init!r}"
                    f"{did_you_mean(init, root.children)}",
                )
            else:
                initial = (root.children[init].id,)
        wrap = self.wrap
        meta: dict[str, Any] = {"format": "xstate"}
        spec = ir.Chart(id=self.machine_id, data=data, meta=meta)
        if "version" in cfg:
            spec.version = str(cfg["version"])
        if wrap:
            wrapper = ir.State(
                id=self.machine_id,
                kind="parallel" if root.kind == "parallel" else "state",
                children=top_specs,
                initial=initial,
                meta={"xstate_key": ""},
            )
            root.spec = wrapper
            self.common(root, wrapper)
            done_sets = self.done_sets(root)
            # the machine is done: the root's own transitions stop too
            running = _running(done_sets)
            timed = [ts for timer in wrapper.timers for ts in timer.transitions]
            for ts in (*wrapper.transitions, *timed):
                ts.guards.insert(0, running)
            self.generated.add(f"done.state.{self.machine_id}")
            spec.states = [wrapper]
            meta["wrapper"] = self.machine_id
            meta["done_sets"] = done_sets
            return spec
        spec.states = top_specs
        spec.initial = initial
        holder = ir.State(id=self.machine_id)
        root.spec = holder
        self.common(root, holder)
        copies = len(holder.transitions) * len(tops)
        if copies > MAX_ROOT_COPIES:
            err.add(
                "on",
                f"the machine's {len(holder.transitions)} transitions, copied onto its"
                f" {len(tops)} top-level states, make {copies} transitions: over the limit of"
                f" {MAX_ROOT_COPIES} (put the states in one compound state and the transitions"
                " on it)",
            )
            return spec
        # root transitions: copied onto every top-level state, after its own (the names a
        # root transition must match exactly go with each copy: looked up once, not per copy)
        exact_names: dict[int, list[str]] = {}
        for p in self.pending:
            exact_names.setdefault(id(p.spec), []).append(p.name)
        for n in tops:
            s = n.spec
            if s is None or n.kind in ("final", "history"):
                continue
            for ts in holder.transitions:
                copy_ = replace(ts, type="external")
                s.transitions.append(copy_)
                for name in exact_names.get(id(ts), ()):
                    self.pending.append(_Pending(copy_, name))
        on_holder = {id(ts) for ts in holder.transitions}
        self.pending = [p for p in self.pending if id(p.spec) not in on_holder]
        # the root's entry runs once, as the initial transition's content (a root with timers
        # is wrapped: they live as long as the machine)
        for block in holder.entry:
            spec.initial_actions += block
        exit_blocks = [b for b in holder.exit if b]
        if exit_blocks:
            for n in tops:
                if n.kind == "final" and n.spec is not None:
                    n.spec.exit.extend(exit_blocks)
        return spec

    def done_sets(self, root: _Node) -> tuple[tuple[str, ...], ...]:
        if root.kind == "parallel":
            return tuple(
                tuple(c.id for c in region.children.values() if c.kind == "final")
                for region in root.state_children()
            )
        return (tuple(n.id for n in root.children.values() if n.kind == "final"),)

    # -- exact event names -----------------------------------------------------------------
    def exact_checks(self) -> None:
        known = set(self.generated)
        for n in self.nodes:
            if n.children:
                known.add(f"done.state.{n.id}")
        for p in self.pending:
            known.add(p.name)
        # does any known name extend p.name? In sorted order such names follow p.name + "."
        ordered = sorted(known)
        for p in self.pending:
            prefix = p.name + "."
            i = bisect.bisect_left(ordered, prefix)
            if i < len(ordered) and ordered[i].startswith(prefix):
                p.spec.exact = True


def _running(done_sets: tuple[tuple[str, ...], ...]) -> ir.Ref:
    """The check that a wrapped machine is not done yet (its own transitions stop then)."""

    def machine_running(ctx: ActionContext) -> bool:
        return not sets_done(done_sets, ctx.in_state)

    return ir.Ref("guard", "machine running", machine_running, core=True)


def sets_done(done_sets: tuple[tuple[str, ...], ...], active: Callable[[str], bool]) -> bool:
    return bool(done_sets) and all(any(active(f) for f in s) for s in done_sets)


_IMMUTABLE = (str, int, float, bool, bytes, type(None), tuple, frozenset)


def _data(name: str, value: Any) -> ir.Data:
    if isinstance(value, _IMMUTABLE):
        return ir.Data(name, value=value)
    snapshot = copy.deepcopy(value)

    def fresh(ctx: ActionContext) -> Any:
        return copy.deepcopy(snapshot)

    return ir.Data(name, fn=fresh)


def _template(value: Any) -> Callable[[ActionContext], Any]:
    """A data template: mapping values that are functions get ``(context, event)`` (their
    signatures read once, here); everything else is a fresh copy each time."""
    if not isinstance(value, Mapping):
        return lambda _ctx: copy.deepcopy(value)
    items = [(k, _adapt(v, 2) if callable(v) else None, v) for k, v in value.items()]

    def evaluate(ctx: ActionContext) -> Any:
        return {k: call(ctx) if call is not None else copy.deepcopy(v) for k, call, v in items}

    return evaluate


# -- public readers --------------------------------------------------------------------------
def from_dict(
    config: Mapping[str, Any],
    logic: Any = None,
    *,
    actions: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
    delays: Mapping[str, Any] | None = None,
    resolve: bool = True,
) -> Chart:
    """Read an XState-style machine config into a compiled :class:`~statefleet.Chart`.

    ``logic`` is an object whose attributes are the actions, guards, services and delays the
    config names (a :class:`MachineLogic` subclass, any object, or a mapping);
    ``actions``/``guards``/``services``/``delays`` map names directly and win over ``logic``.
    Names are resolved now: an unknown one is a :class:`~statefleet.ChartDefinitionError`
    naming where it is used, like every other problem in the config (unknown keys, with a
    did-you-mean, wrong types, unknown targets). With ``resolve=False`` a name found nowhere
    is left unbound instead: the chart's structure is checked and it can be drawn, and running
    the name raises :class:`~statefleet.formats.UnboundNameError` (``statefleet validate`` and
    ``diagram`` read files this way). Run the chart with :class:`XStateSession`
    (seed 001's view) or ``chart.start()``.

    Whatever ``config`` holds, only :class:`~statefleet.StatefleetError` subclasses are
    raised: a config nested deeper than 256 levels (or containing itself), holding more than
    a million values or an integer over 4096 bits is refused before it is read, and a config
    of another dialect (pystator's ``states`` list) gets a pointer to its reader.
    """
    check_data(config)
    _check_not_other_format(config)
    errors = Problems()
    resolver = _resolver(
        logic,
        {"action": actions, "guard": guards, "service": services, "delay": delays},
        errors,
        resolve,
    )
    reader = _Reader(config, resolver, errors)
    model = reader.read()
    if model is None:  # the tree itself is wrong: nothing to bind
        errors.raise_if_any()
    assert model is not None
    spec = ir.lower(model, _binding(resolver), errors)
    errors.raise_if_any()
    if resolver.unbound:
        spec.meta["unbound"] = tuple(resolver.unbound)
    return compile_chart(spec)


def _check_not_other_format(config: Any) -> None:
    """A config of another reader's dialect gets a pointer to that reader, not a list of
    unknown keys."""
    if isinstance(config, Chart):
        raise ChartDefinitionError("this is already a compiled Chart: use it as it is")
    if isinstance(config, str | bytes | os.PathLike):
        raise ChartDefinitionError(
            f"a machine config must be an object, got {_type_name(config)}: read JSON"
            " text or a file with statefleet.from_json(), SCXML with statefleet.from_scxml(),"
            " any chart file with statefleet.load(path)"
        )
    if not isinstance(config, Mapping):
        return
    states = config.get("states")
    named = isinstance(states, list) and any(
        isinstance(s, Mapping) and "name" in s for s in states[:100]
    )
    if named or isinstance(config.get("transitions"), list):
        raise ChartDefinitionError(
            "this looks like a pystator config (a list of named states, a 'transitions'"
            " list), not an XState config: read it with statefleet.from_yaml(config), which"
            " takes a dict too",
            path="states" if named else "transitions",
        )


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(k)
        out[k] = v
    return out


def _looks_like_json(text: str) -> bool:
    return text[:1] in ("{", "[", '"')


def _parse_json(source: Source) -> Any:
    where = source.where
    try:
        return json.loads(source.text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        if source.text.lstrip().startswith("<"):
            raise ChartDefinitionError(
                "this looks like XML, not JSON: read SCXML with statefleet.from_scxml()",
                path=where,
            ) from exc
        if source.maybe_path:
            raise ChartDefinitionError(
                f"no such file: {clip(source.text.strip())!r} (and not JSON text either)"
            ) from exc
        if _YAML_KEY.search(source.text) and source.text.lstrip()[:1] not in ("{", "["):
            raise ChartDefinitionError(
                "this looks like YAML, not JSON: read a pystator YAML machine with"
                " statefleet.from_yaml() (or name the file .yaml for statefleet.load())",
                path=where,
                line=exc.lineno,
            ) from exc
        raise ChartDefinitionError(
            f"JSON syntax error: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            path=where,
            line=exc.lineno,
        ) from exc
    except _DuplicateKeyError as exc:
        raise ChartDefinitionError(
            f"JSON object has the key {exc.args[0]!r} twice", path=where
        ) from exc
    except RecursionError as exc:
        raise nesting_error(where) from exc
    except ValueError as exc:  # an integer literal longer than Python converts, ...
        raise ChartDefinitionError(f"JSON value error: {exc}", path=where) from exc


def from_json(
    source: str | bytes | os.PathLike[str],
    logic: Any = None,
    *,
    actions: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
    delays: Mapping[str, Any] | None = None,
    resolve: bool = True,
) -> Chart:
    """Read an XState machine from JSON text or a ``.json`` file (see :func:`from_dict`).

    A JSON syntax error is a :class:`~statefleet.ChartDefinitionError` with its line (and
    column in the message); so is a key given twice in one object. A ``str`` is a path when
    it could be one (a single line without NUL) and does not start like JSON; files must be
    regular files of at most 16 MiB of UTF-8; the limits of :func:`from_dict` apply.
    """
    src = read_source(source, fmt="JSON", suffixes=(".json",), looks_like_text=_looks_like_json)
    where = src.where
    config = _parse_json(src)
    try:
        return from_dict(
            config,
            logic,
            actions=actions,
            guards=guards,
            services=services,
            delays=delays,
            resolve=resolve,
        )
    except ChartDefinitionError as exc:
        if where == "<json>":
            raise
        raise ChartDefinitionError(
            f"{exc.message} (in {where})", path=exc.path, line=exc.line, errors=exc.errors
        ) from exc
