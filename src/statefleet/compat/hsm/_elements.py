"""hsm's definition elements the builder does not model, lowered onto core features.

The functional builder (:mod:`statefleet.formats._builder`) reads ``state``, ``transition``,
``on``, ``after``... This module adds what stateforward hsm has on top, without a second
reader: :func:`define` rewrites the elements below into builder elements, lets the builder
compile the chart, then adds what is left to the compiled chart's spec.

- ``Defer(*events)`` in a state: a targetless transition on those events, last among the
  state's own transitions, that keeps the event in the datamodel (``$hsm.deferred``). The
  SCXML selection order (a state's transitions, then its deferral, then its parent's) is
  exactly hsm's lookup from the leaf outwards. When the deferring state exits it raises the
  kept events again, so the next configuration handles them (or defers them again).
- ``Attribute(name, default)``: a datamodel item (``DataSpec``) holding the default; the
  runtime reads and writes it with ``Get``/``Set`` (see ``_attributes``).
- ``OnSet(name)`` / ``When("name")``: ``on("/<machine>/<name>")``, the attribute's change
  event.
- ``When(condition)``: an activity of the source state that awaits the condition (an
  awaitable, an object with ``wait()``, or a truthy value, re-checked on every attribute
  change while falsy) and then dispatches the transition's own event.
- ``After("name")``, ``Every("name")``, ``At("name")``: a timer whose duration (or instant)
  is the attribute's value when the state is entered.
"""

from __future__ import annotations

import copy
import datetime
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ClassVar

from statefleet.compat.hsm._attributes import attribute_value, change_event
from statefleet.compat.hsm._operations import call_event, named_behaviour
from statefleet.compat.hsm._runtime import DEFERRED_KEY, Instance, stepping
from statefleet.core import (
    ActionContext,
    Chart,
    ChartDefinitionError,
    DataSpec,
    StatefleetError,
    StateSpec,
    TransitionSpec,
    compile_chart,
)
from statefleet.formats import _builder as builder
from statefleet.formats._builder import Behavior, Context, Element, Event

__all__ = [
    "Activity",
    "activity",
    "after",
    "at",
    "attribute",
    "defer",
    "define",
    "every",
    "on_set",
    "state",
    "transition",
    "when",
]


# -- the elements ------------------------------------------------------------------------------
class _Extra(Element):
    """An element only this module understands (:func:`define` lowers it)."""

    __slots__ = ()
    what: ClassVar[str] = "element"


@dataclass(frozen=True, slots=True)
class _State(_Extra):
    name: Any
    children: tuple[Any, ...]
    what: ClassVar[str] = "state()"


@dataclass(frozen=True, slots=True)
class _Transition(_Extra):
    parts: tuple[Any, ...]
    what: ClassVar[str] = "transition()"


@dataclass(frozen=True, slots=True)
class _Defer(_Extra):
    events: tuple[Any, ...]
    what: ClassVar[str] = "defer()"


@dataclass(frozen=True, slots=True)
class _Attribute(_Extra):
    name: Any
    default: Any
    what: ClassVar[str] = "attribute()"


@dataclass(frozen=True, slots=True)
class _OnSet(_Extra):
    name: Any
    what: ClassVar[str] = "on_set()"


@dataclass(frozen=True, slots=True)
class _Named(_Extra):
    """Behaviours (or a guard) some of which are operation names, resolved by define()."""

    role: str
    items: tuple[Any, ...]

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"{self.role}()"


@dataclass(frozen=True, slots=True)
class _Operation(_Extra):
    name: Any
    callback: Any
    what: ClassVar[str] = "operation()"


@dataclass(frozen=True, slots=True)
class _OnCall(_Extra):
    name: Any
    what: ClassVar[str] = "on_call()"


@dataclass(frozen=True, slots=True)
class _When(_Extra):
    condition: Any
    what: ClassVar[str] = "when()"


@dataclass(frozen=True, slots=True)
class _AttributeTimer(_Extra):
    kind: str
    name: str

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"{self.kind}({self.name!r})"


class _ActivityType(type):
    """``hsm.Activity(fn, ...)`` is hsm's element; ``isinstance(src, hsm.Activity)`` still
    recognises the activity source the builder puts in an ``InvokeSpec``."""

    def __call__(cls, *fns: Behavior | str) -> Element:
        if any(isinstance(f, str) for f in fns):
            return _Named("activity", fns)  # operation names: resolved by define()
        return builder.activity(*(f for f in fns if not isinstance(f, str)))

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, builder.Activity)


class Activity(metaclass=_ActivityType):
    """hsm's ``Activity(*fns)``: behaviours run while the enclosing state is active and
    cancelled when it exits (the builder's ``activity``). An activity source found in a
    chart's ``InvokeSpec`` is an instance of this class."""


#: ``hsm.activity`` is ``hsm.Activity``
activity = Activity


def _in_order(fn: Any) -> Any:
    """``fn`` as a behaviour that keeps hsm's order under ``hsm.start``.

    The step runs plain behaviours at once and leaves the awaitables of ``async def`` ones
    to the machine, which awaits them after the step. hsm awaits each behaviour before the
    next, so once an awaitable is waiting, a plain behaviour of the same step waits its turn
    too: it runs, in order, after the awaitables before it. The initial event carries the
    machine's startup data (``Config(data=...)``, ``Restart(data)``).
    """
    fn = builder.unwrap_callable(fn)
    if not callable(fn):
        return fn  # the builder reports it

    @functools.wraps(fn)
    def ordered(ctx: Context, instance: Any, event: Event) -> Any:
        sm = stepping.get()
        if sm is None:
            return fn(ctx, instance, event)
        event = sm.view(event)
        if sm.behind:
            return _later(fn, ctx, instance, event)
        return fn(ctx, instance, event)

    return ordered


async def _later(fn: Behavior, ctx: Context, instance: Any, event: Event) -> None:
    result = fn(ctx, instance, event)
    if inspect.isawaitable(result):
        await result


_BEHAVIOURS = {"entry": builder.entry, "exit": builder.exit, "effect": builder.effect}


def _behaviours(role: str, fns: tuple[Behavior | str, ...]) -> Element:
    if any(isinstance(f, str) for f in fns):
        return _Named(role, fns)  # operation names: resolved by define()
    return _BEHAVIOURS[role](*map(_in_order, fns))


def entry(*fns: Behavior | str) -> Element:
    """Behaviours run when the enclosing state is entered, in order (see ``_in_order``); a
    string names an ``operation()``."""
    return _behaviours("entry", fns)


def exit(*fns: Behavior | str) -> Element:
    """Behaviours run when the enclosing state is exited, in order (see ``_in_order``); a
    string names an ``operation()``."""
    return _behaviours("exit", fns)


def effect(*fns: Behavior | str) -> Element:
    """Behaviours run when the transition is taken (or by an ``initial``), in order; a
    string names an ``operation()``."""
    return _behaviours("effect", fns)


def guard(fn: Behavior | str) -> Element:
    """The transition's guard (see the builder's ``guard``); a string names an
    ``operation()``, called with the event."""
    if isinstance(fn, str):
        return _Named("guard", (fn,))
    return builder.guard(_seeing(fn))


def _seeing(fn: Any) -> Any:
    """``fn`` as a guard that sees the event as behaviours do under ``hsm.start`` (with
    its kind and the startup data)."""
    fn = builder.unwrap_callable(fn)
    if not callable(fn):
        return fn  # the builder reports it

    @functools.wraps(fn)
    def guard(ctx: Context, instance: Any, event: Event) -> Any:
        sm = stepping.get()
        return fn(ctx, instance, event if sm is None else sm.view(event))

    return guard


def operation(name: str, callback: Any = None) -> Element:
    """Declare the machine operation ``name`` (hsm's ``Operation``): ``callback``, or the
    instance's method of that name. ``Call`` calls it; behaviours may name it."""
    return _Operation(name, callback)


def on_call(name: str) -> Element:
    """Trigger a transition when operation ``name`` is called with ``Call`` (hsm's
    ``OnCall``)."""
    return _OnCall(name)


def initial(*parts: Element | Behavior) -> Element:
    """The default entry of the enclosing state (see the builder's ``initial``)."""
    return builder.initial(*(p if isinstance(p, Element) else _in_order(p) for p in parts))


def state(name: str, *children: Element) -> Element:
    """A state named ``name`` (see the builder's ``state``); it may also hold ``defer()``
    and transitions using ``on_set()``, ``when()`` or attribute timers."""
    if any(isinstance(c, _Extra) for c in children):
        return _State(name, children)
    return builder.state(name, *children)


def transition(*parts: Element) -> Element:
    """A transition (see the builder's ``transition``); its triggers may also be
    ``on_set(name)``, ``when(...)`` and ``after``/``every``/``at`` of an attribute name."""
    if any(isinstance(p, _Extra) for p in parts):
        return _Transition(parts)
    return builder.transition(*parts)


def defer(*events: str | Event) -> Element:
    """Defer these events while the enclosing state is active (hsm's ``Defer``): an event
    no transition of the active states takes before this state's deferral is kept, and
    dispatched again when the state exits."""
    return _Defer(events)


def attribute(name: str, default: Any = None) -> Element:
    """Declare the machine attribute ``name`` with its ``default`` (hsm's ``Attribute``);
    read and write it with ``hsm.Get``/``hsm.Set``."""
    return _Attribute(name, default)


def on_set(name: str) -> Element:
    """Trigger a transition when attribute ``name`` changes value (hsm's ``OnSet``)."""
    return _OnSet(name)


def when(condition: str | Behavior) -> Element:
    """Trigger a transition when ``condition`` holds (hsm's ``When``).

    ``when("name")`` is ``on_set("name")``. ``when(fn)`` calls ``fn(ctx, instance, event)``
    when the source state is entered; the transition fires once what it returns completes
    (an awaitable, or an object with ``wait()`` such as an event), or at once if it returns
    a truthy value; a falsy value is asked again on every attribute change. Leaving the
    state stops waiting. Runs under ``hsm.start``.
    """
    return _When(condition)


def after(duration: float | timedelta | Behavior | str) -> Element:
    """A one-shot timer (see the builder's ``after``); a string names an attribute whose
    value is the duration."""
    if isinstance(duration, str):
        return _AttributeTimer("after", duration)
    return builder.after(duration)


def every(duration: float | timedelta | Behavior | str) -> Element:
    """A repeating timer (see the builder's ``every``); a string names an attribute whose
    value is the period."""
    if isinstance(duration, str):
        return _AttributeTimer("every", duration)
    return builder.every(duration)


def at(when: datetime.datetime | Behavior | str) -> Element:
    """A time trigger at the wall-clock instant ``when`` (a ``datetime``, a behaviour
    returning one, or the name of an attribute holding one), measured when the state is
    entered: hsm's ``At``. A past instant fires at once."""
    if isinstance(when, str):
        return _AttributeTimer("at", when)
    if not callable(when) and not isinstance(when, datetime.datetime):
        raise ChartDefinitionError(
            f"at() takes a datetime or a behaviour returning one, not {type(when).__name__}",
            path="at",
        )
    return builder.after(_seconds_until(when))


def _seconds_until(when: datetime.datetime | Behavior) -> Behavior:
    def seconds_until(ctx: Context, instance: Any, event: Event) -> float:
        moment = when(ctx, instance, event) if callable(when) else when
        if inspect.iscoroutine(moment):
            moment = builder.resolve_now(moment, "at()")
        if not isinstance(moment, datetime.datetime):
            raise StatefleetError(f"hsm.at() needs a datetime, got {type(moment).__name__}")
        now = datetime.datetime.now(moment.tzinfo)
        return max(0.0, (moment - now).total_seconds())

    return seconds_until


# -- lowering ----------------------------------------------------------------------------------
def define(name: str, *elements: Element) -> Chart:
    """Define a machine (hsm's ``Define``): the builder's ``define``, plus ``defer``,
    attributes, ``on_set``, ``when`` and attribute timers (see the module docstring)."""
    if not any(isinstance(e, _Extra) for e in elements):
        return builder.define(name, *elements)
    lowering = _Lowering(name)
    for el in elements:  # attributes and operations first: the rest may name them
        if isinstance(el, _Attribute):
            lowering.attribute(f"/{name}", el)
        elif isinstance(el, _Operation):
            lowering.operation(f"/{name}", el)
    plain = lowering.children(f"/{name}", elements, machine=True)
    return lowering.finish(builder.define(name, *plain))


class _Lowering:
    def __init__(self, name: str) -> None:
        self.name = name
        self.attributes: dict[str, Any] = {}
        self.defers: dict[str, list[str]] = {}
        self.operations: dict[str, Any] = {}
        self.waits = 0

    def error(self, path: str, message: str) -> ChartDefinitionError:
        return ChartDefinitionError(message, path=path)

    def children(self, path: str, elements: Iterable[Any], *, machine: bool) -> list[Any]:
        out: list[Any] = []
        waiters: list[Behavior] = []
        for el in elements:
            if isinstance(el, _State):
                out.append(
                    builder.state(
                        el.name, *self.children(f"{path}/{el.name}", el.children, machine=False)
                    )
                )
            elif isinstance(el, _Transition):
                out.append(self.transition(path, el, waiters))
            elif isinstance(el, _Defer):
                if machine:
                    raise self.error(path, "defer() must be called within a state()")
                self.defers.setdefault(path, []).extend(self.event_names(path, el.events))
            elif isinstance(el, _Attribute | _Operation):
                if not machine:
                    raise self.error(
                        path, f"{el.what} belongs to the machine: declare it in define()"
                    )  # the machine's are declared first, by define()
            elif isinstance(el, _Named) and el.role in ("entry", "exit", "activity"):
                out.append(self.named(path, el))
            elif isinstance(el, _Extra):
                raise self.error(path, f"{el.what} belongs in a transition()")
            else:
                out.append(el)
        if waiters:
            out.append(builder.activity(*waiters))
        return out

    def operation(self, path: str, el: _Operation) -> None:
        name = el.name
        if not isinstance(name, str) or not name or name != "".join(name.split()):
            raise self.error(path, f"an operation name must be a name without spaces, got {name!r}")
        if name in self.operations:
            raise self.error(path, f"operation {name!r} declared twice")
        callback = builder.unwrap_callable(el.callback)
        if callback is not None and not callable(callback):
            raise self.error(path, f"operation {name!r} takes a function, not {callback!r}")
        self.operations[name] = callback

    def named(self, path: str, el: _Named) -> Element:
        """The builder element of behaviours given as operation names and functions."""
        resolved: list[Any] = []
        for item in el.items:
            if isinstance(item, str):
                if item not in self.operations:
                    raise self.error(path, f'missing operation "{item}" for behavior or guard')
                item = named_behaviour(item, self.operations[item])
            resolved.append(item)
        if el.role == "guard":
            return builder.guard(_seeing(resolved[0]))
        if el.role == "activity":
            return builder.activity(*resolved)
        return _BEHAVIOURS[el.role](*map(_in_order, resolved))

    def attribute(self, path: str, el: _Attribute) -> None:
        key = self.key(path, el.name)
        if key in self.attributes:
            raise self.error(path, f"attribute {key!r} declared twice")
        self.attributes[key] = el.default

    def key(self, path: str, name: Any) -> str:
        if not isinstance(name, str) or not name or name != "".join(name.split()):
            raise self.error(
                path, f"an attribute name must be a non-empty name without spaces, got {name!r}"
            )
        prefix = f"/{self.name}/"
        key = name[len(prefix) :] if name.startswith(prefix) else name
        if not key or key.startswith("$") or "/" in key:
            raise self.error(path, f"invalid attribute name {name!r}")
        return key

    def event_names(self, path: str, events: tuple[Any, ...]) -> list[str]:
        if not events:
            raise self.error(path, "defer() needs at least one event")
        names: list[str] = []
        for ev in events:
            name = ev.name if isinstance(ev, Event) else ev
            if not isinstance(name, str) or not name or name != "".join(name.split()):
                raise self.error(path, f"defer() expects event names without spaces, got {ev!r}")
            if name == "*" or name.startswith("$"):
                raise self.error(
                    path,
                    f"defer() cannot hold back {name!r}: name the events (a wildcard or an"
                    " internal event would hold back the machine's own stop)",
                )
            names.append(name)
        return names

    def transition(self, path: str, el: _Transition, waiters: list[Behavior]) -> Element:
        parts: list[Any] = []
        for p in el.parts:
            if isinstance(p, _OnSet):
                parts.append(builder.on(change_event(self.name, self.key(path, p.name))))
            elif isinstance(p, _When):
                cond = builder.unwrap_callable(p.condition)
                if isinstance(cond, str):
                    parts.append(builder.on(change_event(self.name, self.key(path, cond))))
                elif callable(cond):
                    self.waits += 1
                    event = f"{path}/when.{self.waits}"
                    parts.append(builder.on(event))
                    waiters.append(_waiter(cond, event))
                else:
                    raise self.error(
                        path, f"when() takes an attribute name or a function, got {cond!r}"
                    )
            elif isinstance(p, _AttributeTimer):
                parts.append(self.timer(path, p))
            elif isinstance(p, _Named) and p.role in ("effect", "guard"):
                parts.append(self.named(path, p))
            elif isinstance(p, _OnCall):
                if p.name not in self.operations:
                    raise self.error(path, f'missing operation "{p.name}" for OnCall()')
                parts.append(builder.on(call_event(self.name, p.name)))
            elif isinstance(p, _Extra):
                raise self.error(path, f"{p.what} does not belong in a transition()")
            else:
                parts.append(p)
        return builder.transition(*parts)

    def timer(self, path: str, p: _AttributeTimer) -> Element:
        key = self.key(path, p.name)
        if key not in self.attributes:
            what = "instant" if p.kind == "at" else "duration"
            raise self.error(
                path,
                f"invalid {what} {p.name!r}: {p.kind}() takes "
                + ("a datetime" if p.kind == "at" else "seconds, a timedelta")
                + ", a function returning one, or the name of an attribute() of the machine",
            )

        def value(ctx: Context, instance: Any, event: Event) -> Any:
            return attribute_value(instance, key)

        value.__name__ = value.__qualname__ = f"attribute {key!r}"
        if p.kind == "at":
            return builder.after(_seconds_until(value))
        return builder.every(value) if p.kind == "every" else builder.after(value)

    def finish(self, chart: Chart) -> Chart:
        spec = chart.spec
        for path in self.defers:
            if path not in chart.nodes_by_id:
                raise self.error(path, "defer() must be called within a state()")
        info = dict(spec.meta.get("hsm", {}))
        info["attributes"] = dict(self.attributes)
        info["deferred"] = {path: tuple(names) for path, names in self.defers.items()}
        info["operations"] = dict(self.operations)
        data = [*spec.data, *(DataSpec(k, expr=_default(v)) for k, v in self.attributes.items())]
        return compile_chart(
            replace(
                spec,
                states=[self.rewrite(s) for s in spec.states],
                data=data,
                meta={**spec.meta, "hsm": info},
            )
        )

    def rewrite(self, s: StateSpec) -> StateSpec:
        names = self.defers.get(s.id)
        children = [self.rewrite(c) for c in s.children]
        if not names:
            return replace(s, children=children)
        keep = TransitionSpec(event=tuple(names), target=(), actions=(_keep,))
        return replace(
            s,
            children=children,
            transitions=[*s.transitions, keep],
            onexit=[*s.onexit, (_release,)],
        )


def _default(value: Any) -> Callable[[ActionContext], Any]:
    def initial(m: ActionContext) -> Any:
        return copy.deepcopy(value)

    return initial


def _keep(m: ActionContext) -> None:
    """The deferral: keep the event until the deferring state exits."""
    ev = m.event
    if ev is not None:
        m.context.setdefault(DEFERRED_KEY, []).append([ev.name, ev.data])


_keep.__name__ = _keep.__qualname__ = "defer"


def _release(m: ActionContext) -> None:
    """On exit of a deferring state: raise the kept events again, oldest first."""
    for name, data in m.context.pop(DEFERRED_KEY, None) or ():
        m.raise_(name, data)


_release.__name__ = _release.__qualname__ = "release deferred"


def _waiter(condition: Behavior, event: str) -> Behavior:
    async def when(ctx: Context, instance: Any, ev: Event) -> None:
        machine = instance.machine if isinstance(instance, Instance) else None
        while True:
            result = condition(ctx, instance, ev)
            if inspect.isawaitable(result):
                result = await result
            wait = getattr(result, "wait", None)
            if callable(wait):
                waited = wait()
                if inspect.isawaitable(waited):
                    await waited
                break
            if result is None or result:
                break
            if machine is None:
                return  # no attribute changes to wait for outside hsm.start
            await machine.changed()
        if machine is not None and not ctx.is_done():
            await machine.dispatch(event)

    when.__name__ = when.__qualname__ = f"when {builder.callable_name(condition)}"
    return when
