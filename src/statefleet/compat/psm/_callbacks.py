"""Callback plumbing shared by the compiler and the chart class: where a callback runs, how
its exception travels, and the small wrappers that decide it once per class."""

from __future__ import annotations

import contextlib
import dis
import inspect
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from statefleet.compat.psm.exceptions import InvalidDefinition

if TYPE_CHECKING:
    from statefleet.compat.psm._definition import State, Transition

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
    if ev is None:
        return None
    if ev.error is None and type(ev.data) is dict:
        return ev.data.get("error")  # an invoke handler's failure (sent with ``error=``)
    return ev.error


def _g_stash_transition(ctx: Any) -> Any:
    return getattr(ctx.owner, "_sf_tr", None)


def _g_stash_source(ctx: Any) -> Any:
    t = getattr(ctx.owner, "_sf_tr", None)
    return t.source if t is not None else None


def _g_stash_target(ctx: Any) -> Any:
    t = getattr(ctx.owner, "_sf_tr", None)
    return t.target if t is not None else None


def _static(value: Any) -> Callable[[Any], Any]:
    """A getter of an argument known when the class is compiled (the state a callback runs
    for, a transition's source or target); it carries the value (``_sf_static``) so the
    adapter can pass it without calling the getter per event."""

    def get(ctx: Any) -> Any:
        return value

    get._sf_static = (value,)  # type: ignore[attr-defined]
    return get


def static_value(getter: Callable[[Any], Any]) -> tuple[Any] | None:
    """``(value,)`` for a :func:`_static` getter, else None (the argument changes per call)."""
    found: tuple[Any] | None = getattr(getter, "_sf_static", None)
    return found


#: the event-data key holding the positional arguments of ``send`` (``sm.send("add", 3)``)
ARGS = "__args__"


def _data_getter(name: str, default: Any, index: int | None = None) -> Callable[[Any], Any]:
    """A parameter found in the event's data by name, else (python-statemachine) the
    positional argument of ``send`` at the parameter's ``index``, else its default."""

    def get(ctx: Any) -> Any:
        ev = ctx.event
        # the initial entry: the constructor's keyword arguments (python-statemachine's)
        d = ev.data if ev is not None else getattr(ctx.owner, "_sf_start_data", None)
        if type(d) is dict:
            if name in d:
                return d[name]
            if index is not None:
                args = d.get(ARGS)
                if args is not None and index < len(args):
                    return args[index]
        return default

    return get


_NOT_PLAIN = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def returns_none(func: Any) -> bool:
    """Does ``func`` (a Python function) return ``None`` on every path?

    Decided once per callback, when its class is compiled, from its bytecode: every return
    instruction returns the constant ``None`` (``RETURN_CONST None``, or ``RETURN_VALUE``
    right after ``LOAD_CONST None`` and reached by nothing else: no jump or exception
    handler lands on it). Anything else (a generator, a coroutine, a callable object, a
    builtin, a decorated function returning its inner call, a bytecode this does not know)
    counts as "may return a value", which is always correct. What it buys: a transition
    whose only ``before``/``on`` callback is such a procedure (``def increment(self) ->
    None``, the usual ``on=``) has nothing for ``send`` to return but ``None``, so the chart
    need not collect results per event (~350 ns of a guarded counter event, issue 16)."""
    if not isinstance(func, types.FunctionType) or func.__code__.co_flags & _NOT_PLAIN:
        return False
    prev: dis.Instruction | None = None
    for ins in dis.get_instructions(func.__code__):
        name = ins.opname
        if name == "RETURN_CONST":
            if ins.argval is not None:
                return False
        elif name == "RETURN_VALUE":
            if (
                ins.is_jump_target
                or prev is None
                or prev.opname != "LOAD_CONST"
                or prev.argval is not None
            ):
                return False
        elif name.startswith(("RETURN", "YIELD")):
            return False  # an instruction this reading does not know
        prev = ins
    return True


def _method_call(method: Callable[..., Any]) -> Callable[[Any], Any]:
    """``method(machine)``: a callback method whose only parameter is ``self`` (the usual
    ``def is_paid(self)``). The wrappers below call ``method`` themselves (see :func:`_direct`)."""

    def call(ctx: Any) -> Any:
        return method(ctx.owner)

    call._sf_method = method  # type: ignore[attr-defined]
    return call


def _direct(action: Callable[[Any], Any]) -> tuple[Callable[..., Any], bool]:
    """What a wrapper calls for ``action``: ``(method, True)`` for a :func:`_method_call`
    (the wrapper calls ``method(ctx.owner)`` itself: one Python frame less per callback,
    ~10% of a guarded event), else ``(action, False)`` (the wrapper calls ``action(ctx)``)."""
    method = getattr(action, "_sf_method", None)
    if method is not None:
        return method, True
    return action, False


def _negate(g: Callable[[Any], Any]) -> Callable[[Any], Any]:
    f, on_owner = _direct(g)
    return lambda ctx: not (f(ctx.owner) if on_owner else f(ctx))


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

    f, on_owner = _direct(action)

    def run(ctx: Any) -> Any:
        try:
            return f(ctx.owner) if on_owner else f(ctx)
        except InvalidDefinition as exc:
            raise _Propagate(exc) from exc
        except Exception as exc:
            ctx.raise_error(exc)
            return None

    return run


def _definition_errors_propagate(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """python-statemachine lets ``InvalidDefinition`` raised in a callback leave ``send``
    even when other errors become ``error.execution``."""
    f, on_owner = _direct(action)

    def run(ctx: Any) -> Any:
        try:
            return f(ctx.owner) if on_owner else f(ctx)
        except InvalidDefinition as exc:
            raise _Propagate(exc) from exc

    return run


def _escape_definitions(exc: BaseException) -> BaseException | None:
    """A chart's ``escape`` (see ``statefleet.core.Chart.escape``): ``InvalidDefinition``
    raised by a callback the engine calls unwrapped (an ``OnOwner`` method) leaves ``send``,
    as :func:`_definition_errors_propagate` makes it for wrapped ones."""
    return _Propagate(exc) if isinstance(exc, InvalidDefinition) else None


def _propagating(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The exception leaves the engine and is re-raised by ``send``."""
    f, on_owner = _direct(action)

    def run(ctx: Any) -> Any:
        try:
            return f(ctx.owner) if on_owner else f(ctx)
        except Exception as exc:
            raise _Propagate(exc) from exc

    return run


def _stash(t: Transition) -> Callable[[Any], None]:
    """Remember the transition being taken, for entry/exit callbacks that ask for it."""

    def stash(ctx: Any) -> None:
        with contextlib.suppress(AttributeError):
            ctx.owner._sf_tr = t

    return stash


class Provider(NamedTuple):
    """An object besides the chart instance whose methods are callbacks (python-statemachine's
    model and listeners): its type and the names it defines."""

    type: type
    names: frozenset[str]

    @classmethod
    def of(cls, obj: Any) -> Provider:
        """The provider shape of ``obj`` (public attribute names of its type and instance)."""
        names = {n for n in dir(type(obj)) if not n.startswith("_")}
        names.update(n for n in getattr(obj, "__dict__", {}) if not n.startswith("_"))
        return cls(type(obj), frozenset(names))


class Outcome(msgspec.Struct):
    """What one ``send`` collects while its event is processed: whether a transition took it
    (``StateMachine`` raises ``TransitionNotAllowed`` otherwise) and the before/on callbacks'
    results (python-statemachine's return value of ``send`` and of the event methods).

    A Struct: one is made per collecting send, and msgspec's constructor is half the cost
    of a Python ``__init__`` (~80 ns of a guarded counter event)."""

    event: Any
    taken: bool = False
    results: list[Any] = msgspec.field(default_factory=list)
    # made by ``awaited`` when first needed: one Outcome per send, async callbacks are rare
    _awaited: dict[int, Any] | None = None

    @property
    def awaited(self) -> dict[int, Any]:
        """What the async callbacks' awaitables gave, by ``id`` of the awaitable."""
        if self._awaited is None:
            self._awaited = {}
        return self._awaited

    def value(self) -> Any:
        """``None``, the only result, or the list of them (an async callback's awaited
        value in place of its coroutine)."""
        r = self.results
        if not r:
            return None
        awaited = self._awaited
        if awaited:
            r = [awaited.get(id(x), x) for x in r]
        return r[0] if len(r) == 1 else list(r)


async def recording(aw: Any, awaited: dict[int, Any]) -> Any:
    """Await ``aw`` and remember its value for :meth:`Outcome.value`."""
    value = await aw
    awaited[id(aw)] = value
    return value


#: types whose instances are never awaitable (see :func:`_collecting`)
_PLAIN_DATA = frozenset({str, int, float, bool, bytes, list, dict, tuple, set, frozenset})


def _collecting(action: Callable[[Any], Any], definitions: bool = False) -> Callable[[Any], Any]:
    """Record ``action``'s result when it runs for the event being sent (``definitions``:
    also let ``InvalidDefinition`` leave ``send``, saving a wrapper)."""
    f, on_owner = _direct(action)

    def run(ctx: Any) -> Any:
        owner = ctx.owner
        try:
            result = f(owner) if on_owner else f(ctx)
        except InvalidDefinition as exc:
            if definitions:
                raise _Propagate(exc) from exc
            raise
        try:
            # (an attribute read, not getattr with a default: ~30 ns a callback)
            out = owner._sf_outcome
        except AttributeError:  # an owner that is no StateChart instance collects nothing
            return result
        if out is not None and ctx.event is out.event:
            out.results.append(result)
        # the engine looks at what an action returns only to await an awaitable, and
        # ``inspect.isawaitable`` costs ~230 ns: a result of a plain data type is kept
        # here and not handed on (~15% of an event whose callback returns a value)
        return None if type(result) in _PLAIN_DATA else result

    return run


def _mark_taken(ctx: Any) -> None:
    """First action of every event transition of a ``StateMachine``: the event was taken."""
    out = getattr(ctx.owner, "_sf_outcome", None)
    if out is not None and ctx.event is out.event:
        out.taken = True


def _raiser(event: str) -> Callable[[Any], None]:
    """Raise ``event`` (an internal event of the current macrostep)."""

    def raise_event(ctx: Any) -> None:
        ctx.raise_(event)

    return raise_event
