"""A functional builder for charts, in the vocabulary of stateforward's ``hsm`` (seed 004).

Use it as ``from statefleet import hsm``::

    model = hsm.define("Counter",
        hsm.initial(hsm.target("counting")),
        hsm.state("counting",
            hsm.transition(hsm.on("inc"), hsm.target("."), hsm.effect(increment)),
        ),
    )
    sm = await hsm.start(hsm.Context(), Counter(), model)
    await sm.dispatch(hsm.Event("inc"))
    await hsm.stop(sm)

:func:`define` resolves every path and checks every element once, then compiles a core
:class:`~statefleet.core.Chart` (it *is* the model: run it with ``hsm.start``, a plain
``chart.start()`` Session, or any other driver). How the vocabulary maps onto the core:

- The machine is a state ``/<name>`` wrapping everything (so machine-level transitions,
  ``entry``/``exit`` and activities have a home); state ids are absolute paths
  (``/Counter/counting``). A hidden top-level final ``$stopped`` and a ``$hsm.stop`` transition
  on the machine let :func:`stop` exit every state through the engine.
- ``choice`` is a transient state whose branches are guarded eventless transitions; its last
  branch must be guardless (the else branch), so a choice always leaves at once.
- ``after``/``every`` become core ``AfterSpec`` timers (``every`` with ``repeat=True``).
- ``activity`` becomes a core ``InvokeSpec(kind="activity")`` whose source is an
  :class:`Activity`; drivers run it while the state is active and cancel it on exit.
- Behaviours ``(ctx, instance, event)`` are adapted once to core actions and guards. Under
  :func:`start`, ``ctx`` is the :class:`Context` and ``instance`` the object given to ``start``;
  under any other driver they are a fresh :class:`Context` and a :class:`DataInstance` (the
  session's datamodel seen as attributes). An ``async def`` action's coroutine is awaited by
  the driver after the macrostep (``hsm.start`` awaits it in ``dispatch``; the core hands it to
  other drivers as an ``AwaitEffect``). Guards and durations are evaluated at once: an
  ``async def`` guard or duration may not suspend.

See ``docs/formats-builder.md`` for the full reference and the differences from seed 004.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import posixpath
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Literal

from statefleet.core import (
    Action,
    ActionContext,
    Chart,
    ChartDefinitionError,
    EventData,
    Guard,
    InvalidEventError,
    Invocation,
    StatefleetError,
    compile_chart,
)
from statefleet.formats import _ir as ir
from statefleet.formats._input import MAX_NESTING, shown
from statefleet.formats._resolve import Kind, Problems, did_you_mean, parse_duration

__all__ = [
    "Activity",
    "Behavior",
    "Context",
    "DataInstance",
    "Driver",
    "Element",
    "Event",
    "ValidationError",
    "activity",
    "after",
    "choice",
    "deep_history",
    "define",
    "effect",
    "entry",
    "every",
    "exit",
    "final",
    "guard",
    "initial",
    "on",
    "shallow_history",
    "source",
    "state",
    "target",
    "transition",
]

#: A behaviour: ``fn(ctx, instance, event)``, sync or ``async def``. Guards return a truthy
#: value, durations seconds or a ``timedelta``; what actions return is ignored.
Behavior = Callable[..., Any]

log = logging.getLogger("statefleet.hsm")

#: seed 004's name for definition errors
ValidationError = ChartDefinitionError

#: the event :func:`stop` sends to exit every state through the engine
STOP_EVENT = "$hsm.stop"
#: the hidden top-level final state entered by :func:`stop`
STOPPED_STATE = "$stopped"
#: seed 004's error event name, accepted by :func:`on` as an alias of ``error``
HSM_ERROR = "hsm_error"


# -- events and contexts ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Event:
    """An event: ``Event("inc")``, ``Event("order", data={"id": 7})`` (seed 004's ``hsm.Event``).

    Behaviours receive one too. For an error event raised by the engine (``error.execution``:
    a behaviour raised), ``data`` and ``error`` are the exception, as in seed 004. The event
    that started the machine (no event yet) is ``Event("hsm_initial")``.
    """

    name: str
    data: Any = None
    error: BaseException | None = None

    @property
    def Name(self) -> str:
        """The event name (hsm's newer spelling)."""
        return self.name

    @property
    def Data(self) -> Any:
        """The payload (hsm's newer spelling)."""
        return self.data

    def with_data(self, data: Any) -> Event:
        """A copy of this event carrying ``data`` (hsm's ``WithData``)."""
        return Event(self.name, data, self.error)

    WithData = with_data


_INITIAL = Event("hsm_initial")


def event_view(ev: EventData | None) -> Event:
    """The :class:`Event` behaviours see for the core event ``ev``."""
    if ev is None:
        return _INITIAL
    if ev.error is not None:
        return Event(ev.name, ev.error, ev.error)
    return Event(ev.name, ev.data)


def event_data(event: Event | EventData | str, data: Any = None) -> EventData:
    if isinstance(event, Event):
        name, payload = event.name, event.data
    elif isinstance(event, EventData):
        return event
    elif isinstance(event, str):
        name, payload = event, data
    else:
        raise InvalidEventError(
            f"dispatch() takes an hsm.Event or an event name, not {type(event).__name__}"
        )
    if not name or not isinstance(name, str):
        raise InvalidEventError("an event needs a non-empty name")
    return EventData(name, payload)


class Context:
    """An execution context with cancellation (seed 004's ``hsm.Context``).

    Pass one to :func:`start`; behaviours receive it as ``ctx``. Each running activity gets a
    child context that is cancelled when its state exits (or when this one is cancelled), so a
    long-running activity can poll ``ctx.is_done()`` or ``await ctx.wait_done()``.
    """

    def __init__(self, parent: Context | None = None) -> None:
        self._done = False
        self._children: weakref.WeakSet[Context] = weakref.WeakSet()
        self._callbacks: list[Callable[[], Any]] = []
        self._waiter: asyncio.Event | None = None
        if parent is not None:
            parent._children.add(self)
            self._done = parent._done

    @property
    def done(self) -> bool:
        """True once cancelled."""
        return self._done

    def is_done(self) -> bool:
        """True once cancelled."""
        return self._done

    def cancel(self) -> None:
        """Cancel this context and its children; runs the done callbacks once."""
        if self._done:
            return
        self._done = True
        for child in list(self._children):
            child.cancel()
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()
        if self._waiter is not None:
            self._waiter.set()

    def add_done_callback(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when the context is cancelled (at once if it already is)."""
        if self._done:
            callback()
        else:
            self._callbacks.append(callback)

    async def wait_done(self) -> None:
        """Wait until the context is cancelled."""
        if self._done:
            return
        if self._waiter is None:
            self._waiter = asyncio.Event()
        await self._waiter.wait()


class DataInstance:
    """The ``instance`` behaviours get outside :func:`start`: the datamodel as attributes.

    Under a plain ``Session`` (``chart.start(context={"value": 0})``) or another driver,
    ``instance.value += 1`` reads and writes ``session.context["value"]``, so the data lives
    in snapshots.
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value

    def __repr__(self) -> str:
        return f"DataInstance({self._data!r})"


class Driver:
    """What runs a model made by :func:`define` with ``ctx``/``instance`` bindings.

    ``statefleet.compat.hsm``'s machine is one: a session whose ``owner`` is a driver gives
    behaviours the driver's ``ctx`` and ``instance``, and an activity of a session that has a
    ``driver`` attribute holding one is started by :meth:`start_activity`.
    """

    ctx: Context
    instance: Any

    def start_activity(self, invokeid: str, fn: Behavior, event: EventData | None) -> None:
        """Run the activity ``fn`` for the invocation ``invokeid`` until it is cancelled."""
        raise NotImplementedError

    def defer(self, awaitable: Awaitable[Any]) -> None:
        """Await ``awaitable`` (an ``async def`` action's result) after the macrostep."""
        raise NotImplementedError


# -- adapting behaviours -------------------------------------------------------------------------
def unwrap_callable(fn: Any) -> Any:
    """A ``@staticmethod`` referenced in its class body is the staticmethod object."""
    return fn.__func__ if isinstance(fn, staticmethod) else fn


def callable_name(fn: Any) -> str:
    """A callable's name for messages (qualified name, name, or repr)."""
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def _bindings(m: ActionContext) -> tuple[Context, Any]:
    owner = m.owner
    if isinstance(owner, Driver):
        return owner.ctx, owner.instance
    return Context(), DataInstance(m.context)


def resolve_now(value: Any, what: str) -> Any:
    """The value of a sync result, or of an awaitable that completes without suspending."""
    if not inspect.isawaitable(value):
        return value
    if not inspect.iscoroutine(value):
        raise StatefleetError(f"{what} returned {value!r}: return a value or use async def")
    try:
        value.send(None)
    except StopIteration as done:
        return done.value
    value.close()
    raise StatefleetError(
        f"{what} suspended: guards and durations are evaluated inside the step and cannot"
        " await; compute the value in an effect or an activity instead"
    )


def _adapt_action(fn: Behavior) -> Action:
    """A core action calling ``fn(ctx, instance, event)``; an awaitable result is deferred."""

    def action(m: ActionContext) -> Any:
        owner = m.owner
        if isinstance(owner, Driver):
            result = fn(owner.ctx, owner.instance, event_view(m.event))
            if inspect.isawaitable(result):
                owner.defer(result)
            return None
        result = fn(Context(), DataInstance(m.context), event_view(m.event))
        return result if inspect.isawaitable(result) else None

    action.__name__ = action.__qualname__ = callable_name(fn)
    return action


def _adapt_guard(fn: Behavior) -> Guard:
    what = f"guard {callable_name(fn)}"

    def cond(m: ActionContext) -> bool:
        ctx, inst = _bindings(m)
        return bool(resolve_now(fn(ctx, inst, event_view(m.event)), what))

    cond.__name__ = cond.__qualname__ = callable_name(fn)
    return cond


def _not_stop(m: ActionContext) -> bool:
    """A wildcard transition's check that it never takes :func:`stop`'s event."""
    ev = m.event
    return ev is None or ev.name != STOP_EVENT


_NOT_STOP = ir.Ref("guard", "not stop", _not_stop, core=True)


def _seconds(value: Any, repeat: bool) -> float | None:
    """Seconds from a number or timedelta, or None if it is not a valid duration."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = parse_duration(value)
    except ValueError:
        return None
    return None if repeat and seconds == 0 else seconds


def _duration_rule(repeat: bool) -> str:
    if repeat:
        return "every() needs seconds > 0 (a number or a timedelta)"
    return "after() needs seconds >= 0 (a number or a timedelta)"


def _adapt_duration(fn: Behavior, repeat: bool) -> Callable[[ActionContext], float]:
    what = f"duration {callable_name(fn)}"

    def delay(m: ActionContext) -> float:
        ctx, inst = _bindings(m)
        value = resolve_now(fn(ctx, inst, event_view(m.event)), what)
        seconds = _seconds(value, repeat)
        if seconds is None:
            raise ValueError(f"{what} returned {value!r}: {_duration_rule(repeat)}")
        return seconds

    delay.__name__ = delay.__qualname__ = callable_name(fn)
    return delay


def _ref(kind: Kind, fn: Behavior) -> ir.Ref:
    """A behaviour given in place, as the readers' model refers to it."""
    return ir.Ref(kind, callable_name(fn), fn)


#: the builder's behaviours are all ``(ctx, instance, event)``
_BINDING = ir.Binding(
    None,
    {
        "action": lambda fn, ref: _adapt_action(fn),
        "guard": lambda fn, ref: _adapt_guard(fn),
        "delay": lambda fn, ref: _adapt_duration(fn, bool(ref.params.get("repeat"))),
    },
)


class Activity:
    """The source of an activity invocation (core ``InvokeSpec(kind="activity")``).

    ``function`` is the user's ``(ctx, instance, event)`` behaviour. A driver calls the
    activity with the core :class:`~statefleet.core.Invocation`; under :func:`start` that
    starts an asyncio task the machine cancels when the state exits; under other drivers it
    returns the behaviour's result (a coroutine for ``async def``) for the driver to run and
    cancel.
    """

    __slots__ = ("__name__", "function")

    def __init__(self, function: Behavior) -> None:
        self.function = function
        self.__name__ = callable_name(function)

    def __repr__(self) -> str:
        return f"Activity({self.__name__})"

    def __call__(self, invocation: Invocation) -> Any:
        driver = getattr(invocation.owner, "driver", None)
        if isinstance(driver, Driver):
            driver.start_activity(invocation.id, self.function, invocation.event)
            return None
        return self.function(
            Context(), DataInstance(invocation.context), event_view(invocation.event)
        )


# -- definition elements -------------------------------------------------------------------------
class Element:
    """One piece of a definition, as returned by :func:`state`, :func:`on`, :func:`entry`...

    Elements are plain immutable values: build them anywhere, reuse them, and pass them to
    :func:`define`, which checks where each one may appear.
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Vertex(Element):
    kind: Literal["state", "final", "choice", "shallow", "deep"]
    name: Any
    children: tuple[Any, ...]

    @property
    def what(self) -> str:
        return f"{self.kind}({shown(self.name)})"


@dataclass(frozen=True, slots=True)
class _Initial(Element):
    parts: tuple[Any, ...]
    what: ClassVar[str] = "initial()"


@dataclass(frozen=True, slots=True)
class _Transition(Element):
    parts: tuple[Any, ...]
    what: ClassVar[str] = "transition()"


@dataclass(frozen=True, slots=True)
class _On(Element):
    events: tuple[Any, ...]
    what: ClassVar[str] = "on()"


@dataclass(frozen=True, slots=True)
class _Path(Element):
    role: Literal["source", "target"]
    path: Any

    @property
    def what(self) -> str:
        return f"{self.role}({shown(self.path)})"


@dataclass(frozen=True, slots=True)
class _Guard(Element):
    fn: Any
    what: ClassVar[str] = "guard()"


@dataclass(frozen=True, slots=True)
class _Behaviors(Element):
    role: Literal["entry", "exit", "effect", "activity"]
    fns: tuple[Any, ...]

    @property
    def what(self) -> str:
        return f"{self.role}()"


@dataclass(frozen=True, slots=True)
class _Timer(Element):
    duration: Any
    repeat: bool

    @property
    def what(self) -> str:
        return "every()" if self.repeat else "after()"


def state(name: str, *children: Element) -> Element:
    """A state named ``name``; ``children`` are its sub-states, transitions and behaviours
    (``state``, ``final``, ``choice``, ``initial``, ``transition``, ``entry``, ``exit``,
    ``activity``)."""
    return _Vertex("state", name, children)


def final(name: str) -> Element:
    """A final state: entering it completes its parent (``done.state.<parent path>``)."""
    return _Vertex("final", name, ())


def choice(name: str, *transitions: Element) -> Element:
    """A choice pseudostate: on entry it leaves at once by its first branch whose guard holds.

    Each branch is a ``transition(target(...), guard(...), effect(...))`` without a trigger.
    The last branch is the else branch and may not have a guard, so a choice always has an
    enabled branch (checked by :func:`define`).
    """
    return _Vertex("choice", name, transitions)


def shallow_history(name: str, *default: Element) -> Element:
    """A shallow history pseudostate: a transition targeting it re-enters the direct child
    of its parent that was active when the parent was last left. ``default`` is at most one
    ``transition(target(...))`` (no trigger, no guard) taken when there is no history yet;
    without it the parent's initial state is entered."""
    return _Vertex("shallow", name, default)


def deep_history(name: str, *default: Element) -> Element:
    """A deep history pseudostate: like :func:`shallow_history`, but it restores every
    descendant state that was active, at any depth."""
    return _Vertex("deep", name, default)


def initial(*parts: Element | Behavior) -> Element:
    """The default entry of the enclosing state or machine: ``initial(target("a"), *effects)``.

    Effects are ``effect(fn)`` elements or plain behaviours, run before entering the target.
    """
    return _Initial(parts)


def transition(*parts: Element) -> Element:
    """A transition: ``on``/``after``/``every`` triggers, ``source``, ``target``, ``guard``,
    ``effect``. Without ``source`` it leaves the state it is declared in; without ``target``
    it is a targetless (internal) transition that only runs its effects."""
    return _Transition(parts)


def on(*events: str | Event) -> Element:
    """Trigger a transition on these events (names or :class:`Event` objects).

    Names are SCXML descriptors: ``"order"`` also matches ``"order.created"`` and ``"*"``
    matches every event. ``"hsm_error"`` (seed 004's error event) is an alias of ``"error"``,
    which matches ``error.execution`` and the other error events.
    """
    return _On(events)


def source(path: str) -> Element:
    """The transition's source state (default: the state it is declared in)."""
    return _Path("source", path)


def target(path: str) -> Element:
    """The transition's target: ``"."`` (self), ``".."`` (parent), ``"../sibling"``, ``"child"``,
    ``"a/b"``, or absolute ``"/Machine/state"``; relative to the transition's source."""
    return _Path("target", path)


def guard(fn: Behavior) -> Element:
    """The transition's guard ``fn(ctx, instance, event) -> bool`` (evaluated synchronously)."""
    return _Guard(fn)


def effect(*fns: Behavior) -> Element:
    """Behaviours run when the transition is taken (or by an ``initial``), in order."""
    return _Behaviors("effect", fns)


def entry(*fns: Behavior) -> Element:
    """Behaviours run when the enclosing state is entered, in order."""
    return _Behaviors("entry", fns)


def exit(*fns: Behavior) -> Element:
    """Behaviours run when the enclosing state is exited, in order."""
    return _Behaviors("exit", fns)


def activity(*fns: Behavior) -> Element:
    """Long-running behaviours started when the state is entered and cancelled when it exits.

    Each becomes a core ``InvokeSpec(kind="activity")`` run by the driver; an exception from
    one is dispatched as ``error.execution`` (seed 004's ``hsm_error``).
    """
    return _Behaviors("activity", fns)


def after(duration: float | timedelta | Behavior) -> Element:
    """A one-shot timer trigger: fire ``duration`` after the source state is entered.

    ``duration`` is seconds, a ``timedelta``, or ``fn(ctx, instance, event)`` returning one
    (evaluated on entry). Leaving the state cancels the timer.
    """
    return _Timer(duration, False)


def every(duration: float | timedelta | Behavior) -> Element:
    """A repeating timer trigger: fire every ``duration`` (> 0) while the source state is active."""
    return _Timer(duration, True)


def _what(el: Any) -> str:
    what = getattr(el, "what", None)
    if isinstance(what, str):
        return what
    if callable(el):
        return f"function {callable_name(el)}"
    return f"{type(el).__name__} {shown(el)}"


# -- define ----------------------------------------------------------------------------------------
class _Node:
    __slots__ = (
        "activities",
        "after",
        "children",
        "declared",
        "entry",
        "exit",
        "initial",
        "initial_actions",
        "initial_el",
        "kind",
        "parent",
        "path",
        "transitions",
    )

    def __init__(
        self,
        path: str,
        kind: Literal["machine", "state", "final", "choice", "shallow", "deep"],
        parent: _Node | None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.parent = parent
        self.children: list[_Node] = []
        self.entry: list[Behavior] = []
        self.exit: list[Behavior] = []
        self.activities: list[Behavior] = []
        self.declared: list[_Transition] = []
        self.initial_el: _Initial | None = None
        self.initial: tuple[str, ...] | None = None
        self.initial_actions: list[ir.Ref] = []
        self.transitions: list[ir.Transition] = []
        self.after: list[ir.Timer] = []

    def is_descendant_of(self, other: _Node) -> bool:
        n = self.parent
        while n is not None:
            if n is other:
                return True
            n = n.parent
        return False


class _Definer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.errors = Problems()
        self.root = _Node(f"/{name}", "machine", None)
        self.nodes: dict[str, _Node] = {self.root.path: self.root}

    def error(self, path: str, message: str) -> None:
        self.errors.add(path, message)

    # pass 1: the tree of states
    def collect(self, node: _Node, elements: Iterable[Any]) -> None:
        for el in elements:
            if isinstance(el, _Vertex):
                self.add_vertex(node, el)
            elif isinstance(el, _Initial):
                if node.initial_el is not None:
                    self.error(node.path, "initial() given twice")
                node.initial_el = el
            elif isinstance(el, _Transition):
                node.declared.append(el)
            elif isinstance(el, _Behaviors):
                if el.role == "effect":
                    self.error(
                        node.path,
                        "effect() belongs in a transition() or an initial(); use entry() for"
                        " behaviours run when a state is entered",
                    )
                    continue
                fns = self.behaviours(node.path, el)
                getattr(node, "activities" if el.role == "activity" else el.role).extend(fns)
            elif isinstance(el, _On | _Path | _Guard | _Timer):
                self.error(node.path, f"{el.what} belongs in a transition()")
            else:
                self.error(
                    node.path,
                    f"expected state(), final(), choice(), initial(), transition(), entry(),"
                    f" exit() or activity(), got {_what(el)}",
                )

    def add_vertex(self, parent: _Node, el: _Vertex) -> None:
        name = el.name
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            self.error(
                parent.path,
                f"invalid {el.kind} name {shown(name)}: expected a non-empty name without '/'",
            )
            return
        if parent.path.count("/") > MAX_NESTING:
            self.error(
                parent.path,
                f"states nest deeper than the limit of {MAX_NESTING} levels",
            )
            return
        path = f"{parent.path}/{name}"
        if path in self.nodes:
            self.error(path, f"duplicate state name {name!r} in {parent.path}")
            return
        node = _Node(path, el.kind, parent)
        parent.children.append(node)
        self.nodes[path] = node
        if el.kind == "state":
            self.collect(node, el.children)
        elif el.kind in ("shallow", "deep"):
            if parent is self.root:
                self.error(path, "a history pseudostate belongs inside a state(), not the machine")
            for c in el.children:
                if isinstance(c, _Transition):
                    node.declared.append(c)
                else:
                    self.error(path, f"a history takes one default transition(), got {_what(c)}")
            if len(node.declared) > 1:
                self.error(path, "a history takes at most one default transition()")
        elif el.kind == "choice":
            for c in el.children:
                if isinstance(c, _Transition):
                    node.declared.append(c)
                else:
                    self.error(path, f"choice() takes transition() branches only, got {_what(c)}")

    def behaviours(self, path: str, el: _Behaviors) -> list[Behavior]:
        out: list[Behavior] = []
        for fn in el.fns:
            fn = unwrap_callable(fn)
            if callable(fn):
                out.append(fn)
            else:
                self.error(
                    path, f"{el.what} expects functions (ctx, instance, event), got {shown(fn)}"
                )
        return out

    # resolving paths
    def resolve(self, raw: Any, base: _Node, *, fallback: bool) -> _Node | None:
        """The node ``raw`` names, relative to ``base``; None if there is none.

        A plain name (``"b"``, ``"b/c"``) not found under ``base`` is looked up under its
        ancestors, nearest first, so ``target("green")`` finds a sibling when ``fallback``.
        """
        if not isinstance(raw, str) or not raw:
            return None
        candidates: list[str] = []
        if raw.startswith("/"):
            absolute = "/" + posixpath.normpath(raw).lstrip("/")
            candidates.append(absolute)
            top = self.root.path
            if absolute != top and not absolute.startswith(top + "/"):
                candidates.append(posixpath.normpath(top + absolute))
        else:
            candidates.append(posixpath.normpath(posixpath.join(base.path, raw)))
            if fallback and not raw.startswith("."):
                n = base.parent
                while n is not None:
                    candidates.append(posixpath.normpath(posixpath.join(n.path, raw)))
                    n = n.parent
        for c in candidates:
            node = self.nodes.get(c)
            if node is not None:
                return node
        return None

    def unknown(self, path: str, role: str, raw: Any, base: _Node) -> None:
        if not isinstance(raw, str) or not raw:
            self.error(path, f"{role}() needs a non-empty path, got {shown(raw)}")
            return
        by_name: dict[str, str] = {}
        for p in self.nodes:
            if p != self.root.path:
                by_name.setdefault(posixpath.basename(p), p)
        hint = did_you_mean(posixpath.basename(raw), by_name, show=by_name)
        self.error(path, f"unknown {role} {shown(raw)}{hint}")

    # pass 2: initials and transitions
    def link(self, node: _Node) -> None:
        if node.initial_el is not None:
            self.link_initial(node, node.initial_el)
        for t in node.declared:
            self.link_transition(node, t)
        if node.kind == "choice":
            if not node.declared:
                self.error(node.path, "a choice needs at least one transition() branch")
            elif any(isinstance(p, _Guard) for p in node.declared[-1].parts):
                self.error(
                    node.path,
                    "the last transition() of a choice is its else branch: it cannot have a"
                    " guard()",
                )
        for c in node.children:
            self.link(c)

    def link_initial(self, node: _Node, el: _Initial) -> None:
        raw: Any = None
        actions: list[ir.Ref] = []
        for p in el.parts:
            if isinstance(p, _Path) and p.role == "target":
                if raw is not None:
                    self.error(node.path, "initial() takes one target()")
                raw = p.path
            elif isinstance(p, _Behaviors) and p.role == "effect":
                actions += [_ref("action", f) for f in self.behaviours(node.path, p)]
            elif not isinstance(p, Element) and callable(unwrap_callable(p)):
                actions.append(_ref("action", unwrap_callable(p)))
            else:
                self.error(node.path, f"initial() takes a target() and effects, got {_what(p)}")
        if raw is None:
            self.error(node.path, "initial() needs a target()")
            return
        if not node.children:
            self.error(node.path, "initial() in a state without child states")
            return
        tgt = self.resolve(raw, node, fallback=False)
        if tgt is None:
            self.unknown(node.path, "target", raw, node)
            return
        if not tgt.is_descendant_of(node):
            self.error(node.path, f"initial target {shown(raw)} is not a state inside {node.path}")
            return
        node.initial = (tgt.path,)
        node.initial_actions = actions

    def link_transition(self, decl: _Node, t: _Transition) -> None:
        events: list[str] = []
        raw_source: Any = None
        raw_target: Any = None
        guard_fn: Behavior | None = None
        effects: list[Behavior] = []
        timers: list[_Timer] = []
        has_guard = False
        path = decl.path
        for p in t.parts:
            if isinstance(p, _On):
                events += self.descriptors(path, p)
            elif isinstance(p, _Path):
                if (raw_source if p.role == "source" else raw_target) is not None:
                    self.error(path, f"a transition() takes one {p.role}()")
                    continue
                if p.role == "source":
                    raw_source = p.path
                else:
                    raw_target = p.path
            elif isinstance(p, _Guard):
                if has_guard:
                    self.error(path, "a transition() takes one guard()")
                    continue
                has_guard = True
                fn = unwrap_callable(p.fn)
                if callable(fn):
                    guard_fn = fn
                else:
                    self.error(path, f"guard() expects a function, got {shown(fn)}")
            elif isinstance(p, _Behaviors):
                if p.role == "effect":
                    effects += self.behaviours(path, p)
                else:
                    self.error(path, f"{p.what} belongs in a state, not in a transition()")
            elif isinstance(p, _Timer):
                timers.append(p)
            else:
                self.error(
                    path,
                    "transition() takes on(), after(), every(), source(), target(), guard()"
                    f" and effect(), got {_what(p)}",
                )
        pseudo = decl.kind in ("choice", "shallow", "deep")
        src = decl
        if raw_source is not None:
            if pseudo:
                self.error(path, "a choice branch cannot have a source()")
                return
            found = self.resolve(raw_source, decl, fallback=True)
            if found is None:
                self.unknown(path, "source", raw_source, decl)
                return
            src = found
        if src.kind == "final":
            self.error(src.path, "a final state cannot have outgoing transitions")
            return
        tgt: _Node | None = None
        if raw_target is not None:
            tgt = self.resolve(raw_target, src, fallback=True)
            if tgt is None:
                self.unknown(src.path, "target", raw_target, src)
                return
        if decl.kind in ("shallow", "deep"):
            if events or timers or has_guard:
                self.error(
                    path,
                    "a history's default transition() is taken at once: it has no on(), after(),"
                    " every() or guard()",
                )
                return
            if tgt is None or decl.parent is None or not tgt.is_descendant_of(decl.parent):
                self.error(path, "a history's default transition() targets a state of its parent")
                return
        elif decl.kind == "choice":
            if events or timers:
                self.error(
                    path, "a choice branch is taken at once: it has no on(), after() or every()"
                )
                return
            if tgt is None:
                self.error(path, "a choice branch needs a target()")
                return
            if tgt is decl:
                self.error(path, "a choice branch cannot target its own choice")
                return
        elif not events and not timers:
            self.error(path, "a transition() needs a trigger: on(...), after(...) or every(...)")
            return
        guards = [_ref("guard", guard_fn)] if guard_fn is not None else []
        label = f"[{callable_name(guard_fn)}]" if guard_fn is not None else None
        actions = [_ref("action", f) for f in effects]
        targets = (tgt.path,) if tgt is not None else ()
        # a target inside the source is UML's local transition: the source is not exited
        kind: Literal["internal", "external"] = (
            "internal" if tgt is not None and tgt.is_descendant_of(src) else "external"
        )

        def make(events: tuple[str, ...] = ()) -> ir.Transition:
            # a wildcard transition never takes stop()'s event
            not_stop = [_NOT_STOP] if "*" in events else []
            return ir.Transition(
                events, targets, not_stop + guards, actions, kind, guard_label=label
            )

        if events or pseudo:
            src.transitions.append(make(tuple(events)))
        for timer in timers:
            src.after.append(self.timer(path, timer, make()))

    def descriptors(self, path: str, el: _On) -> list[str]:
        out: list[str] = []
        if not el.events:
            self.error(path, "on() needs at least one event")
        for ev in el.events:
            name = ev.name if isinstance(ev, Event) else ev
            if not isinstance(name, str) or not name or name != "".join(name.split()):
                self.error(path, f"on() expects event names without spaces, got {shown(ev)}")
                continue
            out.append("error" if name == HSM_ERROR else name)
        return out

    def timer(self, path: str, timer: _Timer, t: ir.Transition) -> ir.Timer:
        duration = unwrap_callable(timer.duration)
        if callable(duration):
            ref = _ref("delay", duration)
            ref.params = {"repeat": timer.repeat}
            duration = ref
        return ir.Timer(
            duration,
            [t],
            repeat=timer.repeat,
            strings=False,
            invalid=f"invalid duration {{value}}: {_duration_rule(timer.repeat)}, or a function"
            " returning one",
            path=path,
        )

    # pass 3: core specs
    def spec(self, node: _Node) -> ir.State:
        if node.kind in ("shallow", "deep"):
            return ir.State(
                id=node.path,
                kind="history",
                history="deep" if node.kind == "deep" else "shallow",
                transitions=node.transitions,
                path=node.path,
                meta={"hsm": "history"},
            )
        return ir.State(
            id=node.path,
            kind="final" if node.kind == "final" else "state",
            children=[self.spec(c) for c in node.children],
            initial=node.initial,
            initial_actions=node.initial_actions,
            transitions=node.transitions,
            entry=[[_ref("action", f)] for f in node.entry],
            exit=[[_ref("action", f)] for f in node.exit],
            invokes=[ir.Invoke(src=Activity(f), kind="activity") for f in node.activities],
            timers=node.after,
            path=node.path,
            meta={"hsm": node.kind},
        )

    def build(self, elements: tuple[Any, ...]) -> Chart:
        self.collect(self.root, elements)
        if not self.errors:
            self.link(self.root)
        self.errors.raise_if_any()
        root = self.root
        root.transitions.append(ir.Transition(events=(STOP_EVENT,), targets=(STOPPED_STATE,)))
        finals = tuple(c.path for c in root.children if c.kind == "final")
        model = ir.Chart(
            id=self.name,
            name=self.name,
            states=[self.spec(root), ir.State(id=STOPPED_STATE, kind="final")],
            initial=(root.path,),
            path=root.path,
            meta={"hsm": {"machine": root.path, "finals": finals}},
        )
        spec = ir.lower(model, _BINDING, self.errors)
        self.errors.raise_if_any()
        return compile_chart(spec)


def define(name: str, *elements: Element) -> Chart:
    """Define a machine: resolve every path, check every element, compile a core ``Chart``.

    The chart is the model: start it with :func:`start` (seed 004's async API), or with any
    core driver (``chart.start()``). Raises :class:`~statefleet.ChartDefinitionError` naming
    the path of the first bad element (``/Counter/counting: unknown target '../nope'``); its
    ``errors`` list holds every problem found.
    """
    if isinstance(name, Mapping):
        raise ChartDefinitionError(
            "define() takes a machine name and elements, not a config dict: read an XState"
            " config with statefleet.from_dict(), a pystator one with statefleet.from_yaml()",
            path="define",
        )
    if not isinstance(name, str) or not name or "/" in name:
        raise ChartDefinitionError(
            f"invalid machine name {shown(name)}: expected a non-empty name without '/'",
            path="define",
        )
    return _Definer(name).build(elements)
