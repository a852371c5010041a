"""The readers' format-neutral model of a chart, and the one step lowering it to the core.

A reader (XState dicts/JSON, the hsm builder, ...) parses its own syntax and maps it to this
model: states with their ids (already checked and resolved by the reader: each format names
states its own way), transitions, timers, invocations and data, where every piece of user code
is a :class:`Ref` -- a *name* to bind (``"notify"``, ``"isValid"``, a delay ``"SHORT"``) or a
callable written in place -- carrying its element path and source line. :func:`lower` then
does, once for every format, what turns the model into a core :class:`~statefleet.core.ChartSpec`:

- binds every name through the one :class:`~statefleet.formats._resolve.Resolver` (or leaves
  it to the format's late binding: pystator binds registries after loading);
- adapts every implementation to the core's one-argument callables with the format's
  adapters (its call-form table, :func:`~statefleet.formats._resolve.adapt_positional`);
- reads every literal delay with :func:`~statefleet.formats._resolve.parse_duration`;
- makes each timer a core :class:`~statefleet.core.AfterSpec` (an event name and the guarded
  transitions it tries in order);
- collects every problem in the one :class:`~statefleet.formats._resolve.Problems`, with its
  path and line, so a definition reports all its errors at once.

Nothing here knows a format's syntax; the format's differences are data: its adapters
(:class:`Binding`), its message for a name found nowhere and for an invalid delay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from statefleet.core import (
    ActionContext,
    AfterSpec,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
)
from statefleet.formats._input import shown
from statefleet.formats._resolve import MISSING, Kind, Problems, Resolver, parse_duration

__all__ = [
    "Binding",
    "Chart",
    "Data",
    "Invoke",
    "Ref",
    "State",
    "Timer",
    "Transition",
    "lower",
]

#: a format's adapter for one kind: (implementation found, its reference) -> what the core
#: runs (a one-argument callable; for a delay, seconds or a callable returning them); raises
#: ValueError with the problem's message when the implementation does not fit
Adapter = Callable[[Any, "Ref"], Any]


@dataclass(slots=True)
class Ref:
    """A reference to user code: a ``name`` to bind or an implementation ``fn`` given in place.

    ``params`` are what the chart declares with it (XState's ``{"type": name, ...}`` keys);
    ``label`` is what diagrams and traces show for a guard (default: the name). With
    ``core=True``, ``fn`` is already a core callable (a reader's own check, such as XState's
    ``in`` state guard) and is used as is. ``order`` is how many problems the reader had
    found when it read the reference: a problem binding it is reported in that place.
    """

    kind: Kind
    name: str
    fn: Any = MISSING
    params: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""
    line: int | None = None
    label: str | None = None
    core: bool = False
    order: int | None = None


@dataclass(slots=True)
class Transition:
    """A transition: event names (empty: eventless), target state ids (empty: targetless),
    guards (all must hold, tried in order), actions; ``exact`` matches its event names
    exactly instead of by dotted prefix. ``guard_label`` is what diagrams show for the guards
    (default: their labels joined with " and ", a core ref's only when it has one)."""

    events: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    guards: list[Ref] = field(default_factory=list)
    actions: list[Ref] = field(default_factory=list)
    type: Literal["external", "internal"] = "external"
    #: run before the exits when taken (pystator merges the event's payload into the context)
    before: list[Ref] = field(default_factory=list)
    exact: bool = False
    guard_label: str | None = None
    name: str | None = None
    path: str = ""
    line: int | None = None


@dataclass(slots=True)
class Timer:
    """A delayed transition (``after``/``every``): when its state is entered, ``event`` is
    scheduled ``delay`` later and the ``transitions`` are tried in order when it fires.

    ``delay`` is a literal (a number in ``unit``, or a string like ``"5s"`` when ``strings``)
    or a :class:`Ref` of kind ``"delay"`` (a name or a function). ``invalid`` is the format's
    message for a bad literal, ``{value}`` standing for it.
    """

    delay: Any
    transitions: list[Transition] = field(default_factory=list)
    unit: str = "s"
    repeat: bool = False
    event: str | None = None
    strings: bool = True
    invalid: str = "invalid delay {value}"
    path: str = ""
    line: int | None = None
    order: int | None = None


@dataclass(slots=True)
class Invoke:
    """An invocation: ``src`` is a :class:`Ref` of kind ``"service"`` or a value the core runs
    as is (a compiled chart, an activity); ``params`` computes its input."""

    src: Any
    id: str | None = None
    params: Ref | None = None
    autoforward: bool = False
    kind: Literal["service", "activity"] = "service"
    path: str = ""
    line: int | None = None


@dataclass(slots=True)
class Data:
    """A datamodel item: a value, or a ``fn`` computing it (a core callable)."""

    name: str
    value: Any = None
    fn: Callable[[ActionContext], Any] | None = None


@dataclass(slots=True)
class State:
    """One state (or history pseudo-state), its id already resolved by the reader."""

    id: str
    kind: Literal["state", "parallel", "final", "history"] = "state"
    children: list[State] = field(default_factory=list)
    initial: tuple[str, ...] | None = None
    initial_actions: list[Ref] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    entry: list[list[Ref]] = field(default_factory=list)
    exit: list[list[Ref]] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    invokes: list[Invoke] = field(default_factory=list)
    history: Literal["shallow", "deep"] = "shallow"
    donedata: Ref | None = None
    path: str = ""
    line: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Chart:
    """A whole chart in the readers' model."""

    id: str
    states: list[State] = field(default_factory=list)
    initial: tuple[str, ...] | None = None
    initial_actions: list[Ref] = field(default_factory=list)
    data: list[Data] = field(default_factory=list)
    version: str | None = None
    name: str | None = None
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _all_of(conds: tuple[Callable[[ActionContext], Any], ...]) -> Callable[[ActionContext], Any]:
    if len(conds) == 2:
        first, second = conds

        def both(ctx: ActionContext) -> Any:
            return first(ctx) and second(ctx)

        return both

    def every(ctx: ActionContext) -> Any:
        result: Any = True
        for cond in conds:
            result = cond(ctx)
            if not result:
                return result
        return result

    return every


@dataclass(slots=True)
class Binding:
    """How a format binds its references: where names are found (``resolver``; None: the
    adapters bind late themselves), the ``adapters`` of each kind, and the format's message
    for a name found nowhere (default: the resolver's, with its did-you-mean)."""

    resolver: Resolver | None
    adapters: Mapping[Kind, Adapter]
    unknown: Callable[[Ref], str] | None = None


class _Lowering:
    __slots__ = ("binding", "problems")

    def __init__(self, binding: Binding, problems: Problems) -> None:
        self.binding = binding
        self.problems = problems

    def bind(self, ref: Ref) -> Any:
        """What the core runs for ``ref``, or None (a problem is recorded)."""
        if ref.core:
            return ref.fn
        binding = self.binding
        fn = ref.fn
        if fn is MISSING and binding.resolver is not None:
            fn = binding.resolver.find(ref.kind, ref.name, ref.path)
            if fn is MISSING:
                message = (
                    binding.unknown(ref)
                    if binding.unknown is not None
                    else binding.resolver.unknown(ref.kind, ref.name)
                )
                self.problems.add(ref.path, message, ref.line, before=ref.order)
                return None
        try:
            return binding.adapters[ref.kind](fn, ref)
        except ValueError as exc:
            self.problems.add(ref.path, str(exc), ref.line, before=ref.order)
            return None

    def block(self, refs: Sequence[Ref]) -> tuple[Any, ...]:
        if not refs:  # most blocks of a chart are empty
            return ()
        out: list[Any] = []
        for ref in refs:
            bound = self.bind(ref)
            if bound is not None:
                out.append(bound)
        return tuple(out)

    def transition(self, t: Transition) -> TransitionSpec:
        # in the order readers read them; most are empty (no call then: charts are big)
        actions = self.block(t.actions) if t.actions else ()
        conds = self.block(t.guards) if t.guards else ()
        cond = None if not conds else conds[0] if len(conds) == 1 else _all_of(conds)
        label = t.guard_label
        if label is None and t.guards:
            # a reader's own checks (core refs) show only when they carry a label
            shown_ = [g.label or g.name for g in t.guards if not g.core or g.label]
            label = " and ".join(shown_) or None
        return TransitionSpec(
            event=t.events,
            target=t.targets,
            cond=cond,
            type=t.type,
            actions=actions,
            before=self.block(t.before) if t.before else (),
            path=t.path,
            line=t.line,
            cond_label=label,
            name=t.name,
            exact=t.exact,
        )

    def delay(self, timer: Timer) -> Any:
        """Seconds, a callable computing them, or None (a problem is recorded)."""
        raw = timer.delay
        if isinstance(raw, Ref):
            return self.bind(raw)
        if hasattr(raw, "total_seconds") and not isinstance(raw, str):
            raw = raw.total_seconds()
        seconds: float | None = None
        if timer.strings or not isinstance(raw, str):
            try:
                seconds = parse_duration(raw, timer.unit)
            except ValueError:
                seconds = None
        if seconds is None or (timer.repeat and seconds == 0):
            message = timer.invalid.format(value=shown(raw))
            self.problems.add(timer.path, message, timer.line, before=timer.order)
            return None
        return seconds

    def timer(self, timer: Timer) -> AfterSpec | None:
        delay = self.delay(timer)
        transitions = [self.transition(t) for t in timer.transitions]
        if delay is None or not transitions:
            return None
        return AfterSpec(
            delay=delay, repeat=timer.repeat, event=timer.event, transitions=transitions
        )

    def invoke(self, inv: Invoke) -> InvokeSpec | None:
        src = self.bind(inv.src) if isinstance(inv.src, Ref) else inv.src
        params = self.bind(inv.params) if inv.params is not None else None
        if src is None:
            return None
        return InvokeSpec(
            id=inv.id,
            src=src,
            params=params,
            autoforward=inv.autoforward,
            kind=inv.kind,
            path=inv.path,
            line=inv.line,
        )

    def state(self, s: State) -> StateSpec:
        # in the order readers read a state's parts: problems of equal rank keep it
        initial_actions = self.block(s.initial_actions)
        onentry = [b for b in (self.block(refs) for refs in s.entry) if b]
        onexit = [b for b in (self.block(refs) for refs in s.exit) if b]
        transitions = [self.transition(t) for t in s.transitions]
        timers = [self.timer(t) for t in s.timers]
        invokes = [self.invoke(i) for i in s.invokes]
        donedata = self.bind(s.donedata) if s.donedata is not None else None
        return StateSpec(
            id=s.id,
            kind=s.kind,
            children=[self.state(c) for c in s.children],
            initial=s.initial,
            initial_actions=initial_actions,
            transitions=transitions,
            onentry=onentry,
            onexit=onexit,
            history=s.history,
            donedata=donedata,
            invokes=[i for i in invokes if i is not None],
            after=[t for t in timers if t is not None],
            path=s.path,
            line=s.line,
            meta=s.meta,
        )


def lower(chart: Chart, binding: Binding, problems: Problems) -> ChartSpec:
    """The core :class:`~statefleet.core.ChartSpec` for ``chart``: every name bound, every
    implementation adapted, every delay read; each problem is added to ``problems`` (the
    caller raises them, with its own, through :meth:`Problems.raise_if_any`)."""
    lowering = _Lowering(binding, problems)
    spec = ChartSpec(
        id=chart.id,
        states=[lowering.state(s) for s in chart.states],
        initial=chart.initial,
        initial_actions=lowering.block(chart.initial_actions),
        data=[DataSpec(name=d.name, value=d.value, expr=d.fn) for d in chart.data],
        path=chart.path,
        meta=chart.meta,
        name=chart.name,
    )
    if chart.version is not None:
        spec.version = chart.version
    return spec
