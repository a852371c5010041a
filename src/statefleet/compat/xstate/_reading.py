"""How xstate-statemachine reads a config where XState's reading (statefleet's reader) is
stricter or spelled differently, for ``create_machine``: targets, and ``stateIn`` guards.

XState (and statefleet's reader) read a plain target ``"b"`` as a sibling of the source
state and ``".b"`` as its child. xstate-statemachine accepts more: a plain target that is not
a sibling is looked up in the ancestors' children (``"done"`` from a deeply nested state
finds a top-level ``done``), and ``".b"`` that is not a child falls back to a sibling.
Configs written for it rely on that, so :func:`lenient_targets` rewrites exactly those
targets, the ones XState's reading would refuse and the peer's resolves, to an absolute
``"#<machine id>.<path>"``. Every other target is left as written (and a target neither
reading resolves is still refused by the reader, naming where it is).

A guard ``{"type": "stateIn", "params": {"state": "#m.a.b"}}`` (XState's ``stateIn``) becomes
the transition's ``in`` key, which the reader checks against the active configuration. An
``output`` (or ``data``) function of one argument, and an invoke's one-argument ``input``
function, are called as xstate-statemachine calls them: with ``{"context": ..., "event":
...}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from statefleet.formats._resolve import positional_arity

__all__ = ["lenient_targets", "named_in"]

Path = tuple[str, ...]


def _children(cfg: Any) -> Mapping[str, Any]:
    states = cfg.get("states") if isinstance(cfg, Mapping) else None
    return states if isinstance(states, Mapping) else {}


class _Rewriter:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.machine_id = str(root.get("id", "(machine)"))

    def exists(self, path: Path) -> bool:
        cfg: Any = self.root
        for key in path:
            cfg = _children(cfg).get(key)
            if cfg is None:
                return False
        return True

    def absolute(self, path: Path) -> str:
        return "#" + ".".join((self.machine_id, *path))

    def target(self, source: Path, target: Any) -> Any:
        """``target`` (written on the state at ``source``) as XState reads it, when the
        peer's reading differs and XState's would fail."""
        if not isinstance(target, str) or not target or target[0] == "#" or target == ".":
            return target
        if target[0] == ".":
            segs = tuple(target[1:].split("."))
            if self.exists(source + segs) or not source:
                return target
            sibling = source[:-1] + segs
            return self.absolute(sibling) if self.exists(sibling) else target
        segs = tuple(target.split("."))
        if not source or self.exists(source[:-1] + segs):
            return target
        current = source
        while True:
            if self.exists(current + segs):
                return self.absolute(current + segs)
            if len(segs) == 1 and current and current[-1] == segs[0]:
                return self.absolute(current)
            if not current:
                return target
            current = current[:-1]

    def transitions(self, source: Path, raw: Any) -> Any:
        if isinstance(raw, list | tuple):
            return [self.transitions(source, t) for t in raw]
        if isinstance(raw, Mapping) and "in" not in raw:
            raw = _state_in(raw)
        if isinstance(raw, Mapping) and "target" in raw:
            t = raw["target"]
            new = [self.target(source, x) for x in t] if isinstance(t, list | tuple) else None
            fixed = new if new is not None else self.target(source, t)
            return raw if fixed == t else {**raw, "target": fixed}
        return self.target(source, raw)

    def state(self, path: Path, cfg: Any) -> Any:
        if not isinstance(cfg, Mapping):
            return cfg
        out = dict(cfg)
        for key in ("output", "data"):
            if key in cfg:
                out[key] = _args_form(cfg[key])
        for key in ("on", "after"):
            raw = cfg.get(key)
            if isinstance(raw, Mapping):
                out[key] = {k: self.transitions(path, v) for k, v in raw.items()}
            elif isinstance(raw, list) and key == "after":
                out[key] = self.transitions(path, raw)
        for key in ("always", "onDone"):
            if key in cfg:
                out[key] = self.transitions(path, cfg[key])
        invoke = cfg.get("invoke")
        if invoke is not None:
            items = invoke if isinstance(invoke, list | tuple) else [invoke]
            fixed = [
                {
                    **i,
                    **{k: self.transitions(path, i[k]) for k in ("onDone", "onError") if k in i},
                    **({"input": _args_form(i["input"])} if "input" in i else {}),
                }
                if isinstance(i, Mapping)
                else i
                for i in items
            ]
            out["invoke"] = fixed if isinstance(invoke, list | tuple) else fixed[0]
        children = _children(cfg)
        if children:
            out["states"] = {k: self.state((*path, str(k)), v) for k, v in children.items()}
        return out


def _args_form(value: Any) -> Any:
    """A one-argument function as a ``(context, event)`` one that passes it
    ``{"context": ..., "event": ...}``; anything else as it is."""
    if not callable(value) or positional_arity(value, 2) != 1:
        return value

    def call(context: Any, event: Any) -> Any:
        return value({"context": context, "event": event})

    call.__name__ = getattr(value, "__name__", "output")
    return call


def _state_in(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    key = "guard" if "guard" in raw else "cond"
    guard = raw.get(key)
    if not isinstance(guard, Mapping) or guard.get("type") != "stateIn":
        return raw
    params = guard.get("params")
    state = params.get("state") if isinstance(params, Mapping) else guard.get("state")
    if not isinstance(state, str):
        return raw
    return {**{k: v for k, v in raw.items() if k != key}, "in": state}


def named_in(config: Any, keys: tuple[str, ...], *, nested: bool = False) -> Iterator[str]:
    """Every name a config gives under ``keys`` (anywhere in it): a string, or the ``type``
    of an object (one of a list, or alone). ``nested``: objects named there are searched too
    (a composite guard's children)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in keys:
                    for item in value if isinstance(value, list | tuple) else [value]:
                        if isinstance(item, str):
                            yield item
                        elif isinstance(item, Mapping) and isinstance(item.get("type"), str):
                            yield item["type"]
                            if nested:
                                stack.append(item)
                elif isinstance(value, Mapping | list | tuple):
                    stack.append(value)
        elif isinstance(node, list | tuple):
            stack.extend(node)


def lenient_targets(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` whose targets only xstate-statemachine resolves are absolute and
    whose ``stateIn`` guards are ``in`` keys (see the module docstring); the caller's config
    is not changed."""
    result = _Rewriter(config).state((), config)
    return result if isinstance(result, dict) else dict(config)
