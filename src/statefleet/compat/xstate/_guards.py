"""xstate-statemachine's guard forms, bound by ``create_machine``.

- A guard with parameters, ``{"type": "atLeast", "params": {"min": 3}}``, is called as
  ``fn(context, event, params)`` when it takes three arguments (``params`` may be a function
  of ``{context, event}``, called each time); two-argument guards are called as before.
- The composite guards ``{"type": "and" | "or", "children": [...]}`` and
  ``{"type": "not", "children": [guard]}`` combine named guards (or nested composites).

A guard the caller's logic implements under one of these names is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from statefleet.compat.xstate._errors import ImplementationMissingError, InvalidConfigError
from statefleet.compat.xstate._reading import named_in
from statefleet.core import StatefleetError
from statefleet.formats._resolve import MISSING, Resolver, positional_arity

__all__ = ["evaluate_guard", "guard_names", "guard_overrides"]

COMPOSITES = ("and", "or", "not")
#: XState's ``stateIn`` guard: read as the transition's ``in`` key when it names a state
#: (see ``_reading``); one that names none never passes
STATE_IN = "stateIn"


def check_composites(config: Any) -> None:
    """Refuse composite guards that cannot mean anything: ``and``/``or`` without children,
    ``not`` without exactly one (:class:`InvalidConfigError`)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            kind = node.get("type")
            if kind in COMPOSITES and ("children" in node or node.keys() <= {"type"}):
                children = node.get("children")
                n = len(children) if isinstance(children, list | tuple) else 0
                if (kind == "not" and n != 1) or n == 0:
                    need = "exactly one child" if kind == "not" else "children"
                    raise InvalidConfigError(
                        f"a {kind!r} guard needs {need}, got {children!r}", path="guard"
                    )
            stack.extend(v for v in node.values() if isinstance(v, Mapping | list | tuple))
        elif isinstance(node, list | tuple):
            stack.extend(node)


def guard_names(config: Any) -> Iterator[str]:
    """Every guard name a config uses (``guard``/``cond``, composites' children)."""
    return named_in(config, ("guard", "cond", "children"), nested=True)


def _params(guard_def: Any, context: Any, event: Any) -> Any:
    params = getattr(guard_def, "params", None)
    if isinstance(params, Mapping) and set(params) == {"params"}:
        params = params["params"]
    if callable(params):
        params = params({"context": context, "event": event})
    return params


def _with_params(fn: Callable[..., Any]) -> Callable[[Any, Any, Any], Any]:
    def guard(context: Any, event: Any, guard_def: Any) -> Any:
        params = _params(guard_def, context, event)
        # as xstate-statemachine calls it: params only when the guard has some
        return fn(context, event, params) if params else fn(context, event)

    guard.__name__ = getattr(fn, "__name__", "guard")
    return guard


def evaluate_guard(user: Resolver, spec: Any, context: Any, event: Any) -> bool:
    """Evaluate a guard given as a name or ``{"type": ..., "params"/"children": ...}``
    (a composite guard's child, a ``choose`` branch's guard) with the caller's logic."""
    name = spec.get("type") if isinstance(spec, Mapping) else spec
    if not isinstance(name, str):
        raise StatefleetError(f"a guard is a name or an object with a 'type', not {spec!r}")
    if name in COMPOSITES and user.lookup("guard", name) is MISSING:
        children = spec.get("children", []) if isinstance(spec, Mapping) else []
        return _combine(user, name, children, context, event)
    fn = user.lookup("guard", name)
    if fn is MISSING:
        raise ImplementationMissingError(f"unknown guard {name!r}", path="guard")
    if positional_arity(fn, 3) >= 3:
        params = spec.get("params") if isinstance(spec, Mapping) else None
        if callable(params):
            params = params({"context": context, "event": event})
        return bool(fn(context, event, params))
    return bool(fn(context, event))


def _combine(user: Resolver, kind: str, children: Any, context: Any, event: Any) -> bool:
    items = list(children) if isinstance(children, list | tuple) else [children]
    if kind == "not":
        if len(items) != 1:
            raise StatefleetError("a 'not' guard takes exactly one child")
        return not evaluate_guard(user, items[0], context, event)
    results = (evaluate_guard(user, c, context, event) for c in items)
    return all(results) if kind == "and" else any(results)


def _composite(user: Resolver, kind: str) -> Callable[[Any, Any, Any], bool]:
    def guard(context: Any, event: Any, guard_def: Any) -> bool:
        children = getattr(guard_def, "params", {}).get("children", [])
        return _combine(user, kind, children, context, event)

    guard.__name__ = kind
    return guard


def _never(context: Any, event: Any) -> bool:
    return False


def guard_overrides(
    config: Any, user: Resolver, guards: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``guards`` plus the composites a config uses and parameter-passing wrappers of the
    three-argument guards it names (None when nothing changes); a composite that cannot
    mean anything is an :class:`InvalidConfigError`."""
    check_composites(config)
    out = dict(guards or {})
    changed = False
    for name in set(guard_names(config)):
        fn = user.lookup("guard", name)
        if fn is MISSING:
            if name in COMPOSITES:
                out[name] = _composite(user, name)
                changed = True
            elif name == STATE_IN:
                out[name] = _never
                changed = True
        elif callable(fn) and positional_arity(fn, 3) >= 3:
            out[name] = _with_params(fn)
            changed = True
    if not changed:
        return None if guards is None else dict(guards)
    return out
