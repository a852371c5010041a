"""pystator's built-in guard factories (``pystator.guards``): each returns a guard
``fn(context) -> bool`` to register under a name (``registry.register("big", greater_than(
"qty", 10))``).

A key missing from the context makes a comparison guard false (it never raises), as a guard
is a question about the context, not a check of its shape.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["all_of", "any_of", "equals", "greater_than", "in_list", "negate"]

Guard = Callable[[Mapping[str, Any]], Any]
_MISSING = object()


def _check(guards: tuple[Guard, ...], what: str) -> None:
    if not guards:
        raise ValueError(f"{what}() needs at least one guard")
    for g in guards:
        if not callable(g):
            raise TypeError(f"{what}() takes guards (callables), not {type(g).__name__}")


def equals(key: str, value: Any) -> Guard:
    """``context[key] == value``."""

    def guard(context: Mapping[str, Any]) -> bool:
        return bool(context.get(key, _MISSING) == value)

    guard.__name__ = f"equals_{key}"
    return guard


def greater_than(key: str, value: Any) -> Guard:
    """``context[key] > value`` (false when the key is missing or not comparable)."""

    def guard(context: Mapping[str, Any]) -> bool:
        current = context.get(key, _MISSING)
        if current is _MISSING:
            return False
        try:
            return bool(current > value)
        except TypeError:
            return False

    guard.__name__ = f"greater_than_{key}"
    return guard


def in_list(key: str, values: Collection[Any]) -> Guard:
    """``context[key] in values``."""
    allowed = list(values)

    def guard(context: Mapping[str, Any]) -> bool:
        current = context.get(key, _MISSING)
        return current is not _MISSING and current in allowed

    guard.__name__ = f"in_list_{key}"
    return guard


def all_of(*guards: Guard) -> Guard:
    """True when every guard passes (checked in order, stopping at the first false)."""
    _check(guards, "all_of")

    def guard(context: Mapping[str, Any]) -> bool:
        return all(g(context) for g in guards)

    return guard


def any_of(*guards: Guard) -> Guard:
    """True when at least one guard passes."""
    _check(guards, "any_of")

    def guard(context: Mapping[str, Any]) -> bool:
        return any(g(context) for g in guards)

    return guard


def negate(inner: Guard) -> Guard:
    """True when ``inner`` is false."""
    _check((inner,), "negate")

    def guard(context: Mapping[str, Any]) -> bool:
        return not inner(context)

    return guard
