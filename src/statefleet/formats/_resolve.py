"""What every reader shares once it has parsed its syntax: problems, names, durations, calls.

Each reader (XState dicts/JSON, pystator YAML, the hsm builder) parses its own syntax and
refers to the user's code by *name* (an action ``"remember"``, a guard ``"isValid"``, a delay
``"timeout"``). Turning those names into callables the core can run is the same job
everywhere, so it lives here, once:

- :class:`Problems` collects every definition error with its element path (and source line)
  and raises them together as one :class:`~statefleet.ChartDefinitionError`;
- :func:`did_you_mean` is the one "(did you mean 'x'?)" hint;
- :class:`Resolver` binds a name to what implements it (mappings, then a logic object's
  attributes, exact or snake_case), with a did-you-mean for a name found nowhere;
- :func:`parse_duration` is the one duration parser for ``"5s"``/``"500ms"``/numbers;
- :func:`positional_arity` and :func:`adapt_positional` are the one signature adapter: a
  user's function takes the first *n* of the arguments a format documents (XState's
  ``(context, event, action_def)``, ...), and the adapter calls it with just those;
- :func:`unbound` stands in for a name read without its implementation (``resolve=False``):
  the chart's structure can be checked and drawn (``statefleet validate``/``diagram`` on a
  JSON file naming Python actions), and running the name raises :class:`UnboundNameError`.
"""

from __future__ import annotations

import bisect
import difflib
import inspect
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Literal

from statefleet.core import ChartDefinitionError
from statefleet.formats._input import shown

__all__ = [
    "MISSING",
    "Constant",
    "Problems",
    "Resolver",
    "UnboundNameError",
    "adapt_positional",
    "did_you_mean",
    "is_unbound",
    "parse_duration",
    "positional_arity",
    "snake_case",
    "unbound",
]


# -- problems ------------------------------------------------------------------------------
def did_you_mean(
    name: Any, candidates: Iterable[Any], show: Mapping[str, str] | None = None
) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``name``, or ``""``.

    ``show`` maps a candidate to what to suggest instead (a state's short name matched, its
    full path suggested).
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {(show or {}).get(close[0], close[0])!r}?)"


class Problems:
    """Every problem a reader finds, each with its element path and source line if known.

    A reader keeps going after a problem so that one run reports them all;
    :meth:`raise_if_any` raises the first as a :class:`~statefleet.ChartDefinitionError`
    carrying the whole list (``errors``) and a count of the others in its message.
    """

    __slots__ = ("items", "ranks")

    def __init__(self) -> None:
        self.items: list[tuple[str, str, int | None]] = []
        #: where each item stands in the source's order (kept sorted, parallel to items)
        self.ranks: list[float] = []

    def add(
        self, path: str, message: str, line: int | None = None, *, before: int | None = None
    ) -> None:
        """Record ``message`` about the element at ``path`` (on ``line`` of the source).

        ``before`` places it among the problems found while reading: before the one that
        was the ``before``-th (a reference read then, found wrong when bound later), so the
        problems stay in the source's order.
        """
        if before is None:
            self.items.append((path, message, line))
            self.ranks.append(float(len(self.ranks)))
            return
        rank = before - 0.5
        at = bisect.bisect_right(self.ranks, rank)
        self.items.insert(at, (path, message, line))
        self.ranks.insert(at, rank)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        """Raise the collected problems as one :class:`ChartDefinitionError`, if any."""
        if not self.items:
            return
        path, message, line = self.items[0]
        if len(self.items) > 1:
            message += f" (and {len(self.items) - 1} more problem(s))"
        raise ChartDefinitionError(
            message, path=path, line=line, errors=[(p, m) for p, m, _ in self.items]
        )


# -- durations -----------------------------------------------------------------------------
#: a number and a unit: pystator's ``5s``/``500ms``/``2m`` and SCXML's CSS2 times (``.5s``)
_DURATION_RE = re.compile(r"^\s*(\d*\.?\d+)\s*(ms|s|min|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any, default_unit: str = "s") -> float:
    """Seconds in ``value``: a number (in ``default_unit``) or a string like ``"5s"``,
    ``".5s"``, ``"500ms"``, ``"2m"`` (or ``"2min"``), ``"1h"``, ``"1d"``. Raises ValueError
    for anything else (negative, endless, a boolean, another type or unit)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    number: str | float
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: it cannot be negative")
        number, unit = value, default_unit
    else:
        m = _DURATION_RE.match(value) if isinstance(value, str) else None
        if m is None:
            raise ValueError(
                f"invalid duration {shown(value)}: expected a number or a string like"
                " '5s', '500ms', '2m'"
            )
        number, unit = m.group(1), m.group(2) or default_unit
    try:
        seconds = float(number) * _UNITS[unit]
    except OverflowError:  # an integer too large for a float
        seconds = math.inf
    if not math.isfinite(seconds):
        raise ValueError(f"invalid duration {shown(value)}: it must be finite")
    return seconds


# -- the signature adapter -----------------------------------------------------------------
def positional_arity(fn: Callable[..., Any], maximum: int) -> int:
    """How many positional arguments ``fn`` takes, at most ``maximum`` (``*args``: all)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return maximum
    n = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return maximum
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return min(n, maximum)


class Constant:
    """An argument of a call form that is the same on every call (XState's ``action_def``);
    only trailing arguments of a form may be constants."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def adapt_positional(
    fn: Callable[..., Any],
    forms: Sequence[Sequence[Callable[[Any], Any] | Constant]],
    name: str | None = None,
) -> Callable[[Any], Any]:
    """A one-argument callable ``f(x)`` calling ``fn`` with the arguments its signature asks
    for: ``forms[n]`` computes, from ``x``, the arguments of a function taking ``n``
    positional ones (the last form serves functions taking more, or ``*args``); a trailing
    :class:`Constant` is passed as is.

    A format documents its call forms in one table (XState's actions:
    ``()``, ``(context)``, ``(context, event)``, ``(context, event, action_def)``,
    ``(interpreter, context, event, action_def)``); only the arguments ``fn`` takes are
    computed, so a ``lambda ctx: ...`` guard does not pay for an event view it never reads.
    ``name`` names the result (diagrams, traces).
    """
    form = list(forms[positional_arity(fn, len(forms) - 1)])
    consts: list[Any] = []
    while form and isinstance(form[-1], Constant):
        consts.insert(0, form.pop().value)  # type: ignore[union-attr]
    if any(isinstance(get, Constant) for get in form):
        raise TypeError("only the trailing arguments of a call form may be constants")
    g: tuple[Callable[[Any], Any], ...] = tuple(form)  # type: ignore[arg-type]
    # one closure per shape, so that a call costs the getters' calls and nothing more (a
    # star-call, even of an empty tuple, would double the cost of a small callback)
    call: Callable[[Any], Any]
    if len(consts) > 1 or len(g) > 4 or (consts and len(g) > 3):
        tail = tuple(consts)

        def call(x: Any) -> Any:
            return fn(*[get(x) for get in g], *tail)

    elif consts:
        call = _with_constant(fn, g, consts[0])
    elif not g:

        def call(x: Any) -> Any:
            return fn()

    elif len(g) == 1:
        (a,) = g

        def call(x: Any) -> Any:
            return fn(a(x))

    elif len(g) == 2:
        a, b = g

        def call(x: Any) -> Any:
            return fn(a(x), b(x))

    elif len(g) == 3:
        a, b, c = g

        def call(x: Any) -> Any:
            return fn(a(x), b(x), c(x))

    else:
        a, b, c, d = g

        def call(x: Any) -> Any:
            return fn(a(x), b(x), c(x), d(x))

    if name is not None:
        call.__name__ = call.__qualname__ = name
    return call


def _with_constant(
    fn: Callable[..., Any], g: tuple[Callable[[Any], Any], ...], t: Any
) -> Callable[[Any], Any]:
    """:func:`adapt_positional`'s closures for up to three getters and one constant."""
    if not g:
        return lambda x: fn(t)
    if len(g) == 1:
        (a,) = g
        return lambda x: fn(a(x), t)
    if len(g) == 2:
        a, b = g
        return lambda x: fn(a(x), b(x), t)
    a, b, c = g
    return lambda x: fn(a(x), b(x), c(x), t)


# -- binding names ---------------------------------------------------------------------------
Kind = Literal["action", "guard", "service", "delay"]
#: what :meth:`Resolver.find` returns for a name found nowhere
MISSING: Any = object()


def snake_case(name: str) -> str:
    """``logCompletion`` -> ``log_completion`` (``HTTPGet`` -> ``http_get``)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


class Resolver:
    """Binds the names a chart uses to what implements them, once, at load time.

    A name of a ``kind`` is looked up in that kind's mappings in order, then in ``logic``:
    a mapping's key, or an object's attribute named exactly or in snake_case (never a
    private one, nor one listed in ``skip``: the logic class's own machinery). With
    ``resolve=False`` a name found nowhere becomes an :func:`unbound` stand-in instead of
    a problem, so a chart can be checked and drawn without its implementations.
    """

    __slots__ = ("cache", "logic", "maps", "resolve", "skip", "unbound")

    def __init__(
        self,
        maps: Mapping[Kind, Sequence[Mapping[str, Any]]],
        logic: Any = None,
        *,
        skip: Collection[str] = (),
        resolve: bool = True,
    ) -> None:
        self.maps = maps
        self.logic = logic
        self.skip = skip
        self.resolve = resolve
        self.cache: dict[tuple[Kind, str], Any] = {}
        #: the names left unbound, in the order they are used: (kind, name, path)
        self.unbound: list[tuple[str, str, str]] = []

    def find(self, kind: Kind, name: str, path: str) -> Any:
        """What ``name`` means as a ``kind`` (used at ``path``): :data:`MISSING` if
        nothing, or, when not resolving, a stand-in that raises if run."""
        found = self.lookup(kind, name)
        if found is MISSING and not self.resolve:
            self.unbound.append((kind, name, path))
            return unbound(kind, name, path)
        return found

    def lookup(self, kind: Kind, name: str) -> Any:
        """What ``name`` means as a ``kind``, or :data:`MISSING` (cached)."""
        key = (kind, name)
        if key in self.cache:
            return self.cache[key]
        found: Any = MISSING
        for m in self.maps.get(kind, ()):
            if name in m:
                found = m[name]
                break
        logic = self.logic
        if found is MISSING and logic is not None:
            if isinstance(logic, Mapping):
                found = logic.get(name, MISSING)
            else:
                for attr in (name, snake_case(name)):
                    if attr.startswith("_") or attr in self.skip:
                        continue
                    found = getattr(logic, attr, MISSING)
                    if found is not MISSING:
                        break
        self.cache[key] = found
        return found

    def candidates(self, kind: Kind) -> list[str]:
        """Every name a ``kind`` could be (for a did-you-mean)."""
        out: list[str] = []
        for m in self.maps.get(kind, ()):
            out += [str(k) for k in m]
        logic = self.logic
        if isinstance(logic, Mapping):
            out += [str(k) for k in logic]
        elif logic is not None:
            out += [
                n
                for n in dir(logic)
                if not n.startswith("_")
                and n not in self.skip
                and callable(getattr(logic, n, None))
            ]
        return out

    def unknown(self, kind: Kind, name: str) -> str:
        """The problem message for a name found nowhere."""
        return f"unknown {kind} {name!r}{did_you_mean(name, self.candidates(kind))}"


# -- names read without their implementation -----------------------------------------------


class UnboundNameError(ChartDefinitionError, LookupError):
    """A name a chart uses (an action, guard, service or delay) has no implementation bound:
    the chart was read without it (``resolve=False``), or a pystator registry lacks it.

    ``kind`` and ``name`` say which; ``path`` is the element that uses it when known.
    """

    def __init__(
        self, kind: str, name: str, *, path: str = "", why: str = "is not registered"
    ) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} {name!r} {why}", path=path)


def unbound(kind: Kind, name: str, path: str) -> Callable[..., Any]:
    """A stand-in for ``kind`` ``name`` (at ``path``) left unbound: it is shown (its
    ``__name__`` is ``name``) and raises :class:`UnboundNameError` when called."""

    def placeholder(*_args: Any, **_kw: Any) -> Any:
        raise UnboundNameError(
            kind,
            name,
            path=path,
            why="is not bound: the chart was read without its implementations"
            " (resolve=False); read it with them to run it",
        )

    placeholder.__name__ = placeholder.__qualname__ = name
    placeholder.statefleet_unbound = (kind, name)  # type: ignore[attr-defined]
    return placeholder


def is_unbound(fn: Any) -> bool:
    """Is ``fn`` a stand-in made by :func:`unbound`?"""
    return getattr(fn, "statefleet_unbound", None) is not None
