"""The SCXML algorithm (W3C SCXML 1.0, Appendix D), as a mutable interpreter over compiled tables.

Theory of operation
-------------------
A chart instance is a *configuration* (the set of active states), a datamodel (``context``),
history memory, an internal queue and the pending delayed sends. An external event starts a
*macrostep*: the transitions it enables are selected (``select_transitions``: for each active
atomic state in document order, the first enabled transition found walking from the state up
through its ancestors), conflicts are removed (``remove_conflicting_transitions``: a transition
whose exit set intersects an earlier one's is dropped unless its source is a descendant of the
other's, which then loses), and the survivors are taken together as one *microstep*: exit the
exit set in reverse document order (recording history first), run the transitions' content in
document order, enter the entry set in document order. Then eventless transitions are taken
until none is enabled, then internal events are consumed one by one, each possibly followed by
more eventless transitions, until the internal queue is empty: that is the end of the macrostep.
Invocations of states entered (and not exited) during the macrostep start at its end.

Speed comes from interning: every configuration reached is interned once as a
:class:`Config`, which caches, per event name, the candidate transitions of each active atomic
state; when none of them is guarded the selection is static and the whole microstep (exit set,
entry set, history updates, the configuration after) is precomputed as a :class:`Micro`. A
plain event is then one dict lookup and a pointer swap. Transitions targeting history states
are computed afresh each time because their effect depends on the remembered configuration.

Errors in executable content never escape: the block stops, ``error.execution`` is raised on
the internal queue carrying the exception, and the microstep completes. An error raised while
handling ``error.execution`` by a guard or a targetless transition (nothing moves, so it would
fail again forever) is recorded but not raised again; one raised by entry/exit actions is
raised like any other (SCXML).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

import msgspec

from statefleet.core._chart import ROOT_ID, Node, Transition
from statefleet.core._effects import (
    AwaitEffect,
    CancelEffect,
    CancelInvokeEffect,
    Effect,
    InvokeEffect,
    LogEffect,
    ScheduleEffect,
    SendEffect,
)
from statefleet.core._errors import InfiniteLoopError
from statefleet.core._events import EventData, descriptor_matches
from statefleet.core._model import Block, InvokeSpec
from statefleet.core._records import MacrostepRecord
from statefleet.core._snapshot import DelayedEvent, InvocationRecord, Snapshot
from statefleet.core._step import Microstep

if TYPE_CHECKING:
    from statefleet.core._api import Chart

__all__ = [
    "BLANK",
    "ActionContext",
    "Config",
    "FastStep",
    "Form",
    "Interpreter",
    "Micro",
    "OnOwner",
    "Rare",
    "with_form",
]

SCXML_PROCESSOR = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"
_VALID_SEND_TYPES = frozenset({None, "", SCXML_PROCESSOR, "scxml"})
_MAX_EVENT_CACHE = 512


class ActionContext(Protocol):
    """What executable content (actions, guards, donedata, params) receives.

    ``context`` is the datamodel, ``event`` the event being processed (SCXML ``_event``),
    ``owner`` the object driving the chart (a Session, a class-DSL instance, an actor).
    """

    context: dict[str, Any]
    event: EventData | None
    owner: Any
    session_id: str
    now: float

    def raise_(self, name: str, data: Any = None) -> None:
        """Put an event on the internal queue (processed within this macrostep)."""

    def send(
        self,
        name: str,
        data: Any = None,
        *,
        target: str | None = None,
        delay: float = 0.0,
        sendid: str | None = None,
        type: str | None = None,
    ) -> str:
        """Send an event (to this session, the parent, a child, another actor); returns its id."""
        ...

    def cancel(self, sendid: str) -> None:
        """Cancel a delayed send made by this session."""

    def in_state(self, state_id: str) -> bool:
        """SCXML ``In()``: is ``state_id`` active?"""
        ...

    def log(self, label: str | None, value: Any) -> None:
        """Emit a ``<log>`` record."""


class ClockLike(Protocol):
    """A driver's clock, as :attr:`Interpreter.clock_reading` may hold it (read on first
    need): anything with ``now()`` in seconds."""

    def now(self) -> float:
        """The current time, in seconds."""
        ...


class OnOwner:
    """An action that takes the chart's owner instead of the action context.

    ``OnOwner(method)`` runs ``method(ctx.owner)``: a front-end whose callbacks are methods
    of the object driving the chart (a class-DSL instance) hands them over as they are.
    Called like any action it does just that; in a precomputed microstep's exits and
    entries (:meth:`Interpreter.run_steps`) the engine calls ``method(owner)`` itself, which
    saves an adapter call per callback (~15% of a class-DSL chart's entry/exit step).
    """

    __slots__ = ("method",)

    def __init__(self, method: Callable[[Any], Any]) -> None:
        self.method = method

    def __call__(self, ctx: ActionContext) -> Any:
        return self.method(ctx.owner)

    def __repr__(self) -> str:
        return f"OnOwner({self.method!r})"


#: the argument forms a :class:`Form` may name, each an argument list the specialised step
#: knows how to build: ``owner`` the chart's owner, ``context`` the datamodel, ``view`` the
#: event as the front-end shows it (``view(event, engine)``, made at most once per step),
#: ``const`` the form's constant
FORM_ARGS: frozenset[tuple[str, ...]] = frozenset(
    {
        (),
        ("context",),
        ("context", "view"),
        ("context", "view", "const"),
        ("owner", "context", "view", "const"),
    }
)


class Form:
    """How a front-end's adapter calls its user's function, so that the engine's
    specialised step (:meth:`Interpreter.actions_for`) can call that function itself, with
    no adapter frame per event (issue 16: ~100 ns of an XState-dict guarded counter event).

    ``fn`` is called with ``args``, one of :data:`FORM_ARGS`: e.g. ``("context", "view")``
    is ``fn(engine.context, view(engine.event, engine))``, ``const`` is passed where
    ``"const"`` is named. The adapter stays what the engine calls on every other path (a
    closure costs ~55 ns less per call than an object's ``__call__``); it carries its form,
    given by :func:`with_form`, and must do exactly what the form says.
    """

    __slots__ = ("args", "const", "fn", "view")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[str, ...],
        const: Any = None,
        view: Callable[[EventData | None, Any], Any] | None = None,
    ) -> None:
        if args not in FORM_ARGS:
            raise ValueError(f"unknown argument form {args!r}: expected one of {sorted(FORM_ARGS)}")
        if ("view" in args) != (view is not None):
            raise ValueError(
                f"argument form {args!r}: a view factory is needed exactly with 'view'"
            )
        self.fn = fn
        self.args = args
        self.const = const
        self.view = view

    def __repr__(self) -> str:
        return f"Form({self.fn!r}, {self.args!r})"


_FORM_ATTRIBUTE = "__statefleet_form__"


def with_form(adapter: Callable[[Any], Any], form: Form) -> Callable[[Any], Any]:
    """Mark the function ``adapter`` (a front-end's one-argument adapter) as calling its
    user's function in ``form``; returns ``adapter``."""
    setattr(adapter, _FORM_ATTRIBUTE, form)
    return adapter


#: how the specialised step calls a callable: ``(fn, args, const, view)`` (see :class:`Form`;
#: ``args`` may also be ``("engine",)``: ``fn(engine)``, or ``("owner",)``: ``fn(owner)``)
_Call = tuple[Callable[..., Any], tuple[str, ...], Any, Any]


def _call_of(action: Callable[[Any], Any]) -> _Call:
    """How the specialised step calls ``action``: in its :func:`with_form` form, an
    :class:`OnOwner`'s method with the owner, else the action itself with the engine."""
    if type(action) is OnOwner:
        return action.method, ("owner",), None, None
    if inspect.isfunction(action):  # (a function's own attribute only: no user __getattr__)
        form = action.__dict__.get(_FORM_ATTRIBUTE)
        # (its args checked again: the step's source is made from them)
        if type(form) is Form and form.args in FORM_ARGS:
            return form.fn, form.args, form.const, form.view
    return action, ("engine",), None, None


#: a step of :meth:`Interpreter.run_steps`: the configuration a block runs in, the block
#: as one callable and whether it takes the owner (an :class:`OnOwner`'s method)
_Step = tuple["Config", Callable[[Any], Any], bool]


#: an event's specialised step in one configuration (:meth:`Interpreter.actions_for`): the
#: event's whole macrostep from there, called as ``fast(engine, event)`` (see
#: :func:`_fast_step`): its candidate transitions' guards in document order, then the
#: content of the first whose guard holds. Every candidate leaves the configuration as it is
FastStep = Callable[["Interpreter", EventData], None]


def _content(block: Block) -> _Call | None:
    """A targetless transition's block as one call for a specialised step (which runs it
    in one loop-prone error scope): None for no content, a one-action block's action (the
    usual one: no loop per event, ~15% of a guarded counter event) as :func:`_call_of`
    says (an :class:`OnOwner`'s method or a :class:`Form`'s function called without an
    adapter frame per event), else a function running the actions in order."""
    if not block:
        return None
    if len(block) == 1:
        return _call_of(block[0])

    def run(ctx: Interpreter) -> None:
        for action in block:
            r = action(ctx)
            if r is not None:
                ctx._returned(r, action)

    return run, ("engine",), None, None


# A specialised step is one of a few closures, each the same code with its guard's and its
# content's arguments fixed (the engine, the owner for an OnOwner method, or a Form's
# arguments) and the steps it does not need left out, instead of one closure testing per
# event which of them applies: CPython does not specialise those tests away, and they cost
# ~70 ns of a ~290 ns guarded counter event on 3.13 (~50 of ~240 on 3.11; W2). The variants
# are made from one template (below) by _step_maker, as dataclasses and namedtuple make
# their methods: engine code, never a chart's (a Form's function is an argument of make).
_STEP_TEMPLATE = """
def make(cond, run, label, otherwise, view, cc, rc):
    def step(m, event):
        m.event = event
        x = m.x
        if not x.handled:  # (then x is private; a shared Rare is never written)
            x.handled = True
{guard}{content}        # (the configuration has no eventless transitions; a shared Rare holds no
        # internal event or invocation to start and says running: one test for three)
        x = m.x
        if not x.shared and (x.internal or x.to_invoke or not x.running):
            m.run_to_completion()
        m.version += 1
    return step
"""
# the guard: its failure is error.execution as in the selection (loop-prone); its value
# is tested inside the error scope, as the selection does
_GUARD = """        try:
{view}            failed = not cond({args})
        except Exception as exc:
            m.raise_error(exc, loop_prone=True)
            failed = True
        if failed:
            {miss}
            return
"""
# the content, in one loop-prone error scope (run_block(block, True))
_CONTENT = """        try:
{view}            r = run({args})
            if r is not None:
                m._returned(r, label)
        except Exception as exc:
            m.raise_error(exc, loop_prone=True)
"""
# the event's view, made once per step (the guard's and the content's share it: one view
# per event, as the adapters' cache gives them), inside the error scope of its first user
_VIEW = "            v = view(event, m)\n"
#: an argument name's expression in the step (``const``: the guard's ``cc``, the content's
#: ``rc``)
_ARG_EXPR = {"engine": "m", "owner": "m.owner", "context": "m.context", "view": "v"}


def _arg_list(args: tuple[str, ...], const: str) -> str:
    return ", ".join(const if a == "const" else _ARG_EXPR[a] for a in args)


@functools.cache
def _step_maker(
    cond_args: tuple[str, ...] | None, run_args: tuple[str, ...] | None, chained: bool
) -> Callable[..., FastStep]:
    """The maker of one variant of the specialised step: ``make(cond, run, label,
    otherwise, view, cc, rc)`` (see :func:`_candidate_step`). ``cond_args``/``run_args``:
    None when there is no guard / no content, else its argument form (see :data:`_Call`);
    ``chained``: a failed guard tries the next candidate's step (``otherwise``) instead of
    ending the event unhandled."""
    guard = content = ""
    viewed = False
    if cond_args is not None:
        miss = "otherwise(m, event)" if chained else "m._not_taken(event, False)"
        viewed = "view" in cond_args
        guard = _GUARD.format(
            view=_VIEW if viewed else "", args=_arg_list(cond_args, "cc"), miss=miss
        )
    if run_args is not None:
        view = _VIEW if "view" in run_args and not viewed else ""
        content = _CONTENT.format(view=view, args=_arg_list(run_args, "rc"))
    source = _STEP_TEMPLATE.format(guard=guard, content=content)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<statefleet specialised step>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


def _candidate_step(
    cond: Callable[[Any], Any] | None, block: Block, otherwise: FastStep | None
) -> FastStep:
    """The specialised step of one candidate transition (guard ``cond``, content
    ``block``), trying ``otherwise`` (the next candidate's, or None: the event is not
    handled) when its guard does not hold.

    What :meth:`Interpreter.macrostep` does for such an event, without the selection:
    the guard's failure is ``error.execution`` as in the selection (loop-prone), the
    content runs in one loop-prone error scope, then the internal events it raised, if
    any. The guard and the content are called as :func:`_call_of` says."""
    guard = None if cond is None else _call_of(cond)
    content = _content(block)
    if (
        guard is not None
        and content is not None
        and "view" in guard[1]
        and "view" in content[1]
        and guard[3] is not content[3]
    ):
        # two view factories: the content is called through its adapter (never seen from
        # the front-ends, whose guards and actions share one)
        content = block[0], ("engine",), None, None
    view = guard[3] if guard is not None and guard[3] is not None else None
    if view is None and content is not None:
        view = content[3]
    make = _step_maker(
        None if guard is None else guard[1],
        None if content is None else content[1],
        otherwise is not None,
    )
    # what an awaitable result is named after (as the full path's run_block names it)
    run = None if content is None else content[0]
    label = block[0] if len(block) == 1 else run
    return make(
        None if guard is None else guard[0],
        run,
        label,
        otherwise,
        view,
        None if guard is None else guard[2],
        None if content is None else content[2],
    )


def _step(cfg: Config, block: Block) -> _Step:
    """A non-empty block as a step: a one-action block (the usual one) is its action itself
    (no loop over it per event: ~10% of W3), a longer one a function running its actions."""
    if len(block) == 1:
        (a,) = block
        if type(a) is OnOwner:
            return (cfg, a.method, True)
        return (cfg, a, False)

    def run(ctx: Interpreter) -> None:
        for action in block:
            r = action(ctx)
            if r is not None:
                ctx._returned(r, action)

    return (cfg, run, False)


class Config:
    """An interned configuration of a chart (its ``tables``) with its per-event transition
    caches."""

    __slots__ = (
        "atomic",
        "eventless",
        "has_eventless",
        "id_set",
        "ids",
        "members",
        "ordered",
        "plans",
        "tables",
    )

    def __init__(self, members: frozenset[Node], tables: _Tables) -> None:
        #: the chart's shared tables (how an engine reaches them: a slot less per instance)
        self.tables = tables
        self.members = members
        self.ordered: tuple[Node, ...] = tuple(sorted(members, key=_doc_order))
        self.atomic: tuple[Node, ...] = tuple(
            n for n in self.ordered if not any(c in members for c in n.child_states)
        )
        self.ids: tuple[str, ...] = tuple(n.id for n in self.ordered)
        self.id_set: frozenset[str] = frozenset(self.ids)
        self.plans: dict[str, Plan] = {}
        self.has_eventless = any(t.eventless for n in self.ordered for t in n.transitions)
        self.eventless: Plan | None = None

    def __repr__(self) -> str:
        return f"<Config {list(self.ids)}>"


class Plan:
    """The candidate transitions of a configuration for one event name.

    ``candidates`` holds, per active atomic state (document order), the transitions matching
    the event in priority order. ``static`` is the precomputed microstep when no guard is
    involved; ``NOTHING`` when no transition matches at all. ``fast`` is the event's
    specialised step when it has one (see :data:`FastStep`).
    """

    __slots__ = ("candidates", "fast", "singles", "static", "swap")

    def __init__(self, candidates: tuple[tuple[Transition, ...], ...]) -> None:
        self.candidates = candidates
        self.static: Micro | None = None
        #: the configuration after ``static`` when that is a trivial microstep (a
        #: configuration swap) from which no eventless transition can follow
        self.swap: Config | None = None
        #: microsteps of single-transition selections, for guarded plans
        self.singles: dict[Transition, Micro] = {}
        self.fast: FastStep | None = None


class Micro:
    """A precomputed microstep: what to exit, run and enter, and the configuration after."""

    __slots__ = (
        "actions_only",
        "cacheable",
        "entry_ops",
        "exit_ops",
        "exited",
        "history_updates",
        "invoke_nodes",
        "mid_cfg",
        "record",
        "steps",
        "target_cfg",
        "transitions",
        "trivial",
    )

    def __init__(self) -> None:
        self.cacheable = True
        #: for targetless transitions with no before/after: just these blocks
        self.actions_only: tuple[Block, ...] | None = None
        self.transitions: tuple[Transition, ...] = ()
        self.exit_ops: tuple[tuple[Node, Config], ...] = ()
        self.exited: tuple[Node, ...] = ()
        self.history_updates: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self.mid_cfg: Config | None = None
        self.entry_ops: tuple[_EntryOp, ...] = ()
        self.target_cfg: Config | None = None
        self.invoke_nodes: tuple[Node, ...] = ()
        self.trivial = False
        self.record: Microstep | None = None
        #: for a microstep that only exits and enters (no transition content, history,
        #: final state or invocation): every onexit then onentry block with the configuration
        #: it runs in, run in one loop by :meth:`Interpreter.run_steps`
        self.steps: tuple[_Step, ...] | None = None


class _EntryOp:
    __slots__ = ("cfg", "default_initial", "done_parallel", "final", "history_content", "node")

    def __init__(self, node: Node, cfg: Config) -> None:
        self.node = node
        self.cfg = cfg
        self.default_initial: Block = ()
        self.history_content: Block = ()
        #: 0 not final, 1 top-level final, 2 nested final
        self.final = 0
        self.done_parallel: Node | None = None


#: the types of values an action may return that are never awaitable (see ``_returned``)
_PLAIN_DATA = frozenset({str, int, float, bool, bytes, list, dict, tuple, set, frozenset})

_NO_HISTORY: dict[str, tuple[str, ...]] = {}
_NO_ERRORS: list[BaseException] = []
_NO_NODES: list[Node] = []
_NO_EVENTS: list[EventData] = []
_NO_EFFECTS: list[Effect] = []
_NO_PENDING: dict[str, DelayedEvent] = {}
_NO_INVOCATIONS: dict[str, tuple[InvocationRecord, InvokeSpec]] = {}

NOTHING = Micro()
NOTHING.trivial = True

#: an :meth:`Interpreter.checkpoint`: a :class:`Snapshot`'s fields (configuration, context,
#: history, status, pending, invocations, version, session id, send counter, bound, done
#: data) before it is built
RawCheckpoint = tuple[
    Config,
    dict[str, Any],
    dict[str, tuple[str, ...]],
    str,
    tuple[DelayedEvent, ...],
    tuple[InvocationRecord, ...],
    int,
    str,
    int,
    tuple[str, ...],
    Any,
]


def _doc_order(n: Node) -> int:
    return n.index


def _exit_order(n: Node) -> int:
    return -n.index


class _Tables:
    """Per-chart caches shared by every instance: interned configs and microsteps."""

    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.configs: dict[frozenset[Node], Config] = {}
        self.micros: dict[tuple[Config, tuple[Transition, ...]], Micro] = {}
        self.empty = self.intern(frozenset())

    def intern(self, members: frozenset[Node]) -> Config:
        cfg = self.configs.get(members)
        if cfg is None:
            cfg = self.configs[members] = Config(members, self)
        return cfg


def is_in_final_state(node: Node, members: frozenset[Node] | set[Node]) -> bool:
    """SCXML ``isInFinalState``: a compound state whose active child is final, or a parallel
    state all of whose regions are in final states."""
    if node.is_compound:
        return any(c.is_final and c in members for c in node.child_states)
    if node.is_parallel:
        return all(is_in_final_state(c, members) for c in node.child_states)
    return False


class Rare:
    """The part of an engine that most instances never write (issue 16: idle bytes).

    An engine keeps the fields every step writes in slots of its own (configuration,
    datamodel, event, version, ``attention``, owner, session id, clock reading) and
    everything else here: the internal queue, effects, errors, ``handled``, ``running``,
    status, history, pending timers, invocations, the step record, done data, late-bound
    states, the send counter, a driver's ``extra``, the unhandled error events and two
    driver settings (``track_unhandled`` and the ``clock``). Engines start on a *shared*
    instance (:data:`BLANK`, or a driver's own from :meth:`shared_by`, which carries its
    settings) that is never written: the first write to any of these fields gives the
    engine a private copy (``Interpreter._own``, 192 bytes). An engine that has not written
    one (an idle actor, a counter, a Session that sends nothing) is 112 bytes instead of
    288 (issue 16); reading a field costs one attribute load more (``engine.x.pending``;
    the engine's hot paths and the drivers' read it so, others by its usual name through a
    descriptor), and writing one is as cheap once the copy is made. An engine that emits an
    effect, meets an event nothing takes, raises an internal event, records history or
    starts a timer carries its own copy from then on."""

    __slots__ = (
        "bound",
        "clock",
        "done_data",
        "effects",
        "errors",
        "extra",
        "handled",
        "history",
        "internal",
        "invocations",
        "pending",
        "record",
        "running",
        "send_counter",
        "shared",
        "status",
        "to_invoke",
        "touched_history",
        "track_unhandled",
        "unhandled",
    )

    def __init__(
        self,
        shared: bool = False,
        track_unhandled: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        #: never written: an engine copies it before its first write
        self.shared = shared
        #: a step-outcome hook for drivers with an error policy (the actor runtime): when
        #: set, error events no transition takes are collected in ``unhandled``
        self.track_unhandled = track_unhandled
        #: where :attr:`Interpreter.now` comes from when the driver has not set it (read
        #: at most once per step, and only by a step that needs the time)
        self.clock = clock
        #: free slot for drivers and readers to keep per-instance data
        self.extra: dict[str, Any] | None = None
        # the containers start as shared empty constants and become real ones on first
        # write (so a private Rare is still small)
        self.history: dict[str, tuple[str, ...]] = _NO_HISTORY
        # the internal queue: a plain list (queues are tiny, and a deque costs ~600 bytes)
        self.internal: list[EventData] = _NO_EVENTS
        self.pending: dict[str, DelayedEvent] = _NO_PENDING
        self.invocations: dict[str, tuple[InvocationRecord, InvokeSpec]] = _NO_INVOCATIONS
        self.errors: list[BaseException] = _NO_ERRORS
        #: what the last step left for the driver to carry out
        self.effects: list[Effect] = _NO_EFFECTS
        #: the outcome of the last macrostep: did a transition take its event? (an event no
        #: transition takes changes nothing and bumps no version, see ``macrostep``)
        self.handled = True
        self.to_invoke: list[Node] = _NO_NODES
        self.record: list[Microstep] | None = None
        self.unhandled: list[EventData] | None = None
        self.bound: set[str] | None = None  # created on first late binding
        #: False once the chart reached a top-level final state (or failed, or was stopped)
        self.running = True
        self.status = "active"
        self.done_data: Any = None
        self.send_counter = 0
        #: scratch flag while a microstep is built: it depends on remembered history
        self.touched_history = False

    @staticmethod
    def shared_by(
        *, track_unhandled: bool = False, clock: Callable[[], float] | None = None
    ) -> Rare:
        """A shared instance for a driver's engines (``Chart.engine(rare)``), with its
        settings: ``track_unhandled`` (collect error events nobody takes) and ``clock``
        (read for :attr:`Interpreter.now` when a step needs the time and the driver has
        not set it)."""
        return Rare(True, track_unhandled, clock)


#: the shared :class:`Rare` of an engine whose driver has no settings of its own
BLANK = Rare(True)

_T = TypeVar("_T")


class _InRare(Generic[_T]):
    """An :class:`Interpreter` attribute kept in its :class:`Rare` (read through it; a
    write gives the engine its private copy first). For drivers and readers: the engine's
    own hot paths read ``self.x.<name>`` directly (a descriptor call costs ~30 ns)."""

    __slots__ = ("get", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.get = attrgetter("x." + name)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _InRare[_T]: ...
    @overload
    def __get__(self, obj: Interpreter, owner: type[Any]) -> _T: ...
    def __get__(self, obj: Interpreter | None, owner: type[Any]) -> _InRare[_T] | _T:
        if obj is None:
            return self
        return self.get(obj)  # type: ignore[no-any-return]

    def __set__(self, obj: Interpreter, value: _T) -> None:
        x = obj.x
        if x.shared and self.get(obj) is value:
            return  # (a driver resetting a field that was never set: nothing to copy)
        setattr(obj._own(), self.name, value)


class Interpreter:
    """The mutable state of one chart instance, and the SCXML algorithm over it.

    The sync :class:`~statefleet.core.Session`, the pure ``Chart.transition`` and the actor
    runtime all drive this class. It is also the :class:`ActionContext` handed to actions.

    Its hot fields are slots; the rest live in its :class:`Rare` (``x``), shared until the
    engine first writes one of them (issue 16: an idle actor's engine is 112 bytes, not
    288). Drivers read and write those by their usual names.
    """

    __slots__ = (
        "__weakref__",  # SCXML's session registry (formats/_scxml.py) holds engines weakly
        "attention",
        "cfg",
        "clock_reading",
        "context",
        "event",
        "owner",
        "session_id",
        "version",
        "x",
    )

    # the fields kept in ``x`` (see Rare), by their usual names
    extra: _InRare[dict[str, Any] | None] = _InRare("extra")
    history: _InRare[dict[str, tuple[str, ...]]] = _InRare("history")
    internal: _InRare[list[EventData]] = _InRare("internal")
    running: _InRare[bool] = _InRare("running")
    pending: _InRare[dict[str, DelayedEvent]] = _InRare("pending")
    invocations: _InRare[dict[str, tuple[InvocationRecord, InvokeSpec]]] = _InRare("invocations")
    errors: _InRare[list[BaseException]] = _InRare("errors")
    effects: _InRare[list[Effect]] = _InRare("effects")
    handled: _InRare[bool] = _InRare("handled")
    to_invoke: _InRare[list[Node]] = _InRare("to_invoke")
    record: _InRare[list[Microstep] | None] = _InRare("record")
    unhandled: _InRare[list[EventData] | None] = _InRare("unhandled")
    bound: _InRare[set[str] | None] = _InRare("bound")
    status: _InRare[str] = _InRare("status")
    done_data: _InRare[Any] = _InRare("done_data")
    send_counter: _InRare[int] = _InRare("send_counter")
    track_unhandled: _InRare[bool] = _InRare("track_unhandled")

    def __init__(self, tables: _Tables, rare: Rare = BLANK) -> None:
        self.x = rare
        self.cfg: Config = tables.empty
        self.context: dict[str, Any] = {}
        self.event: EventData | None = None
        self.owner: Any = None
        self.session_id = ""
        #: the time of this step (see :attr:`now`): a driver sets it, or sets None to have
        #: it read from the Rare's clock when first needed, or its own clock (an object with
        #: ``now()``, as a Session does) to have that one read when first needed
        self.clock_reading: float | ClockLike | None = None
        self.version = 0
        #: something for the driver to look at after a step: set (never cleared) wherever a
        #: step leaves an outcome (an effect, an error, an unhandled error event, a final
        #: state); a driver may also set it for reasons of its own (an actor's watchers) and
        #: clears it by :meth:`settle`. False means all of those are empty: a driver tests
        #: this one field instead of each of them after every step (issue 16: ~30 ns of an
        #: actor's ~400 ns event)
        self.attention = False

    def _own(self) -> Rare:
        """This engine's private :class:`Rare`, copied from the shared one (its settings
        kept) on the first write."""
        x = self.x
        if x.shared:
            x = self.x = Rare(False, x.track_unhandled, x.clock)
        return x

    @property
    def chart(self) -> Chart:
        """The compiled chart this engine runs."""
        return self.cfg.tables.chart

    @property
    def now(self) -> float:
        """The time of the step being taken (the driver's clock reading). A driver sets it
        before a step, or sets :attr:`clock_reading` to None: the engine then reads its
        ``clock`` (see :class:`Rare`) the first time the step needs the time (a delayed
        send, a timer, a record), so a step that never needs it reads no clock and the
        engine keeps no float (issue 16: 24 bytes per idle actor). 0.0 without either."""
        t = self.clock_reading
        if t is None:
            clock = self.x.clock
            t = self.clock_reading = clock() if clock is not None else 0.0
        elif not isinstance(t, (float, int)):
            t = self.clock_reading = t.now()
        return t

    @now.setter
    def now(self, t: float) -> None:
        self.clock_reading = t

    def settle(self, keep: bool = False) -> None:
        """The driver has handled the last step's outcome: :attr:`attention` is cleared
        unless some of it is still there, or ``keep`` (the driver's own reason to look after
        every step)."""
        x = self.x
        self.attention = keep or bool(
            x.effects or x.errors or x.unhandled is not None or not x.running
        )

    def clear_errors(self) -> None:
        """The driver has handled the last step's errors: forget them (nothing is written
        when there were none, so a clean engine keeps its shared :class:`Rare`)."""
        x = self.x
        if x.errors:
            x.errors = _NO_ERRORS

    def _push_internal(self, ev: EventData) -> None:
        x = self._own()
        if x.internal is _NO_EVENTS:
            x.internal = [ev]
        else:
            x.internal.append(ev)

    def _emit(self, effect: Effect) -> None:
        self.attention = True
        x = self.x
        if x.shared:
            x = self._own()
        if x.effects is _NO_EFFECTS:
            x.effects = [effect]
        else:
            x.effects.append(effect)

    def _pending(self) -> dict[str, DelayedEvent]:
        x = self._own()
        if x.pending is _NO_PENDING:
            x.pending = {}
        return x.pending

    # -- the ActionContext API --------------------------------------------------------------
    @property
    def configuration(self) -> frozenset[str]:
        """Ids of the active states."""
        return self.cfg.id_set

    def in_state(self, state_id: str) -> bool:
        """SCXML ``In()``."""
        return state_id in self.cfg.id_set

    def raise_(self, name: str, data: Any = None) -> None:
        """Raise an internal event."""
        self._push_internal(EventData(name, data, "internal"))

    def next_sendid(self) -> str:
        """A fresh send id, unique within this session."""
        x = self.x
        if x.shared:  # (_own() inlined: a call less per send, ~40 ns of a ping-pong hop)
            x = self._own()
        x.send_counter += 1
        return f"send.{x.send_counter}"

    def send(
        self,
        name: str,
        data: Any = None,
        *,
        target: str | None = None,
        delay: float = 0.0,
        sendid: str | None = None,
        type: str | None = None,
        origin: str | None = None,
    ) -> str:
        """Send an event. ``target=None``: this session's external queue; ``"#_internal"``:
        the internal queue; ``"#_parent"``, ``"#_<invokeid>"`` or any address the driver
        knows. A ``delay`` schedules it (kept in the snapshot until it fires)."""
        if type not in _VALID_SEND_TYPES and type != self.cfg.tables.chart.http_type:
            raise ValueError(f"unsupported send type {type!r}")
        sid = sendid if sendid is not None else self.next_sendid()
        # SCXML 5.10.1: the event carries the sendid the sender gave, else none; a delayed
        # event keeps the generated one (its timer is matched by it)
        ev_sid = sendid if not (delay and delay > 0) else sid
        if target == "#_internal" and not delay:
            self._push_internal(EventData(name, data, "internal", sendid=ev_sid))
            return sid
        ev = EventData(
            name,
            data,
            "external",
            sendid=ev_sid,
            origin=origin if origin is not None else f"#_scxml_{self.session_id}",
            origintype=SCXML_PROCESSOR,
        )
        if delay and delay > 0:
            due = self.now + float(delay)
            de = DelayedEvent(sid, due, ev, target)
            self._pending()[sid] = de
            self._emit(ScheduleEffect(sid, due, ev, target))
        else:
            self._emit(SendEffect(ev, target, type))
        return sid

    def schedule(
        self, name: str, delay: float, *, sendid: str, repeat: float | None = None
    ) -> None:
        """Schedule an event to this session (used by ``after``/``every`` timers)."""
        due = self.now + delay
        ev = EventData(name, None, "external", sendid=sendid)
        self._pending()[sendid] = DelayedEvent(sendid, due, ev, None, repeat)
        self._emit(ScheduleEffect(sendid, due, ev, None))

    def cancel(self, sendid: str) -> None:
        """Cancel a pending delayed send of this session (no-op if it already fired)."""
        if self.x.pending.pop(sendid, None) is not None:
            self._emit(CancelEffect(sendid))

    def log(self, label: str | None, value: Any) -> None:
        """Record a log effect."""
        self._emit(LogEffect(label, value))

    # -- executable content -----------------------------------------------------------------
    def run_block(self, block: Block, loop_prone: bool = False) -> None:
        """Execute one block; an exception stops it and raises ``error.execution``.

        ``loop_prone``: the block leaves the configuration unchanged (a guard, a targetless
        transition), see :meth:`raise_error`."""
        try:
            for action in block:
                r = action(self)
                if r is not None:
                    self._returned(r, action)
        except Exception as exc:
            self.raise_error(exc, loop_prone=loop_prone)

    def run_steps(self, steps: tuple[_Step, ...]) -> None:
        """Run blocks in order, each in its configuration and each its own error scope (what
        :meth:`run_block` does for one, in one call for a microstep's exits and entries);
        an :class:`OnOwner` action's method is called with the owner directly."""
        owner = self.owner
        for cfg, fn, on_owner in steps:
            self.cfg = cfg
            try:
                r = fn(owner) if on_owner else fn(self)
                if r is not None:
                    self._returned(r, fn)
            except Exception as exc:
                self.raise_error(exc)

    def _returned(self, r: Any, action: Any) -> None:
        """An action returned ``r``: an awaitable (an ``async def`` action) becomes an effect
        the driver awaits after the macrostep; any other value is ignored."""
        if type(r) in _PLAIN_DATA:
            return  # (a set look-up instead of inspect.isawaitable's ABC check: ~230 ns)
        if inspect.isawaitable(r):
            self._emit(AwaitEffect(r, getattr(action, "__name__", "")))

    def eval_cond(self, t: Transition) -> bool:
        """Evaluate a guard; an exception counts as false and raises ``error.execution``."""
        cond = t.cond
        if cond is None:
            return True
        try:
            return bool(cond(self))
        except Exception as exc:
            self.raise_error(exc, loop_prone=True)
            return False

    def raise_error(
        self, exc: BaseException, name: str = "error.execution", *, loop_prone: bool = False
    ) -> None:
        """Raise ``error.execution`` carrying ``exc``.

        ``loop_prone``: the failure leaves the configuration unchanged (a guard, a targetless
        transition's content). Such a failure while handling ``error.execution`` would fail
        again on the new error forever: it is recorded, not raised again. Failures in
        entry/exit actions and in transitions that move are raised as SCXML says (W3C 457).

        A chart whose front-end lets some exceptions leave the engine (``chart.escape``, from
        ``ChartSpec.meta["escape"]``) raises what ``escape(exc)`` returns instead."""
        escape = self.cfg.tables.chart.escape
        if escape is not None:
            out = escape(exc)
            if out is not None:
                raise out from exc
        x = self._own()
        if x.errors is _NO_ERRORS:
            x.errors = []
        x.errors.append(exc)
        self.attention = True
        ev = self.event
        if loop_prone and ev is not None and ev.name == "error.execution" and ev.type == "platform":
            # would loop: recorded, not raised again (so nothing will take it)
            if x.track_unhandled:
                self._note_unhandled(EventData(name, {"error": str(exc)}, "platform", error=exc))
            return
        # an error from a failed <send> carries that send's id (SCXML 5.10.1)
        sendid = getattr(exc, "sendid", None)
        self._push_internal(
            EventData(name, {"error": str(exc)}, "platform", sendid=sendid, error=exc)
        )

    def _note_unhandled(self, ev: EventData) -> None:
        self.attention = True
        x = self._own()
        if x.unhandled is None:
            x.unhandled = []
        x.unhandled.append(ev)

    # -- selection --------------------------------------------------------------------------
    def _plan(self, cfg: Config, name: str | None) -> Plan:
        cands: list[tuple[Transition, ...]] = []
        for atom in cfg.atomic:
            lst: list[Transition] = []
            for s in (atom, *atom.ancestors):
                for t in s.transitions:
                    if name is None:
                        if t.eventless:
                            lst.append(t)
                    elif not t.eventless and (
                        name in t.descriptors
                        if t.exact
                        else descriptor_matches(t.descriptors, name)
                    ):
                        lst.append(t)
            if lst:
                cands.append(tuple(lst))
        plan = Plan(tuple(cands))
        if not cands:
            plan.static = NOTHING
        elif all(c[0].cond is None for c in cands):
            enabled: list[Transition] = []
            for c in cands:
                if c[0] not in enabled:
                    enabled.append(c[0])
            m = self._micro(tuple(enabled))
            if m.cacheable:
                plan.static = m
                if m.trivial and not m.target_cfg.has_eventless:  # type: ignore[union-attr]
                    plan.swap = m.target_cfg
        if name is None:
            cfg.eventless = plan
        elif len(cfg.plans) < _MAX_EVENT_CACHE:
            cfg.plans[name] = plan
            if len(cands) == 1:
                plan.fast = self._fast_step(cands[0])
        return plan

    def _fast_step(self, candidates: tuple[Transition, ...]) -> FastStep | None:
        """The specialised step of one active atomic state's candidates for an event (see
        :data:`FastStep`), or None when the configuration has eventless transitions (they
        could follow), or one candidate could move, record history or is not a plain
        targetless transition: its microstep needs the full path."""
        if self.cfg.has_eventless:
            return None
        taken: list[Transition] = []
        for t in candidates:
            m = self._micro((t,))
            if not m.cacheable or m.target_cfg is not self.cfg or m.exited:
                return None
            if m.actions_only is None and not m.trivial:
                return None
            taken.append(t)
            if t.cond is None:
                break  # the candidates after an unguarded one are never taken
        step: FastStep | None = None
        for t in reversed(taken):  # each candidate's step falls back on the next one's
            step = _candidate_step(t.cond, t.actions, step)
        return step

    def select_transitions(self, event: EventData) -> Micro:
        """SCXML ``selectTransitions``: the microstep an event enables (``NOTHING`` if none)."""
        cfg = self.cfg
        plan = cfg.plans.get(event.name)
        if plan is None:
            plan = self._plan(cfg, event.name)
        if plan.static is not None:
            return plan.static
        return self._select_dynamic(plan)

    def select_eventless_transitions(self) -> Micro:
        """SCXML ``selectEventlessTransitions``."""
        cfg = self.cfg
        if not cfg.has_eventless:
            return NOTHING
        plan = cfg.eventless
        if plan is None:
            plan = self._plan(cfg, None)
        if plan.static is not None:
            return plan.static
        return self._select_dynamic(plan)

    def _select_dynamic(self, plan: Plan) -> Micro:
        cands = plan.candidates
        if len(cands) == 1:
            # one active atomic state: the first enabled candidate is the whole selection
            for t1 in cands[0]:
                cond = t1.cond
                if cond is not None:
                    # eval_cond inlined (a call less per guarded event, ~5% of W2)
                    try:
                        if not cond(self):
                            continue
                    except Exception as exc:
                        self.raise_error(exc, loop_prone=True)
                        continue
                m = plan.singles.get(t1)
                if m is None:
                    m = self._micro((t1,))
                    if m.cacheable:
                        plan.singles[t1] = m
                return m
            return NOTHING
        enabled: list[Transition] = []
        memo: dict[Transition, bool] = {}
        for lst in cands:
            for t in lst:
                ok = memo.get(t)
                if ok is None:
                    ok = memo[t] = self.eval_cond(t)
                if ok:
                    if t not in enabled:
                        enabled.append(t)
                    break
        if not enabled:
            return NOTHING
        return self._micro(tuple(enabled))

    # -- the microstep tables ---------------------------------------------------------------
    def _micro(self, enabled: tuple[Transition, ...]) -> Micro:
        key = (self.cfg, enabled)
        m = self.cfg.tables.micros.get(key)
        if m is not None:
            return m
        x = self.x
        if not x.shared:  # (a shared one is never written: its flag stays False)
            x.touched_history = False
        m = self._build_micro(self.remove_conflicting_transitions(enabled))
        # a microstep that depends on remembered history is computed afresh every time
        m.cacheable = not self.x.touched_history
        if m.cacheable:
            self.cfg.tables.micros[key] = m
        return m

    def get_effective_target_states(self, t: Transition) -> list[Node]:
        """SCXML ``getEffectiveTargetStates``: history states replaced by what they stand for."""
        out: list[Node] = []
        for s in t.targets:
            if s.is_history:
                x = self._own()
                x.touched_history = True
                hv = x.history.get(s.id)
                if hv:
                    for sid in hv:
                        n = self.cfg.tables.chart.nodes_by_id[sid]
                        if n not in out:
                            out.append(n)
                elif s.history_default is not None:
                    for n in self.get_effective_target_states(s.history_default):
                        if n not in out:
                            out.append(n)
            elif s not in out:
                out.append(s)
        return out

    def get_transition_domain(self, t: Transition) -> Node | None:
        """SCXML ``getTransitionDomain``."""
        tstates = self.get_effective_target_states(t)
        if not tstates:
            return None
        src = t.source
        if (
            t.type == "internal"
            and src.is_compound
            and all(s.is_descendant_of(src) for s in tstates)
        ):
            return src
        return find_lcca([src, *tstates])

    def compute_exit_set(self, transitions: Iterable[Transition]) -> list[Node]:
        """SCXML ``computeExitSet``: active states exited by ``transitions`` (unordered)."""
        out: list[Node] = []
        members = self.cfg.members
        for t in transitions:
            if t.targets:
                domain = self.get_transition_domain(t)
                if domain is None:
                    continue
                for s in domain.descendants:
                    if s in members and s not in out:
                        out.append(s)
        return out

    def remove_conflicting_transitions(
        self, enabled: tuple[Transition, ...]
    ) -> tuple[Transition, ...]:
        """SCXML ``removeConflictingTransitions``: keep a consistent set, preferring
        descendants' transitions and, between unrelated ones, document order."""
        if len(enabled) == 1:
            return enabled
        filtered: list[Transition] = []
        exit_sets: dict[Transition, set[Node]] = {}
        for t1 in enabled:
            preempted = False
            to_remove: list[Transition] = []
            e1 = exit_sets.setdefault(t1, set(self.compute_exit_set([t1])))
            for t2 in filtered:
                e2 = exit_sets[t2]
                if e1 & e2:
                    if t1.source.is_descendant_of(t2.source):
                        to_remove.append(t2)
                    else:
                        preempted = True
                        break
            if not preempted:
                for t3 in to_remove:
                    filtered.remove(t3)
                filtered.append(t1)
        return tuple(filtered)

    def compute_entry_set(
        self, transitions: tuple[Transition, ...]
    ) -> tuple[list[Node], set[Node], dict[Node, Block]]:
        """SCXML ``computeEntrySet``: states to enter, states entered by default, and the
        default history content to run, per parent of a history state."""
        to_enter: list[Node] = []
        default_entry: set[Node] = set()
        history_content: dict[Node, Block] = {}
        for t in transitions:
            for s in t.targets:
                self.add_descendant_states_to_enter(s, to_enter, default_entry, history_content)
            ancestor = self.get_transition_domain(t)
            for s in self.get_effective_target_states(t):
                self.add_ancestor_states_to_enter(
                    s, ancestor, to_enter, default_entry, history_content
                )
        return to_enter, default_entry, history_content

    def add_descendant_states_to_enter(
        self,
        state: Node,
        to_enter: list[Node],
        default_entry: set[Node],
        history_content: dict[Node, Block],
    ) -> None:
        """SCXML ``addDescendantStatesToEnter``."""
        if state.is_history:
            x = self._own()
            x.touched_history = True
            parent = state.parent
            assert parent is not None
            hv = x.history.get(state.id)
            if hv:
                nodes = [self.cfg.tables.chart.nodes_by_id[i] for i in hv]
                for s in nodes:
                    self.add_descendant_states_to_enter(s, to_enter, default_entry, history_content)
                for s in nodes:
                    self.add_ancestor_states_to_enter(
                        s, parent, to_enter, default_entry, history_content
                    )
            else:
                dt = state.history_default
                if dt is None:
                    return
                history_content[parent] = dt.actions
                for s in dt.targets:
                    self.add_descendant_states_to_enter(s, to_enter, default_entry, history_content)
                for s in dt.targets:
                    self.add_ancestor_states_to_enter(
                        s, parent, to_enter, default_entry, history_content
                    )
            return
        if state not in to_enter:
            to_enter.append(state)
        if state.is_compound:
            default_entry.add(state)
            init = state.initial
            assert init is not None
            for s in init.targets:
                self.add_descendant_states_to_enter(s, to_enter, default_entry, history_content)
            for s in init.targets:
                self.add_ancestor_states_to_enter(
                    s, state, to_enter, default_entry, history_content
                )
        elif state.is_parallel:
            for child in state.child_states:
                if not any(s is child or s.is_descendant_of(child) for s in to_enter):
                    self.add_descendant_states_to_enter(
                        child, to_enter, default_entry, history_content
                    )

    def add_ancestor_states_to_enter(
        self,
        state: Node,
        ancestor: Node | None,
        to_enter: list[Node],
        default_entry: set[Node],
        history_content: dict[Node, Block],
    ) -> None:
        """SCXML ``addAncestorStatesToEnter``."""
        for anc in state.ancestors:
            if anc is ancestor or (anc.id == ROOT_ID and anc.parent is None):
                break
            if anc not in to_enter:
                to_enter.append(anc)
            if anc.is_parallel:
                for child in anc.child_states:
                    if not any(s is child or s.is_descendant_of(child) for s in to_enter):
                        self.add_descendant_states_to_enter(
                            child, to_enter, default_entry, history_content
                        )

    def _build_micro(self, transitions: tuple[Transition, ...]) -> Micro:
        cfg = self.cfg
        tables = cfg.tables
        m = Micro()
        m.transitions = transitions
        exit_set = sorted(self.compute_exit_set(transitions), key=_exit_order)
        members = set(cfg.members)
        # history is recorded from the full configuration before anything exits
        updates: list[tuple[str, tuple[str, ...]]] = []
        for s in exit_set:
            for h in s.history_children:
                if h.history_deep:
                    val = tuple(n.id for n in cfg.ordered if n.is_atomic and n.is_descendant_of(s))
                else:
                    val = tuple(n.id for n in cfg.ordered if n.parent is s)
                updates.append((h.id, val))
        m.history_updates = tuple(updates)
        exit_ops: list[tuple[Node, Config]] = []
        for s in exit_set:
            if s.onexit or s.invokes:
                exit_ops.append((s, tables.intern(frozenset(members))))
            members.discard(s)
        m.exit_ops = tuple(exit_ops)
        m.exited = tuple(exit_set)
        m.mid_cfg = tables.intern(frozenset(members))
        # SCXML enters after exiting: a history state exited and re-entered by this very
        # microstep must be entered with what the exit just recorded (W3C test 579)
        if updates:
            x = self._own()
            saved_history = x.history
            x.history = {**saved_history, **dict(updates)}
            try:
                to_enter, default_entry, history_content = self.compute_entry_set(transitions)
            finally:
                x.history = saved_history
        else:
            to_enter, default_entry, history_content = self.compute_entry_set(transitions)
        to_enter.sort(key=_doc_order)
        entry_ops: list[_EntryOp] = []
        late = self.cfg.tables.chart.binding == "late"
        for s in to_enter:
            members.add(s)
            need = bool(s.onentry) or (late and bool(s.data))
            op = _EntryOp(s, cfg)
            if s in default_entry and s.initial is not None and s.initial.actions:
                op.default_initial = s.initial.actions
                need = True
            if history_content.get(s):
                op.history_content = history_content[s]
                need = True
            if s.is_final:
                need = True
                parent = s.parent
                assert parent is not None
                if parent.parent is None:
                    op.final = 1
                else:
                    op.final = 2
                    gp = parent.parent
                    if (
                        gp is not None
                        and gp.is_parallel
                        and all(is_in_final_state(c, members) for c in gp.child_states)
                    ):
                        op.done_parallel = gp
            if need:
                op.cfg = tables.intern(frozenset(members))
                entry_ops.append(op)
        m.entry_ops = tuple(entry_ops)
        m.target_cfg = tables.intern(frozenset(members))
        m.invoke_nodes = tuple(s for s in to_enter if s.invokes)
        m.trivial = (
            not m.history_updates
            and not m.exit_ops
            and not m.entry_ops
            and not m.invoke_nodes
            and not any(t.actions or t.before or t.after for t in transitions)
            and not any(s.invokes for s in exit_set)
        )
        if (
            not exit_set
            and not to_enter
            and not any(t.before or t.after for t in transitions)
            and not m.trivial
        ):
            m.actions_only = tuple(t.actions for t in transitions if t.actions)
        if (
            not m.trivial
            and m.actions_only is None
            and not m.history_updates
            and not m.invoke_nodes
            and not any(t.actions or t.before or t.after for t in transitions)
            and not any(s.invokes for s in exit_set)
            and not any(
                op.final or op.default_initial or op.history_content or (late and op.node.data)
                for op in entry_ops
            )
        ):
            steps = [_step(cfg, b) for node, cfg in exit_ops for b in node.onexit if b]
            steps += [_step(op.cfg, b) for op in entry_ops for b in op.node.onentry if b]
            m.steps = tuple(steps)
        m.record = Microstep(
            transitions=tuple(t.label for t in transitions),
            exited=tuple(s.id for s in exit_set),
            entered=tuple(s.id for s in to_enter),
        )
        return m

    # -- microstep / macrostep --------------------------------------------------------------
    def microstep(self, m: Micro) -> None:
        """SCXML ``microstep``: exit, run transition content, enter."""
        record = self.x.record
        if record is not None and m.record is not None:
            record.append(m.record)
        if m.trivial:
            self.cfg = m.target_cfg  # type: ignore[assignment]
            return
        if m.actions_only is not None:
            for block in m.actions_only:
                self.run_block(block, True)
            return
        if m.steps is not None:
            # exits and entries only: exit_states and enter_states in one loop (W3: ~25%)
            x = self.x
            if x.to_invoke:  # (then x is private)
                x.to_invoke = [n for n in x.to_invoke if n not in m.exited]
            self.run_steps(m.steps)
            self.cfg = m.target_cfg  # type: ignore[assignment]
            return
        transitions = m.transitions
        still = m.target_cfg is self.cfg and not m.exited  # targetless: nothing moves
        for t in transitions:
            if t.before:
                self.run_block(t.before, still)
        self.exit_states(m)
        for t in transitions:
            if t.actions:
                self.run_block(t.actions, still)
        self.enter_states(m)
        for t in transitions:
            if t.after:
                self.run_block(t.after, still)

    def exit_states(self, m: Micro) -> None:
        """SCXML ``exitStates`` (history recorded first, then onexit in exit order)."""
        x = self.x
        if x.to_invoke and m.exited:  # (then x is private)
            x.to_invoke = [n for n in x.to_invoke if n not in m.exited]
        if m.history_updates:
            x = self._own()
            if x.history is _NO_HISTORY:
                x.history = {}
            for hid, val in m.history_updates:
                x.history[hid] = val
        for node, cfg in m.exit_ops:
            self.cfg = cfg
            for block in node.onexit:
                self.run_block(block)
            if node.invokes and self.x.invocations:
                self.cancel_invokes(node)
        self.cfg = m.mid_cfg  # type: ignore[assignment]

    def enter_states(self, m: Micro) -> None:
        """SCXML ``enterStates``: onentry in document order, default-entry and history
        content, ``done.state.*`` events for final states."""
        late = self.cfg.tables.chart.binding == "late"
        for op in m.entry_ops:
            node = op.node
            self.cfg = op.cfg
            if late and node.data and (self.bound is None or node.id not in self.bound):
                if self.bound is None:
                    self.bound = set()
                self.bound.add(node.id)
                self.init_data(node.data)
            for block in node.onentry:
                self.run_block(block)
            if op.default_initial:
                self.run_block(op.default_initial)
            if op.history_content:
                self.run_block(op.history_content)
            if op.final:
                if op.final == 1:
                    self.running = False
                    self.attention = True
                    self.done_data = self.eval_donedata(node)
                else:
                    parent = node.parent
                    assert parent is not None
                    self._push_internal(
                        EventData(f"done.state.{parent.id}", self.eval_donedata(node), "internal")
                    )
                    if op.done_parallel is not None:
                        self._push_internal(
                            EventData(f"done.state.{op.done_parallel.id}", None, "internal")
                        )
        self.cfg = m.target_cfg  # type: ignore[assignment]
        if m.invoke_nodes:
            x = self._own()
            if x.to_invoke is _NO_NODES:
                x.to_invoke = []
            x.to_invoke.extend(m.invoke_nodes)

    def eval_donedata(self, node: Node) -> Any:
        """Evaluate a final state's donedata (errors raise error.execution, data is None)."""
        if node.donedata is None:
            return None
        try:
            return node.donedata(self)
        except Exception as exc:
            self.raise_error(exc)
            return None

    def init_data(self, items: Iterable[Any], provided: dict[str, Any] | None = None) -> None:
        """Initialize datamodel items (values given by the caller win, SCXML 6.4)."""
        ctx = self.context
        for d in items:
            if provided is not None and d.name in provided:
                ctx[d.name] = provided[d.name]
                continue
            if d.expr is None:
                ctx[d.name] = d.value
                continue
            try:
                ctx[d.name] = d.expr(self)
            except Exception as exc:
                ctx[d.name] = None
                self.raise_error(exc)

    def run_to_completion(self) -> bool:
        """Take eventless transitions and internal events until the macrostep is over, then
        start the invocations of the states entered (SCXML ``mainEventLoop``, inner part).
        Returns whether it took a microstep."""
        limit = self.cfg.tables.chart.max_microsteps
        n = 0
        moved = False
        # (``self.x`` read afresh each time: a step may replace the shared one)
        while self.x.running:
            m = self.select_eventless_transitions()
            if m is NOTHING:
                if not self.x.internal:
                    if self.x.to_invoke:
                        self.start_invokes()
                        if self.x.internal:
                            continue
                    break
                ev = self.x.internal.pop(0)  # (not empty: x is private)
                self.event = ev
                m = self.select_transitions(ev)
                if m is NOTHING:
                    if self.x.track_unhandled and ev.name.startswith("error."):
                        self._note_unhandled(ev)
                    n += 1
                    if n > limit:
                        self._loop_error(limit)
                    continue
            self.microstep(m)
            moved = True
            n += 1
            if n > limit:
                self._loop_error(limit)
        if not self.x.running:
            self.exit_interpreter()
        return moved

    def _loop_error(self, limit: int) -> None:
        self.status = "error"
        self.running = False
        self.attention = True
        raise InfiniteLoopError(
            f"chart {self.cfg.tables.chart.id!r}: more than {limit} microsteps in one macrostep"
            f" (last event {self.event.name if self.event else None!r}); eventless"
            " transitions or raised events are feeding each other"
        )

    def macrostep(self, event: EventData) -> None:
        """Process one external event to completion (one SCXML macrostep).

        Its outcome: :attr:`handled` says whether a transition took the event. An event
        nothing takes and that changes nothing (no eventless transition follows, no timer
        or invocation is settled by it, no effect or error) leaves the version as it was."""
        plan = self.cfg.plans.get(event.name)
        x = self.x
        if plan is not None:
            if (
                plan.fast is not None
                and event.sendid is None
                and event.invokeid is None
                # (a shared Rare runs no invocation and records nothing: one test for two)
                and (x.shared or (not x.invocations and x.record is None))
            ):
                # the event's specialised step: its guards, then one targetless
                # transition's content (what the rest of this method would do, without the
                # selection: ~25% of a guarded counter event, W2)
                plan.fast(self, event)
                return
            if plan.swap is not None and x.shared:
                # a precomputed trivial microstep (a configuration swap) and nothing to
                # follow, on an engine whose shared Rare holds no timer, invocation,
                # internal event or record: what the rest of this method would do (the
                # tests it would make hold per plan: ~20 instructions, ~5-8% of W1/W4)
                self.event = event
                self.cfg = plan.swap
                self.version += 1
                return
        # ``x`` is kept in a local (each load of ``self.x`` costs ~3 ns: ~5% of W1) and
        # read again after whatever may have replaced a shared one by a private copy. A
        # shared one says handled, and holds no timer, invocation, internal event, record
        # or invocation to start: one test skips those (W1, a plain event: ~5%)
        self.event = event
        touched = False  # the event changed the state by itself (a timer, an invocation)
        if not x.shared:
            if not x.handled:
                x.handled = True
            touched = self._touched(event)
        # select_transitions inlined (a call less per event, ~5% of W1): a cached plan's
        # static microstep, else the guards are evaluated
        if plan is None:
            m = self.select_transitions(event)
            x = self.x
        elif plan.static is not None:
            m = plan.static
        else:
            m = self._select_dynamic(plan)  # (guards run: they may raise an error)
            x = self.x
        if m is not NOTHING:
            if m.trivial and not m.target_cfg.has_eventless:  # type: ignore[union-attr]
                if x.shared:
                    self.cfg = m.target_cfg  # type: ignore[assignment]
                    self.version += 1
                    return
                if not x.internal:
                    if x.record is not None:
                        x.record.append(m.record)  # type: ignore[arg-type]
                    self.cfg = m.target_cfg  # type: ignore[assignment]
                    if not x.to_invoke:
                        self.version += 1
                        return
                else:
                    self.microstep(m)
            elif m.steps is not None and x.shared:
                # microstep's exits-and-entries branch, inlined for an engine whose Rare is
                # shared (nothing recorded, no invocation to start): a call less (W3)
                self.run_steps(m.steps)
                self.cfg = m.target_cfg  # type: ignore[assignment]
            else:
                self.microstep(m)
        else:
            self._not_taken(event, touched)
            return
        # run_to_completion has nothing to do when no eventless transition, internal event
        # or invocation waits and the chart still runs: skip its call (~5% of W2/W3)
        x = self.x
        if x.internal or x.to_invoke or self.cfg.has_eventless or not x.running:
            self.run_to_completion()
        self.version += 1

    def _touched(self, event: EventData) -> bool:
        """Settle what ``event`` settles by itself before any transition is selected: a
        timer of ours firing, an invocation's finalize (and its end), autoforwarding.
        Whether it changed the state so (a timer, an invocation). (Called with a private
        Rare, which stays this engine's.)"""
        x = self.x
        touched = False
        if event.sendid is not None and x.pending:
            # one of our own timers firing (ids are per session: compare the whole event, so
            # another session's event with the same id never cancels ours)
            de = x.pending.get(event.sendid)
            if de is not None and de.target is None and de.event == event:
                self.take_timer(event.sendid)
                touched = True
        if event.invokeid is not None:
            # finalize runs only for an invocation still active (SCXML mainEventLoop); an
            # event its child queued before the invocation was cancelled is still processed
            # (W3C test 236: done.invoke arrives after the invoking state exited). Events a
            # child sends after its cancellation are dropped by the driver, which stops
            # delivering them.
            rec = x.invocations.get(event.invokeid)
            if rec is not None:  # (x is private: it has invocations)
                touched = True
                if rec[1].finalize:
                    self.run_block(rec[1].finalize)
                if event.name.startswith(("done.invoke.", "error.invoke.")):
                    del x.invocations[event.invokeid]
        if x.invocations:  # (x is private)
            for record, spec in tuple(x.invocations.values()):
                if spec.autoforward:
                    self._emit(SendEffect(event, f"#_{record.invokeid}"))
        return touched

    def _not_taken(self, event: EventData, touched: bool) -> None:
        """The rest of the macrostep of an event no transition takes: eventless transitions
        and internal events, if any; ``touched``: the event changed the state by itself."""
        self._own().handled = False
        if self.x.track_unhandled and event.name.startswith("error."):
            self._note_unhandled(event)
        moved = self.run_to_completion()
        x = self.x
        if touched or moved or x.effects or x.errors:
            self.version += 1
        # else ignored: nothing changed, and the version stays

    def run_actions(self, event: EventData, fast: FastStep) -> None:
        """The macrostep of ``event`` by its specialised step ``fast`` (what
        :meth:`actions_for` gave a driver): the guards in document order, each failure
        ``error.execution`` as in the selection; the first candidate whose guard holds has
        its content run, loop-prone; then the internal events it raised, if any. No guard
        holding: the event is not handled, as :meth:`macrostep` would find. The same as
        ``fast(engine, event)``, which a driver may call itself (a call less)."""
        fast(self, event)

    def actions_for(self, name: str) -> FastStep | None:
        """The specialised step whose :meth:`run_actions` is exactly the :meth:`macrostep`
        of an event called ``name`` (with no ``sendid`` or ``invokeid``) from the
        configuration now: one active atomic state has candidates for the event, each a
        cached targetless transition (guarded or not) that leaves the configuration as it
        is, no invocation runs (nothing to autoforward) and nothing is recorded. None
        otherwise, or when no event of that name was planned in this configuration yet. A
        driver may keep the answer while the configuration object stays the same and no
        invocation runs."""
        x = self.x
        if x.invocations or x.record is not None:
            return None
        plan = self.cfg.plans.get(name)
        return plan.fast if plan is not None else None

    def enabled_events(self) -> list[str]:
        """Event names that would trigger a transition now (guards evaluated with the event
        as ``_event``; side-effect free: what a guard raises counts as false)."""
        out: list[str] = []
        seen: set[str] = set()
        for node in self.cfg.ordered:
            for t in node.transitions:
                for d in t.descriptors:
                    if d in seen or d == "*" or d.startswith("$"):
                        continue
                    if t.cond is not None:
                        saved_event, saved_internal = self.event, len(self.internal)
                        self.event = EventData(d)
                        try:
                            ok = bool(t.cond(self))
                        except Exception:
                            ok = False
                        self.event = saved_event
                        while len(self.internal) > saved_internal:
                            self.internal.pop()
                        if not ok:
                            continue
                    seen.add(d)
                    out.append(d)
        return out

    def start_record(self) -> None:
        """Collect the microsteps of the next macrostep, for :meth:`step_record` (which
        stops collecting)."""
        # the Rare's field written directly, not through its descriptor: a traced actor
        # does this every step (issue 16: the descriptor calls were ~1 us of a traced step)
        x = self.x
        if x.shared:
            x = self._own()
        x.record = []

    def step_record(
        self, actor: str, event: EventData | None, before: tuple[str, ...], duration: float
    ) -> MacrostepRecord:
        """The record of the macrostep just taken (with ``record`` collecting microsteps,
        see :meth:`start_record`), for a driver's listeners. Stops collecting."""
        x = self.x
        cfg = self.cfg
        chart = cfg.tables.chart
        record = x.record
        if record is not None:
            x.record = None  # (not None: this engine's Rare is its own)
        return MacrostepRecord(
            actor=actor,
            ts=self.now,
            chart_id=chart.id,
            chart_version=chart.version,
            event=event,
            microsteps=tuple(record or ()),
            configuration_before=before,
            configuration_after=cfg.ids,
            duration=duration,
            version=self.version,
            errors=tuple(x.errors),
            effects=tuple(x.effects),
        )

    def take_timer(self, sendid: str) -> DelayedEvent | None:
        """A timer fired: drop it from ``pending`` (rescheduling ``every`` timers)."""
        de = self.x.pending.pop(sendid, None)
        if de is not None and de.repeat:
            due = max(de.due + de.repeat, self.now)
            nd = DelayedEvent(sendid, due, de.event, de.target, de.repeat)
            self._pending()[sendid] = nd
            self._emit(ScheduleEffect(sendid, due, de.event, de.target))
        return de

    def start(self, provided: dict[str, Any] | None) -> None:
        """Initialize the datamodel, run top-level scripts, enter the initial configuration."""
        chart = self.cfg.tables.chart
        if chart.binding == "early":
            self.init_data(chart.all_data, provided)
        else:
            self.init_data(chart.root.data, provided)
        if provided:
            for k, v in provided.items():
                self.context.setdefault(k, v)
        if chart.scripts:
            self.run_block(chart.scripts)
        init = chart.root.initial
        assert init is not None
        self.microstep(self._micro((init,)))
        self.run_to_completion()

    def start_invokes(self) -> None:
        """Start the invocations of states entered in this macrostep (entry order)."""
        x = self._own()
        nodes = sorted(set(x.to_invoke), key=_doc_order)
        x.to_invoke = _NO_NODES
        members = self.cfg.members
        for node in nodes:
            if node not in members:
                continue
            for i, inv in enumerate(node.invokes):
                self.start_invoke(node, i, inv)

    def start_invoke(self, node: Node, index: int, inv: InvokeSpec) -> None:
        """Evaluate one ``<invoke>`` and emit the effect starting it."""
        if inv.id:
            invokeid = inv.id
        else:
            x = self._own()
            x.send_counter += 1
            invokeid = f"{node.id}.{self.session_id[:8] or 'inv'}{x.send_counter}"
        try:
            if inv.idlocation:
                self.context[inv.idlocation] = invokeid
            src = inv.src_expr(self) if inv.src_expr is not None else inv.src
            typ = inv.type_expr(self) if inv.type_expr is not None else inv.type
            data = inv.params(self) if inv.params is not None else None
        except Exception as exc:
            self.raise_error(exc)
            return
        rec = InvocationRecord(invokeid, node.id, index)
        x = self._own()
        if x.invocations is _NO_INVOCATIONS:
            x.invocations = {}
        x.invocations[invokeid] = (rec, inv)
        self._emit(InvokeEffect(invokeid, node.id, src, typ, data, inv.autoforward, inv.kind))

    def cancel_invokes(self, node: Node) -> None:
        """Cancel the invocations owned by ``node`` (it is exiting)."""
        # (the Rare read directly: a Rare holding invocations is this engine's own)
        invocations = self.x.invocations
        for invokeid, (rec, _spec) in tuple(invocations.items()):
            if rec.state == node.id:
                del invocations[invokeid]
                self._emit(CancelInvokeEffect(invokeid, node.id))

    def exit_interpreter(self) -> None:
        """The chart reached a top-level final state: run the remaining onexit handlers in
        exit order and cancel invocations. The configuration is kept for inspection."""
        if self.status == "done":
            return
        self.status = "done" if self.status != "error" else self.status
        final_cfg = self.cfg
        for node in reversed(final_cfg.ordered):
            for block in node.onexit:
                self.run_block(block)
            if node.invokes and self.invocations:
                self.cancel_invokes(node)
        for sid in list(self.pending):
            self.cancel(sid)
        x = self.x
        if x.internal:  # (then x is private)
            x.internal = _NO_EVENTS
        self.cfg = final_cfg

    def stamp_trace(self, headers: dict[str, str]) -> None:
        """Attach trace headers to the events this macrostep sends or schedules (also in
        ``pending``, so they survive snapshots); events that already carry some keep theirs."""
        out: list[Effect] = []
        for e in self.effects:
            if isinstance(e, SendEffect) and e.event.trace is None:
                e = SendEffect(msgspec.structs.replace(e.event, trace=headers), e.target, e.type)
            elif isinstance(e, ScheduleEffect) and e.event.trace is None:
                ev = msgspec.structs.replace(e.event, trace=headers)
                e = ScheduleEffect(e.sendid, e.due, ev, e.target)
                de = self.pending.get(e.sendid)
                if de is not None:
                    self.pending[e.sendid] = msgspec.structs.replace(de, event=ev)
            out.append(e)
        self.effects = out

    # -- snapshots --------------------------------------------------------------------------
    def to_snapshot(self, context: dict[str, Any] | None = None) -> Snapshot:
        """The current state as an immutable :class:`Snapshot`; ``context``: the datamodel
        to put in it instead of the live one (a driver's copy: one struct built, not two)."""
        # built directly, not as ``snapshot_of(checkpoint(...))``: no intermediate tuple to
        # build and unpack, and the fields that are usually empty are left to their defaults
        # when they are (an actor's ``ask`` reply: ~40% of building it, issue 16)
        chart = self.cfg.tables.chart
        if context is None:
            context = self.context
        x = self.x
        if x.history or x.pending or x.invocations or x.bound or x.done_data is not None:
            return self.snapshot_of(self.checkpoint(context))
        return Snapshot(
            chart_id=chart.id,
            chart_version=chart.version,
            configuration=self.cfg.ids,
            context=context,
            status=x.status,
            version=self.version,
            session_id=self.session_id,
            send_counter=x.send_counter,
        )

    def checkpoint(self, context: dict[str, Any]) -> RawCheckpoint:
        """The fields a :class:`Snapshot` is made of, with ``context`` (a driver's copy) as
        its datamodel, copied where a step mutates them in place: later steps cannot change
        it. Cheaper than a snapshot (~half): an actor's crash checkpoint, taken before each
        step and turned into a snapshot (:meth:`snapshot_of`) only when a crash needs it."""
        x = self.x
        invocations = x.invocations
        pending = x.pending
        # no copy calls and no generator for the usual empty ones (an actor's crash
        # checkpoint and ask reply: ~25% of it)
        return (
            self.cfg,
            context,
            dict(x.history) if x.history else {},
            x.status,
            tuple(pending.values()) if pending else (),
            tuple(r for r, _ in invocations.values()) if invocations else (),
            self.version,
            self.session_id,
            x.send_counter,
            tuple(sorted(x.bound)) if x.bound else (),
            x.done_data,
        )

    def snapshot_of(self, ckpt: RawCheckpoint) -> Snapshot:
        """The :class:`Snapshot` of a :meth:`checkpoint` of this engine."""
        (cfg, context, history, status, pending, invocations, version, session_id, counter,
         bound, done_data) = ckpt  # fmt: skip
        return Snapshot(
            chart_id=self.cfg.tables.chart.id,
            chart_version=self.cfg.tables.chart.version,
            configuration=cfg.ids,
            context=context,
            history=history,
            status=status,
            pending=pending,
            invocations=invocations,
            version=version,
            session_id=session_id,
            send_counter=counter,
            bound=bound,
            done_data=done_data,
        )

    def load_snapshot(self, snap: Snapshot, nodes: Iterable[Node]) -> None:
        """Load a validated snapshot (see ``Chart.restore``)."""
        self.cfg = self.cfg.tables.intern(frozenset(nodes))
        self.context = snap.context
        if snap.status != "active":
            self.attention = True
        self.version = snap.version
        self.session_id = snap.session_id
        # the rare fields are written only when they differ from a fresh engine's: a
        # restored idle actor keeps the shared Rare
        if (
            snap.history
            or snap.status != "active"
            or snap.pending
            or snap.send_counter
            or snap.bound
            or snap.done_data is not None
            or snap.invocations
            or not self.x.shared
        ):
            x = self._own()
            x.history = dict(snap.history) if snap.history else _NO_HISTORY
            x.status = snap.status
            x.running = snap.status == "active"
            x.pending = {d.sendid: d for d in snap.pending} if snap.pending else _NO_PENDING
            x.send_counter = snap.send_counter
            x.bound = set(snap.bound) if snap.bound else None
            x.done_data = snap.done_data
            x.invocations = {} if snap.invocations else _NO_INVOCATIONS
            for rec in snap.invocations:
                node = self.cfg.tables.chart.nodes_by_id[rec.state]
                x.invocations[rec.invokeid] = (rec, node.invokes[rec.index])


def find_lcca(states: list[Node]) -> Node:
    """SCXML ``findLCCA``: the least common compound ancestor (the root at worst)."""
    head, tail = states[0], states[1:]
    if not head.ancestors:
        return head  # the root's own initial transition
    for anc in head.ancestors:
        if (anc.is_compound or anc.parent is None) and all(s.is_descendant_of(anc) for s in tail):
            return anc
    return head.ancestors[-1]
