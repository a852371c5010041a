"""pystator's declarative effects: context changes written in the YAML instead of Python.

An action entry that is one of these keys is an effect, run by :class:`ActionExecutor` (and
by sessions) in its place among the other actions, on the context it is given:

==============================  ===============================================================
``{set: {key: value, ...}}``     set keys
``{timestamp: field}``           ``field`` = the current UTC time, ISO 8601
``{increment: field}``           ``field`` + 1 (a missing field counts as 0)
``{decrement: field}``           ``field`` - 1 (a missing field counts as 0)
``{append: {field:, value:}}``   append ``value`` to the list ``field`` (created if missing)
``{clear: field}``               remove ``field`` (nothing if missing)
==============================  ===============================================================

``compute`` (set keys to inline expressions) is not supported: the YAML reader refuses it by
name. ``process`` stays pure: effects are returned in ``result.actions_to_run`` like other
actions (named ``_effect.<type>``, as pystator names them) and change nothing until run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from numbers import Number
from typing import Any

from statefleet.core import StatefleetError
from statefleet.formats._yaml import ActionCall

__all__ = [
    "EFFECT_ACTIONS",
    "EFFECT_TYPES",
    "EffectError",
    "apply_effect",
    "effect_action_name",
    "effect_of",
    "effect_params",
    "shown_calls",
    "shown_effect_name",
]

#: the effect types the YAML may use, as in pystator (``compute`` excepted: see above)
EFFECT_TYPES = frozenset({"set", "timestamp", "increment", "decrement", "append", "clear"})

#: the action name an effect has in the chart (``_effect_set``: the YAML reader's names are
#: ``[a-z0-9_]+``) and the one results show, as pystator names it (``_effect.set``)
_PREFIX = "_effect_"
_SHOWN = "_effect."


class EffectError(StatefleetError, ValueError, TypeError):
    """An effect that cannot be applied: an unknown type, parameters of the wrong shape, or
    a field of the wrong type in the context (incrementing a string, appending to a number).
    Also a ``ValueError`` and a ``TypeError``, the exceptions pystator raises for these."""


def effect_action_name(effect_type: str) -> str:
    """The chart's action name for an effect of ``effect_type`` (``"_effect_set"``)."""
    return _PREFIX + effect_type


def shown_effect_name(effect_type: str) -> str:
    """The name results show for an effect of ``effect_type`` (``"_effect.set"``)."""
    return _SHOWN + effect_type


def effect_of(action_name: str) -> str | None:
    """The effect type an action name stands for (either form), or None for an action."""
    for prefix in (_SHOWN, _PREFIX):
        if action_name.startswith(prefix) and action_name[len(prefix) :] in EFFECT_TYPES:
            return action_name[len(prefix) :]
    return None


def shown_calls(calls: Iterable[ActionCall]) -> tuple[ActionCall, ...]:
    """``calls`` with each effect under the name results show (``_effect.set``)."""
    out = []
    for c in calls:
        effect = effect_of(c.name)
        out.append(replace(c, name=shown_effect_name(effect)) if effect is not None else c)
    return tuple(out)


def effect_params(effect_type: str, value: Any) -> dict[str, Any]:
    """The parameters of an effect written ``{effect_type: value}`` in the YAML.

    Raises :class:`EffectError` naming what is wrong with ``value``.
    """
    if effect_type in ("set", "append"):
        if not isinstance(value, Mapping):
            raise EffectError(f"the {effect_type!r} effect requires a mapping, got {_kind(value)}")
        params = dict(value)
        if effect_type == "append" and not {"field", "value"} <= params.keys():
            raise EffectError("the 'append' effect requires {field: ..., value: ...}")
        if effect_type == "append" and not isinstance(params["field"], str):
            raise EffectError(
                f"the 'append' effect's field is a name, got {_kind(params['field'])}"
            )
        return params
    if effect_type in ("timestamp", "increment", "decrement", "clear"):
        if not isinstance(value, str) or not value:
            raise EffectError(
                f"the {effect_type!r} effect requires a field name, got {_kind(value)}"
            )
        return {"field": value}
    raise EffectError(f"unknown effect type {effect_type!r}: one of {sorted(EFFECT_TYPES)}")


def _kind(value: Any) -> str:
    return repr(value) if value is None else type(value).__name__


def _number(effect_type: str, field: str, ctx: Mapping[str, Any]) -> Any:
    value = ctx.get(field, 0)
    if isinstance(value, bool) or not isinstance(value, Number):
        raise EffectError(
            f"Cannot {effect_type} field {field!r}: expected a numeric value, got {_kind(value)}"
        )
    return value


def _set(params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    ctx.update(params)


def _timestamp(params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    ctx[params["field"]] = datetime.now(UTC).isoformat()


def _increment(params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    ctx[params["field"]] = _number("increment", params["field"], ctx) + 1


def _decrement(params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    ctx[params["field"]] = _number("decrement", params["field"], ctx) - 1


def _append(params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    field = params["field"]
    current = ctx.setdefault(field, [])
    if not isinstance(current, list):
        raise EffectError(
            f"Cannot append to field {field!r}: expected a list value, got {_kind(current)}"
        )
    current.append(params["value"])


def _clear(params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    ctx.pop(params["field"], None)


_APPLY: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], None]] = {
    "set": _set,
    "timestamp": _timestamp,
    "increment": _increment,
    "decrement": _decrement,
    "append": _append,
    "clear": _clear,
}


def apply_effect(effect_type: str, params: Mapping[str, Any], ctx: dict[str, Any]) -> None:
    """Apply one effect to the context dict ``ctx``, in place (pystator's ``apply_effect``).

    ``params`` is what :func:`effect_params` returns (``{"field": ...}`` for the one-field
    effects, the keys to set for ``set``). Raises :class:`EffectError`.
    """
    apply = _APPLY.get(effect_type)
    if apply is None:
        raise EffectError(f"Unknown effect type: {effect_type!r} (one of {sorted(EFFECT_TYPES)})")
    if effect_type != "set" and not isinstance(params.get("field"), str):
        raise EffectError(f"a {effect_type!r} effect needs a 'field' name in its params")
    if effect_type == "append" and "value" not in params:
        raise EffectError("an 'append' effect needs a 'value' in its params")
    apply(params, ctx)


def _effect_action(effect_type: str) -> Callable[[dict[str, Any]], None]:
    def run(ctx: dict[str, Any]) -> None:
        apply_effect(effect_type, ctx.get("_action_params") or {}, ctx)

    run.__name__ = effect_action_name(effect_type)
    run.__doc__ = f"The {effect_type!r} effect as an action: its params in _action_params."
    return run


#: each effect as an action function ``fn(context)`` (params in ``context["_action_params"]``,
#: as the YAML reader passes them), for drivers that run a chart's actions themselves
EFFECT_ACTIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    effect_action_name(t): _effect_action(t) for t in sorted(EFFECT_TYPES)
}
