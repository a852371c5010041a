"""What one safe-mode SCXML expression may allocate and how much work it may do.

The safe evaluator (:mod:`._scxml_expr`) rewrites every operation that can build a large value
into a call to a guard of this module, and evaluates with the guarded builtins of
:data:`SAFE_BUILTINS`. A guard checks the size of the result *before* computing it:

- strings, bytes and sequences hold at most :data:`MAX_SIZE` items (repetition ``*``,
  concatenation ``+``, ``%`` and f-string formatting widths and precisions, ``ljust``,
  ``rjust``, ``center``, ``zfill``, ``expandtabs``, ``join``, ``replace``, ``translate``,
  ``extend``, ``range``, ``to_bytes``; a repeated list and a value turned into text count
  their nested items every time they occur, so shared references cannot multiply a value);
- integers hold at most :data:`MAX_INT_BITS` bits (``**``, ``*``, ``<<``), ``round`` takes at
  most :data:`MAX_NDIGITS` digits;
- every evaluation has a budget of :data:`MAX_WORK` units: each item a comprehension, a
  ``*``/``**`` unpacking or a builtin (``list``, ``sorted``, ``sum``, ``str``, ...) goes
  through costs one, each value built (by an operator, a comprehension, a lambda, ``map``)
  costs its size (an integer its bits / 64), so loops inside loops stop early instead of
  running for hours or holding millions of large values. A ``<foreach>`` shares one budget
  with its array and its body (the reader runs it :func:`bounded`).

Going over a limit raises :class:`LimitError` (``error.execution`` at run time) before the
allocation happens. Every helper here is immutable: documents share them, so none may carry
state from one document to another.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")

__all__ = [
    "FORBIDDEN_ATTRS",
    "GUARDED_METHODS",
    "GUARDS",
    "MAX_INT_BITS",
    "MAX_NDIGITS",
    "MAX_SIZE",
    "MAX_WORK",
    "SAFE_BUILTINS",
    "Frozen",
    "LimitError",
    "bounded",
    "charge",
    "check_stored",
    "stored",
]

#: the most items (characters, bytes, elements) one value built by an expression may hold
MAX_SIZE = 1_000_000
#: the most bits one integer built by an expression may hold (about 30,000 decimal digits)
MAX_INT_BITS = 100_000
#: the most digits ``round`` may be asked for
MAX_NDIGITS = 1_000
#: the work one evaluation may do (items iterated + sizes of values built)
MAX_WORK = 4_000_000


class LimitError(ValueError):
    """An expression went over one of the safe evaluator's limits."""


class Frozen:
    """Base of the helper objects documents share: no attribute can be set or deleted."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")


# -- the per-evaluation budget ------------------------------------------------------------------
class _Budget(threading.local):
    """Work done by the evaluation running on this thread (nested evaluations share it)."""

    def __init__(self) -> None:
        self.used = 0
        self.depth = 0


_BUDGET = _Budget()


def bounded(fn: Callable[[_T], _R]) -> Callable[[_T], _R]:
    """``fn`` run as one evaluation: the outermost call starts a fresh budget, calls made
    while it runs (a ``<foreach>`` body's expressions, a lambda's) share it."""
    budget = _BUDGET

    def evaluation(arg: _T) -> _R:
        if budget.depth == 0:
            budget.used = 0
        budget.depth += 1
        try:
            return fn(arg)
        finally:
            budget.depth -= 1

    return functools.update_wrapper(evaluation, fn)


def charge(units: int) -> None:
    """Spend ``units`` of the current evaluation's budget."""
    b = _BUDGET
    b.used += units
    if b.used > MAX_WORK:
        raise LimitError(f"the expression does more than {MAX_WORK} units of work")


def _limit(n: int, what: str) -> None:
    if n > MAX_SIZE:
        raise LimitError(f"{what} would hold {n} items (at most {MAX_SIZE})")


def _size(n: int, what: str) -> None:
    _limit(n, what)
    charge(n)


def _bits(n: int, what: str) -> None:
    if n > MAX_INT_BITS:
        raise LimitError(f"{what} would have about {n} bits (at most {MAX_INT_BITS})")
    charge(n >> 6)


def _sized(x: Any) -> bool:
    return isinstance(x, str | bytes | bytearray | list | tuple | range | dict | set | frozenset)


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# -- operators ----------------------------------------------------------------------------------
def _sf_pow(a: Any, b: Any) -> Any:
    if _int(a) and _int(b) and b > 0 and a not in (0, 1, -1):
        _bits(a.bit_length() * b, "a power")
    elif isinstance(b, int | float) and abs(b) > MAX_INT_BITS and a not in (0, 1, -1):
        raise LimitError(f"exponent {b!r} is too large")
    return a**b


def _sf_lshift(a: Any, b: Any) -> Any:
    if _int(a) and _int(b) and a != 0 and b > 0:
        _bits(a.bit_length() + b, "a shift")
    return a << b


def _spread(value: Any, what: str) -> int:
    """How big ``value`` is once written out or stored: its leaves, counting a nested
    container every time it occurs (``[l] * 1000`` holds ``l`` a thousand times), a string by
    its length, a dict entry as one. Refused beyond :data:`MAX_SIZE`; the walk stops there (or
    after twice as many containers, so a cycle ends too), so it costs at most that much."""
    total = 0
    visits = 0
    stack = [value]
    while stack:
        v = stack.pop()
        visits += 1
        if isinstance(v, str | bytes | bytearray):
            total += len(v)
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend(v)
        elif isinstance(v, dict):
            total += len(v)
            stack.extend(v.values())
        else:
            total += 1
        if total > MAX_SIZE or visits > 2 * MAX_SIZE:
            raise LimitError(f"{what} would hold more than {MAX_SIZE} items (nested ones counted)")
    return total


_NESTED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)


def stored(fn: Callable[[_T], _R]) -> Callable[[_T], _R]:
    """``fn`` whose result is checked like a value kept in the datamodel or sent in an event
    (:func:`check_stored`)."""

    def value(arg: _T) -> _R:
        result = fn(arg)
        check_stored(result)
        return result

    return functools.update_wrapper(value, fn)


def check_stored(value: Any) -> None:
    """Refuse a value to keep or send that holds more than :data:`MAX_SIZE` items once its
    shared parts are counted every time (what a snapshot or a message would hold)."""
    if isinstance(value, _NESTED):
        _spread(value, "a value to store or send")


def _sf_mul(a: Any, b: Any) -> Any:
    if _int(a) and _int(b):
        _bits(a.bit_length() + b.bit_length(), "a product")
    else:
        for seq, k in ((a, b), (b, a)):
            if isinstance(seq, str | bytes) and _int(k) and k > 0:
                _size(len(seq) * k, "a repetition")
            elif isinstance(seq, list | tuple) and _int(k) and k > 0:
                _size(len(seq) * k, "a repetition")
                if k > 1 and any(isinstance(x, _NESTED) for x in seq):
                    # nested values repeated: each copy holds them all again
                    nested = _spread(seq, "a repetition")
                    _limit(nested * k, "a repetition (nested items counted)")
    return a * b


def _sf_add(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes | list | tuple) and isinstance(b, str | bytes | list | tuple):
        _size(len(a) + len(b), "a concatenation")
    return a + b


# a %-conversion: flags, width, precision (``*`` takes them from the arguments)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBERS = re.compile(r"\d+")


def _check_widths(numbers: Iterable[str], what: str) -> None:
    for digits in numbers:
        if len(digits) > 7 or int(digits) > MAX_SIZE:
            raise LimitError(f"{what}: a width or precision of {digits} (at most {MAX_SIZE})")


def _sf_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        for m in _PERCENT.finditer(text.replace("%%", "")):
            if "*" in (m.group(1), m.group(2)):
                raise LimitError("'%*d' widths taken from the arguments are not allowed")
            _check_widths(filter(None, (m.group(1), m.group(2))), "a % format")
        _spread(b, "a % format")
        result = a % b
        _size(len(result), "a formatted string")
        return result
    return a % b


def _sf_format(value: Any, conversion: int, spec: str) -> str:
    """An f-string field ``{value!conversion:spec}``."""
    _spread(value, "an f-string field")
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    _check_widths(_NUMBERS.findall(spec), "an f-string format")
    result = format(value, spec)
    _size(len(result), "a formatted string")
    return result


def _sf_iter(iterable: Any) -> Iterator[Any]:
    """The items of a comprehension, each charged to the budget."""
    b = _BUDGET
    for item in iterable:
        b.used += 1
        if b.used > MAX_WORK:
            raise LimitError(f"the expression does more than {MAX_WORK} units of work")
        yield item


def _cost(value: Any) -> int:
    """What keeping ``value`` costs: its length, or an integer's bits / 64 (shallow)."""
    if isinstance(value, str | bytes | bytearray | list | tuple | dict | set | frozenset):
        return len(value)
    if _int(value):
        return int(value.bit_length()) >> 6
    return 0


def _sf_elt(value: Any) -> Any:
    """A value a comprehension or a lambda produces: charged by its size, so a loop that
    builds large values stops after a few instead of holding millions of them."""
    b = _BUDGET
    b.used += 1 + _cost(value)
    if b.used > MAX_WORK:
        raise LimitError(f"the expression does more than {MAX_WORK} units of work")
    return value


def _sf_in(item: Any, container: Any) -> bool:
    """``item in container``: a search through a sequence costs its length."""
    if isinstance(container, str | bytes | list | tuple):
        charge(len(container))
    return item in container


def _sf_star(value: Any) -> Any:
    """The operand of ``*x`` / ``**x``: charged by its size (or item by item)."""
    if _sized(value):
        charge(len(value))
        return value
    return _sf_iter(value)


def _consumed(value: Any) -> Any:
    """An argument a builtin iterates: sized ones are charged at once, others per item."""
    if _sized(value):
        charge(len(value))
        return value
    if isinstance(value, Iterator | Iterable) and not isinstance(value, str):
        return _sf_iter(value)
    return value


# -- methods that grow strings and lists --------------------------------------------------------
def _width(s: Any, args: tuple[Any, ...], kw: dict[str, Any], name: str) -> None:
    width = args[0] if args else kw.get("width", 0)
    if _int(width):
        _size(max(width, len(s)), f"{name}()")


def _expandtabs(s: Any, args: tuple[Any, ...], kw: dict[str, Any], name: str) -> None:
    tab = args[0] if args else kw.get("tabsize", 8)
    if _int(tab):
        _size(len(s) + s.count("\t" if isinstance(s, str) else b"\t") * max(tab, 0), name)


def _replace(s: Any, args: tuple[Any, ...], kw: dict[str, Any], name: str) -> None:
    if len(args) < 2:
        return
    old, new = args[0], args[1]
    count = args[2] if len(args) > 2 else kw.get("count", -1)
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes) or not _int(count):
        return
    n = s.count(old) if old else len(s) + 1
    if count >= 0:
        n = min(n, count)
    _size(len(s) + n * max(len(new) - len(old), 0), "replace()")


def _translate(s: Any, args: tuple[Any, ...], kw: dict[str, Any], name: str) -> None:
    if not isinstance(s, str) or not args:
        return
    table = args[0]
    values = table.values() if isinstance(table, dict) else table
    if not isinstance(table, dict | list | tuple | str):
        raise LimitError("translate() takes a dict, list or str table in safe mode")
    longest = max((len(v) for v in values if isinstance(v, str)), default=1)
    _size(len(s) * max(longest, 1), "translate()")


_STRING_CHECKS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any], str], None]] = {
    "ljust": _width,
    "rjust": _width,
    "center": _width,
    "zfill": _width,
    "expandtabs": _expandtabs,
    "replace": _replace,
    "translate": _translate,
}
#: methods that search a sequence: each call costs its length
_SEARCHES = frozenset({"count", "index", "find", "rfind", "rindex", "startswith", "endswith"})
#: attribute names whose methods the guard wraps (``x.ljust``, ``str.join``, ``l.extend``)
GUARDED_METHODS = frozenset({*_STRING_CHECKS, *_SEARCHES, "join", "extend", "to_bytes"})


def _join(sep: Any, iterable: Any) -> Any:
    items = list(itertools.islice(_consumed(iterable), MAX_SIZE + 1))
    _size(len(items), "join()")
    total = sum(len(x) for x in items if isinstance(x, str | bytes))
    _size(total + len(sep) * max(len(items) - 1, 0), "join()")
    return sep.join(items)


def _extend(lst: list[Any], iterable: Any) -> None:
    room = MAX_SIZE - len(lst)
    items = list(itertools.islice(_consumed(iterable), max(room, 0) + 1))
    _size(len(lst) + len(items), "extend()")
    lst.extend(items)


class _Method(Frozen):
    """A guarded method: checks the size of its result before calling it."""

    __slots__ = ("_fn", "_name", "_owner")
    _fn: Callable[..., Any]
    _name: str
    _owner: Any

    def __init__(self, owner: Any, name: str, fn: Any) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_fn", fn)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        owner, name = self._owner, self._name
        if isinstance(owner, type):  # str.join(sep, items): the instance is the first argument
            if not args:
                return self._fn(*args, **kw)
            target, rest = args[0], args[1:]
        else:
            target, rest = owner, args
        if name in _SEARCHES and isinstance(target, str | bytes | list | tuple):
            charge(len(target))
        elif isinstance(target, str | bytes):
            if name == "join" and len(rest) == 1 and not kw:
                return _join(target, rest[0])
            check = _STRING_CHECKS.get(name)
            if check is not None:
                check(target, rest, kw, name)
        elif isinstance(target, list) and name == "extend" and len(rest) == 1 and not kw:
            return _extend(target, rest[0])
        elif _int(target) and name == "to_bytes":
            length = rest[0] if rest else kw.get("length", 1)
            if _int(length):
                _size(length, "to_bytes()")
        return self._fn(*args, **kw)

    def __repr__(self) -> str:
        return repr(self._fn)


def _sf_attr(obj: Any, name: str) -> Any:
    """``obj.name`` for a name in :data:`GUARDED_METHODS`."""
    value = getattr(obj, name)
    if isinstance(value, _Method) or not callable(value):
        return value
    return _Method(obj, name, value)


# -- builtins -----------------------------------------------------------------------------------
class _SafeType(type):
    """A builtin type as documents see it: calls are charged, ``isinstance`` works, and the
    shared class cannot be changed."""

    _type: type

    def __call__(cls, *args: Any, **kw: Any) -> Any:
        charge(1)  # the call itself
        real = cls._type
        if real is str:
            if args:
                _spread(args[0], "str()")
            result = str(*args, **kw)
            _size(len(result), "str()")
            return result
        if real is range:
            r = range(*args, **kw)
            _size(len(r), "range()")
            return r
        if not args:
            return real(**kw)
        return real(*[_consumed(a) for a in args], **kw)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls._type)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return isinstance(sub, type) and issubclass(sub, cls._type)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(cls._type, name)
        return _Method(cls._type, name, value) if name in GUARDED_METHODS else value

    def __setattr__(cls, name: str, value: Any) -> None:
        raise AttributeError(f"{cls.__name__} is read-only")

    def __delattr__(cls, name: str) -> None:
        raise AttributeError(f"{cls.__name__} is read-only")

    def __repr__(cls) -> str:
        return repr(cls._type)


def _safe_type(real: type) -> type:
    return _SafeType(real.__name__, (), {"_type": real, "__slots__": ()})


class _Plain(Frozen):
    """A helper function documents share, read-only."""

    __slots__ = ("_fn",)
    _fn: Callable[..., Any]

    def __init__(self, fn: Callable[..., Any]) -> None:
        object.__setattr__(self, "_fn", fn)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return self._fn(*args, **kw)

    def __repr__(self) -> str:
        return repr(self._fn)


class _Builtin(_Plain):
    """A builtin function whose iterable arguments are charged to the budget."""

    __slots__ = ()

    def __call__(self, *args: Any, **kw: Any) -> Any:
        charge(1)  # the call itself
        return self._fn(*[_consumed(a) for a in args], **kw)


def _map(fn: Callable[..., Any], *iterables: Any) -> Iterator[Any]:
    """``map``: what the function returns is charged like a comprehension's values."""

    def charged(*args: Any) -> Any:
        return _sf_elt(fn(*args))

    return builtins.map(charged, *(_consumed(i) for i in iterables))


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    """``sum``: numbers as the builtin adds them; sequences (``sum(lists, [])``) one guarded
    concatenation at a time."""
    items = _consumed(iterable)
    if not isinstance(start, str | bytes | list | tuple):
        return builtins.sum(items, start)
    total = start
    for item in items:
        total = _sf_add(total, item)
    return total


def _checked_repr(obj: Any) -> str:
    _spread(obj, "repr()")
    result = builtins.repr(obj)
    _size(len(result), "repr()")
    return result


class _Round(Frozen):
    """``round`` with at most :data:`MAX_NDIGITS` digits either way."""

    __slots__ = ()

    def __call__(self, number: Any, ndigits: Any = None) -> Any:
        if ndigits is None:
            return builtins.round(number)
        if _int(ndigits) and abs(ndigits) > MAX_NDIGITS:
            raise LimitError(f"round() to {ndigits} digits (at most {MAX_NDIGITS})")
        return builtins.round(number, ndigits)


def _safe_hasattr(obj: Any, name: str) -> bool:
    if not isinstance(name, str) or name.startswith("_") or name in FORBIDDEN_ATTRS:
        return False
    return hasattr(obj, name)


#: attributes safe mode refuses besides those starting with ``_``
FORBIDDEN_ATTRS = frozenset(
    {
        "format",
        "format_map",
        "mro",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "ag_await",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "tb_frame",
        "tb_next",
        "co_code",
        "func_code",
        "func_globals",
    }
)

_TYPES = ("bool", "dict", "float", "frozenset", "int", "list", "range", "set", "str", "tuple")
_CONSUMERS = (
    "all",
    "any",
    "enumerate",
    "filter",
    "max",
    "min",
    "reversed",
    "sorted",
    "zip",
)
_PLAIN = ("abs", "chr", "divmod", "isinstance", "len", "ord")

#: the builtins a safe-mode expression sees (the types are read-only look-alikes)
SAFE_BUILTINS: dict[str, Any] = {
    **{name: _safe_type(getattr(builtins, name)) for name in _TYPES},
    **{name: _Builtin(getattr(builtins, name)) for name in _CONSUMERS},
    **{name: getattr(builtins, name) for name in _PLAIN},
    "repr": _Plain(_checked_repr),
    "round": _Round(),
    "sum": _Plain(_sum),
    "map": _Plain(_map),
    "hasattr": _Plain(_safe_hasattr),
}


#: the guard functions the rewritten expressions call, by name
GUARDS: dict[str, Any] = {
    "_sf_pow": _sf_pow,
    "_sf_lshift": _sf_lshift,
    "_sf_mul": _sf_mul,
    "_sf_add": _sf_add,
    "_sf_mod": _sf_mod,
    "_sf_format": _sf_format,
    "_sf_iter": _sf_iter,
    "_sf_star": _sf_star,
    "_sf_in": _sf_in,
    "_sf_elt": _sf_elt,
    "_sf_attr": _sf_attr,
}
