"""The pystator config keys that only the front-end reads, taken out before the YAML reader.

The YAML reader (``formats._yaml``) builds the chart; these keys change nothing in it:

- ``groups`` (top level: ``{name: {description: ...}}``) and a state's ``group``: metadata
  for tooling, as in pystator. A state naming a group the ``groups`` section does not declare
  is a definition error (pystator accepts it silently).
- ``meta.event_normalizer: lower``: triggers sent are lowercased before matching; a
  top-level ``name``: the machine name when ``meta.machine_name`` does not give one.
- ``meta.classification`` (``entity_id_field``, ``timestamp_field``, ``source``,
  ``default_state``, ``auto_route``): checked and kept (``machine.classification``) for
  your own classifier; statefleet has no discovery engine.
- ``error_policy`` (``default_fallback``, ``retry_attempts``), ``meta.reject_invalid_events``,
  ``meta.strict_guard_registry`` and ``meta.orchestrator_default_fallback``: the
  :class:`~statefleet.compat.pystator.ErrorPolicy`.
- ``check:`` guards (``{check: {field:, op:, value:}}``) and composites (``allOf``,
  ``anyOf``, ``not``): guards named ``_check_<n>``, which the machine binds to their
  :class:`CheckSpec` / :class:`CompositeGuard`; a transition's ``ref``/``refs`` (the
  specification items it cites): kept on the model (``machine.transitions``).
- declarative effects among actions (``{set: {...}}``, ``{increment: field}``, ...): turned
  into actions named ``_effect_<type>`` with the effect's parameters, which
  :class:`ActionExecutor` applies (see :mod:`statefleet.compat.pystator.effects`).

Everything else goes to the reader unchanged, with the line numbers YAML gave it (the
mappings are copied, not rebuilt), so the reader's errors still point at the source.
:func:`read` does both steps: the chart and the :class:`Extras`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from statefleet.compat.pystator._checks import COMPOSITES, CheckSpec, CompositeGuard
from statefleet.compat.pystator._errors import ErrorPolicy
from statefleet.compat.pystator._registries import ActionRegistry
from statefleet.compat.pystator.effects import (
    EFFECT_ACTIONS,
    EFFECT_TYPES,
    EffectError,
    effect_action_name,
    effect_params,
)
from statefleet.core import Chart, ChartDefinitionError
from statefleet.formats._input import MAX_YAML_BYTES, read_source
from statefleet.formats._resolve import Problems, did_you_mean

# the reader's YAML loading (line numbers, duplicate keys, nesting limits)
from statefleet.formats._yaml import from_yaml, load_yaml_text, looks_like_yaml_text

__all__ = ["Extras", "meta_with", "policy_config", "prepare", "read"]

_META_EXTRAS = (
    "event_normalizer",
    "classification",
    "reject_invalid_events",
    "strict_guard_registry",
    "orchestrator_default_fallback",
)
_POLICY_KEYS = ("default_fallback", "retry_attempts")
#: keys pystator documents as ignored under ``error_policy``: accepted, with no effect
_POLICY_IGNORED = ("strict_mode", "on_invalid_trigger")
_CLASSIFICATION_KEYS = (
    "entity_id_field",
    "timestamp_field",
    "source",
    "default_state",
    "auto_route",
)
_FALLBACK_MODES = ("off", "hint", "persist")


@dataclass(frozen=True)
class Extras:
    """What the front-end keeps from the keys taken out of a config."""

    error_policy: ErrorPolicy = field(default_factory=ErrorPolicy)
    #: group name -> its description (None when it has none), in declaration order
    groups: dict[str, str | None] = field(default_factory=dict)
    #: state name -> the group it belongs to
    state_groups: dict[str, str] = field(default_factory=dict)
    #: ``meta.classification`` as given (None when absent)
    classification: dict[str, Any] | None = None
    #: ``meta.orchestrator_default_fallback``
    orchestrator_default_fallback: str = "off"
    #: ``meta.event_normalizer``: ``"lower"`` lowercases the triggers sent, or None
    event_normalizer: str | None = None
    #: the action names the config's effects became (``_effect_set``, ...)
    effects: frozenset[str] = frozenset()
    #: the guard names the config's ``check:`` guards became, and their checks
    checks: dict[str, CheckSpec | CompositeGuard] = field(default_factory=dict)
    #: the config as given (before the front-end's keys were taken out), for the model
    source: Mapping[Any, Any] = field(default_factory=dict)


def _line(mapping: Any, key: Any = None) -> int | None:
    """The source line of ``mapping`` (or of its ``key``), when YAML gave one."""
    lines = getattr(mapping, "key_lines", None)
    if key is not None and isinstance(lines, dict) and key in lines:
        line: int | None = lines[key]
        return line
    return getattr(mapping, "line", None)


def _without(mapping: Mapping[Any, Any], keys: tuple[str, ...]) -> Mapping[Any, Any]:
    """``mapping`` less ``keys``: a copy of the same type (keeping its line numbers)."""
    if not any(k in mapping for k in keys):
        return mapping
    out = copy.copy(mapping) if isinstance(mapping, dict) else dict(mapping)
    for k in keys:
        out.pop(k, None)
    return out


def load(source: Any) -> Any:
    """The config mapping of ``source`` (a mapping, YAML text, bytes or a path)."""
    if isinstance(source, Mapping):
        return source
    src = read_source(
        source,
        fmt="YAML",
        suffixes=(".yaml", ".yml"),
        looks_like_text=looks_like_yaml_text,
        limit=MAX_YAML_BYTES,
    )
    if src.text.lstrip().startswith("<"):
        return source  # the reader says what this is
    config = load_yaml_text(src.text, src.where)
    return config if isinstance(config, Mapping) else source


class _Preparer:
    """One pass over a config: collects the extras and problems, rewrites effects."""

    def __init__(self, config: Mapping[Any, Any]) -> None:
        self.config = config
        self.problems = Problems()
        self.effects: set[str] = set()
        self.checks: dict[str, CheckSpec | CompositeGuard] = {}
        self.state_names: list[str] = []
        states = config.get("states")
        if isinstance(states, list):
            self.state_names = [
                s["name"]
                for s in states
                if isinstance(s, Mapping) and isinstance(s.get("name"), str)
            ]

    # -- top level ---------------------------------------------------------------------------
    def run(self) -> tuple[Mapping[Any, Any], Extras]:
        cfg = self.config
        meta = cfg.get("meta")
        groups = self.groups(cfg.get("groups"), _line(cfg, "groups"))
        meta_extra: dict[str, Any] = {}
        if isinstance(meta, Mapping):
            meta_extra = {k: meta[k] for k in _META_EXTRAS if k in meta}
        policy = self.policy(cfg, meta if isinstance(meta, Mapping) else {}, meta_extra)
        classification = self.classification(meta_extra.get("classification"), meta)
        mode = meta_extra.get("orchestrator_default_fallback", "off")
        if mode not in _FALLBACK_MODES:
            self.problems.add(
                "meta.orchestrator_default_fallback",
                f"orchestrator_default_fallback is one of {', '.join(_FALLBACK_MODES)}, "
                f"got {mode!r}",
                _line(meta, "orchestrator_default_fallback"),
            )
        normalizer = self.normalizer(meta_extra.get("event_normalizer"), meta)
        out = _without(cfg, ("error_policy", "name"))
        if isinstance(meta, Mapping) and meta_extra:
            out = self.replaced(out, "meta", _without(meta, _META_EXTRAS))
        if "name" in cfg:
            out = self.top_name(cfg, out)
        state_groups: dict[str, str] = {}
        states = cfg.get("states")
        if isinstance(states, list):
            new_states = [self.state(i, s, groups, state_groups) for i, s in enumerate(states)]
            if any(a is not b for a, b in zip(new_states, states, strict=True)):
                out = self.replaced(out, "states", self.same_list(states, new_states))
        transitions = cfg.get("transitions")
        if isinstance(transitions, list):
            new_ts = [self.transition(i, t) for i, t in enumerate(transitions)]
            if any(a is not b for a, b in zip(new_ts, transitions, strict=True)):
                out = self.replaced(out, "transitions", self.same_list(transitions, new_ts))
        self.problems.raise_if_any()
        extras = Extras(
            error_policy=policy,
            groups=groups or {},
            state_groups=state_groups,
            classification=classification,
            orchestrator_default_fallback=mode if mode in _FALLBACK_MODES else "off",
            event_normalizer=normalizer,
            effects=frozenset(self.effects),
            checks=self.checks,
            source=cfg,
        )
        return out, extras

    def top_name(self, cfg: Mapping[Any, Any], out: Mapping[Any, Any]) -> Mapping[Any, Any]:
        """A top-level ``name`` (pystator accepts one): the machine name, unless
        ``meta.machine_name`` gives it."""
        name = cfg["name"]
        if not isinstance(name, str) or not name.strip():
            self.problems.add("name", "name must be a non-empty string", _line(cfg, "name"))
            return out
        meta = out.get("meta")
        if meta is None:
            return self.replaced(out, "meta", {"machine_name": name})
        if isinstance(meta, Mapping) and "machine_name" not in meta:
            return self.replaced(out, "meta", self.replaced(meta, "machine_name", name))
        return out

    @staticmethod
    def replaced(mapping: Mapping[Any, Any], key: str, value: Any) -> Mapping[Any, Any]:
        out = copy.copy(mapping) if isinstance(mapping, dict) else dict(mapping)
        out[key] = value
        return out

    @staticmethod
    def same_list(old: list[Any], items: list[Any]) -> list[Any]:
        """``items`` in a list of ``old``'s type (YAML lists carry nothing, but be exact)."""
        out = copy.copy(old)
        out[:] = items
        return out

    def normalizer(self, value: Any, meta: Any) -> str | None:
        if value is None or value == "lower":
            return "lower" if value else None
        why = (
            "triggers are lowercase names here, so 'upper' would match none: use 'lower'"
            if value == "upper"
            else f"event_normalizer is 'lower', got {value!r}"
        )
        self.problems.add("meta.event_normalizer", why, _line(meta, "event_normalizer"))
        return None

    # -- groups ------------------------------------------------------------------------------
    def groups(self, value: Any, line: int | None) -> dict[str, str | None] | None:
        """The declared groups (None when there is no ``groups`` section)."""
        if value is None:
            return None
        out: dict[str, str | None] = {}
        if isinstance(value, list):  # a list of names, or of {name, description}
            for i, g in enumerate(value):
                name = g.get("name") if isinstance(g, Mapping) else g
                desc = g.get("description") if isinstance(g, Mapping) else None
                self.group_entry(f"groups[{i}]", name, desc, out, _line(g) or line)
        elif isinstance(value, Mapping):
            for name, body in value.items():
                if body is not None and not isinstance(body, Mapping):
                    self.problems.add(
                        f"groups.{name}",
                        f"a group is a mapping with an optional description, got {body!r}",
                        _line(value, name),
                    )
                    continue
                desc = body.get("description") if isinstance(body, Mapping) else None
                self.group_entry(f"groups.{name}", name, desc, out, _line(value, name))
        return out

    def group_entry(
        self, path: str, name: Any, desc: Any, out: dict[str, str | None], line: int | None
    ) -> None:
        if not isinstance(name, str) or not name:
            self.problems.add(path, f"a group name is a non-empty string, got {name!r}", line)
        elif desc is not None and not isinstance(desc, str):
            self.problems.add(f"{path}.description", "a description is a string", line)
        else:
            out[name] = desc

    # -- error policy ------------------------------------------------------------------------
    def policy(
        self, cfg: Mapping[Any, Any], meta: Mapping[Any, Any], extra: dict[str, Any]
    ) -> ErrorPolicy:
        flags: dict[str, bool | None] = {}
        for key in ("reject_invalid_events", "strict_guard_registry"):
            v = extra.get(key)
            if v is not None and not isinstance(v, bool):
                self.problems.add(f"meta.{key}", f"{key} must be true or false", _line(meta, key))
                v = None
            flags[key] = v
        strict = meta.get("strict_mode", True)
        policy = ErrorPolicy(
            strict_mode=strict if isinstance(strict, bool) else True,
            reject_invalid_events=flags["reject_invalid_events"],
            strict_guard_registry=flags["strict_guard_registry"],
        )
        raw = cfg.get("error_policy")
        if raw is None:
            return policy
        if not isinstance(raw, Mapping):
            self.problems.add(
                "error_policy", "error_policy must be a mapping", _line(cfg, "error_policy")
            )
            return policy
        for key in raw:
            if key not in _POLICY_KEYS and key not in _POLICY_IGNORED:
                self.problems.add(
                    f"error_policy.{key}",
                    f"unknown key {key!r} in error_policy"
                    f"{did_you_mean(key, (*_POLICY_KEYS, *_POLICY_IGNORED))}",
                    _line(raw, key),
                )
        fallback = raw.get("default_fallback")
        if fallback is not None and fallback not in self.state_names:
            self.problems.add(
                "error_policy.default_fallback",
                f"default_fallback {fallback!r} is not a state"
                f"{did_you_mean(fallback, self.state_names)}",
                _line(raw, "default_fallback"),
            )
        retries = raw.get("retry_attempts", 0)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            self.problems.add(
                "error_policy.retry_attempts",
                f"retry_attempts is a whole number >= 0, got {retries!r}",
                _line(raw, "retry_attempts"),
            )
            retries = 0
        policy.default_fallback = fallback if isinstance(fallback, str) else None
        policy.retry_attempts = retries
        return policy

    # -- classification ----------------------------------------------------------------------
    def classification(self, value: Any, meta: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problems.add(
                "meta.classification",
                "classification must be a mapping",
                _line(meta, "classification"),
            )
            return None
        for key, v in value.items():
            path = f"meta.classification.{key}"
            if key not in _CLASSIFICATION_KEYS:
                self.problems.add(
                    path,
                    f"unknown key {key!r} in meta.classification"
                    f"{did_you_mean(key, _CLASSIFICATION_KEYS)}",
                    _line(value, key),
                )
            elif key == "auto_route" and not isinstance(v, bool):
                self.problems.add(path, "auto_route must be true or false", _line(value, key))
            elif key == "default_state" and v is not None and v not in self.state_names:
                self.problems.add(
                    path,
                    f"default_state {v!r} is not a state{did_you_mean(v, self.state_names)}",
                    _line(value, key),
                )
            elif key != "auto_route" and v is not None and not isinstance(v, str):
                self.problems.add(path, f"{key} must be a string", _line(value, key))
        return dict(value)

    # -- states and transitions --------------------------------------------------------------
    def state(
        self,
        index: int,
        state: Any,
        groups: dict[str, str | None] | None,
        state_groups: dict[str, str],
    ) -> Any:
        if not isinstance(state, Mapping):
            return state
        name = state.get("name")
        path = f"states[{index}]" + (f"({name})" if isinstance(name, str) else "")
        if "group" in state:
            group = state["group"]
            if not isinstance(group, str) or not group:
                self.problems.add(
                    f"{path}.group", f"group is a group name, got {group!r}", _line(state, "group")
                )
            elif groups is not None and group not in groups:
                self.problems.add(
                    f"{path}.group",
                    f"group {group!r} is not declared in groups{did_you_mean(group, groups)}",
                    _line(state, "group"),
                )
            elif isinstance(name, str):
                state_groups[name] = group
            state = _without(state, ("group",))
        for key in ("on_enter", "on_exit"):
            state = self.with_effects(state, key, f"{path}.{key}")
        return state

    def transition(self, index: int, t: Any) -> Any:
        if not isinstance(t, Mapping):
            return t
        trig = t.get("trigger")
        path = f"transitions[{index}]" + (f"({trig})" if isinstance(trig, str) else "")
        for key in ("ref", "refs"):
            if key in t:
                self.refs(t, key, f"{path}.{key}")
        t = _without(t, ("ref", "refs"))
        t = self.with_checks(t, f"{path}.guards")
        return self.with_effects(t, "actions", f"{path}.actions")

    def refs(self, t: Mapping[Any, Any], key: str, path: str) -> None:
        """``ref`` (one) or ``refs`` (a list): the specification items a transition cites."""
        value = t[key]
        ok = (
            isinstance(value, str)
            if key == "ref"
            else (isinstance(value, list) and all(isinstance(v, str) for v in value))
        )
        if not ok:
            what = "a string" if key == "ref" else "a list of strings"
            self.problems.add(path, f"{key} is {what}, got {value!r}", _line(t, key))

    def with_checks(self, t: Mapping[Any, Any], path: str) -> Any:
        """``t`` with its ``check:`` guards turned into guards named ``_check_<n>``."""
        guards = t.get("guards")
        if not isinstance(guards, list):
            return t
        new = [self.check(g, f"{path}[{i}]") for i, g in enumerate(guards)]
        if all(a is b for a, b in zip(new, guards, strict=True)):
            return t
        return self.replaced(t, "guards", self.same_list(guards, new))

    def check(self, guard: Any, path: str) -> Any:
        """A ``check:`` or composite guard as a named guard ``_check_<n>``."""
        if not isinstance(guard, Mapping) or not any(
            k == "check" or k in COMPOSITES for k in guard
        ):
            return guard
        if len(guard) > 1:
            keys = ", ".join(repr(k) for k in guard)
            self.problems.add(path, f"a declarative guard is one key, got {keys}", _line(guard))
            return guard
        try:
            spec: CheckSpec | CompositeGuard = (
                CheckSpec.from_config(guard["check"])
                if "check" in guard
                else CompositeGuard.from_config(guard)
            )
        except ChartDefinitionError as exc:
            self.problems.add(path, exc.message, _line(guard))
            return guard
        name = f"_check_{len(self.checks)}"
        self.checks[name] = spec
        return name

    def with_effects(self, owner: Mapping[Any, Any], key: str, path: str) -> Any:
        """``owner`` with the effects in its action list ``key`` turned into named actions."""
        actions = owner.get(key)
        if not isinstance(actions, list):
            return owner
        new = [self.action(a, f"{path}[{i}]") for i, a in enumerate(actions)]
        if all(a is b for a, b in zip(new, actions, strict=True)):
            return owner
        return self.replaced(owner, key, self.same_list(actions, new))

    def action(self, action: Any, path: str) -> Any:
        if not isinstance(action, Mapping) or "name" in action:
            return action
        kinds = [k for k in action if k in EFFECT_TYPES or k == "compute"]
        if not kinds:
            return action
        line = _line(action)
        if len(action) > 1:
            others = ", ".join(repr(k) for k in action if k != kinds[0])
            self.problems.add(path, f"an effect is one key; {kinds[0]!r} has {others} too", line)
            return action
        kind = kinds[0]
        if kind == "compute":
            self.problems.add(
                path,
                "the 'compute' effect is not supported (it would evaluate expressions in an "
                "action): compute the values in a registered action",
                line,
            )
            return action
        try:
            params = effect_params(kind, action[kind])
        except EffectError as exc:
            self.problems.add(path, str(exc), line)
            return action
        out: dict[str, Any] = {"name": effect_action_name(kind)}
        self.effects.add(out["name"])
        if params:
            out["params"] = params
        return out


def prepare(source: Any) -> tuple[Any, Extras]:
    """Take the front-end's keys out of ``source`` (YAML text, a path or a mapping): the
    config for the reader and the :class:`Extras`. A source that is not a mapping once
    loaded goes to the reader as it is (it reports what is wrong)."""
    config = load(source)
    if not isinstance(config, Mapping):
        return config, Extras()
    return _Preparer(config).run()


def read(
    source: Any,
    guards: Mapping[str, Callable[..., Any]] | None,
    actions: Mapping[str, Callable[..., Any]] | None,
) -> tuple[Chart, Extras]:
    """Read a pystator config: the front-end's keys out, the rest through the YAML reader."""
    config, extras = prepare(source)
    if actions is not None and extras.effects:
        # Effects need no registration; the reader checks every action name against the
        # ``actions`` given, so the effects used are put next to them.
        if isinstance(actions, ActionRegistry):
            for name in extras.effects - set(actions):
                actions.register(name, EFFECT_ACTIONS[name])
        else:
            actions = {**{n: EFFECT_ACTIONS[n] for n in extras.effects}, **actions}
    return from_yaml(config, guards=guards, actions=actions), extras


def meta_with(
    meta: Mapping[str, Any] | None, policy: ErrorPolicy | Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """``meta`` with an :class:`ErrorPolicy`'s strictness (its ``strict_mode`` as the two
    runtime switches it stands for; ``meta.strict_mode`` also shapes the definition)."""
    if not isinstance(policy, ErrorPolicy):
        return meta
    out = dict(meta or {})
    reject, strict_guards = policy.reject_invalid_events, policy.strict_guard_registry
    out.setdefault("reject_invalid_events", policy.strict_mode if reject is None else reject)
    out.setdefault(
        "strict_guard_registry", policy.strict_mode if strict_guards is None else strict_guards
    )
    return out


def policy_config(policy: ErrorPolicy | Mapping[str, Any]) -> dict[str, Any]:
    """The config's ``error_policy`` mapping for ``policy``."""
    if isinstance(policy, ErrorPolicy):
        out: dict[str, Any] = {"retry_attempts": policy.retry_attempts}
        if policy.default_fallback is not None:
            out["default_fallback"] = policy.default_fallback
        return out
    if isinstance(policy, Mapping):
        return dict(policy)
    raise TypeError(f"error_policy is an ErrorPolicy or a mapping, got {type(policy).__name__}")
