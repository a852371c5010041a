"""The definition model: what every reader (class DSL, dict/JSON, YAML, SCXML, builder) builds.

A reader produces a tree of :class:`StateSpec` wrapped in a :class:`ChartSpec`; the compiler
(:func:`statefleet.core.compile_chart`) validates it and turns it into an immutable
:class:`~statefleet.core.Chart`. Specs are plain, mutable dataclasses so readers can build them
incrementally; nothing in them is looked up by name at step time.

Executable content is represented by Python callables taking the interpreter's
:class:`~statefleet.core.ActionContext`: an *action* returns ``None`` (or an awaitable, which the
engine hands to the driver as an effect instead of awaiting it), a *guard* returns a truthy
value. A *block* is a tuple of actions executed in order; an exception stops the block and
becomes ``error.execution`` (SCXML 4.1 / seed 000 semantics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from statefleet.core._algorithm import ActionContext

__all__ = [
    "Action",
    "AfterSpec",
    "Block",
    "ChartSpec",
    "DataSpec",
    "Guard",
    "InvokeSpec",
    "StateSpec",
    "TransitionSpec",
]

Action = Callable[["ActionContext"], Any]
Guard = Callable[["ActionContext"], Any]
Block = tuple[Action, ...]
StateKind = Literal["state", "parallel", "final", "history"]


@dataclass
class TransitionSpec:
    """A transition as declared.

    ``event`` holds SCXML event descriptors (empty: eventless). ``target`` holds state ids
    (empty: targetless). ``type`` is ``"external"`` (default) or ``"internal"``. ``actions``
    is the transition's executable content. ``before``/``after`` are blocks run before the
    exits and after the entries of the microstep (the class DSL's ``before_``/``after_``
    callbacks; ``after`` runs even when an earlier block failed, making it a finalize hook).
    """

    event: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    cond: Guard | None = None
    type: Literal["external", "internal"] = "external"
    actions: Block = ()
    before: Block = ()
    after: Block = ()
    path: str = ""
    line: int | None = None
    #: a readable label for diagrams and traces (``"[is_ready]"``), optional
    cond_label: str | None = None
    #: the name of the declaring event in the class DSL, optional
    name: str | None = None
    #: match event names exactly instead of by dotted prefix (``after`` timers use this, so a
    #: parent's timer never catches a child's when state ids are dotted paths)
    exact: bool = False


@dataclass
class AfterSpec:
    """A delayed transition declared on a state (``after``/``every``/``timeout``).

    When the state is entered, an event is scheduled ``delay`` seconds later (``delay`` may be
    a callable evaluated at entry); leaving the state cancels it. ``repeat`` reschedules it
    every time it fires while the state stays active (seed 004's ``every``).

    ``transition`` is what the timer does when it fires; ``transitions`` lists more of them,
    tried after it in order (XState's guarded list on one delay: the first enabled one is
    taken). ``event`` names the event the timer sends (default ``$after.<i>.<state id>``, the
    i-th timer of the state); a name must be unique in the chart.
    """

    delay: float | Callable[[ActionContext], float]
    transition: TransitionSpec | None = None
    repeat: bool = False
    event: str | None = None
    transitions: list[TransitionSpec] = field(default_factory=list)


@dataclass
class InvokeSpec:
    """An invocation owned by a state (started after the macrostep entering it).

    ``src`` is what to run: a compiled chart, an async function, an async iterator factory,
    a callback service or anything a driver knows; ``src_expr`` computes it at invoke time.
    ``params`` computes the data handed to the invoked service (SCXML namelist/param/content).
    """

    id: str | None = None
    idlocation: str | None = None
    src: Any = None
    src_expr: Callable[[ActionContext], Any] | None = None
    type: str | None = None
    type_expr: Callable[[ActionContext], Any] | None = None
    params: Callable[[ActionContext], Any] | None = None
    autoforward: bool = False
    finalize: Block = ()
    #: ``"service"`` (done/error when it ends) or ``"activity"`` (runs while the state is active)
    kind: Literal["service", "activity"] = "service"
    path: str = ""
    line: int | None = None


@dataclass
class DataSpec:
    """A datamodel item: its initial value, or an expression computing it."""

    name: str
    value: Any = None
    expr: Callable[[ActionContext], Any] | None = None
    path: str = ""
    line: int | None = None


@dataclass
class StateSpec:
    """One state (or history pseudo-state) of a chart definition."""

    id: str
    kind: StateKind = "state"
    children: list[StateSpec] = field(default_factory=list)
    #: ids of the initial targets (SCXML ``initial`` attribute / ``<initial>`` target)
    initial: tuple[str, ...] | None = None
    #: executable content of an ``<initial>`` transition
    initial_actions: Block = ()
    transitions: list[TransitionSpec] = field(default_factory=list)
    onentry: list[Block] = field(default_factory=list)
    onexit: list[Block] = field(default_factory=list)
    #: ``"shallow"`` or ``"deep"``, for history states
    history: Literal["shallow", "deep"] = "shallow"
    donedata: Callable[[ActionContext], Any] | None = None
    invokes: list[InvokeSpec] = field(default_factory=list)
    data: list[DataSpec] = field(default_factory=list)
    after: list[AfterSpec] = field(default_factory=list)
    path: str = ""
    line: int | None = None
    #: free-form metadata (a display name, a value for the class DSL, tags...)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChartSpec:
    """A whole chart: the root state's children plus chart-wide settings."""

    id: str
    states: list[StateSpec] = field(default_factory=list)
    initial: tuple[str, ...] | None = None
    initial_actions: Block = ()
    version: str = "1"
    data: list[DataSpec] = field(default_factory=list)
    #: SCXML ``binding``: ``"early"`` initializes all data at start, ``"late"`` on first entry
    binding: Literal["early", "late"] = "early"
    #: actions run once when the chart starts, before the initial entry (SCXML top ``<script>``)
    scripts: Block = ()
    #: the root's own transitions are not allowed; the root can carry donedata-less finals only
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    #: a name for ``_name`` (defaults to ``id``)
    name: str | None = None
    max_microsteps: int = 10_000
