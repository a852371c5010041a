"""pystator's programmatic model: build a machine in code instead of YAML.

``State``, ``Transition``, ``GuardSpec``, ``ActionSpec``, ``Region``, ``Timeout`` and
``Event`` carry the same fields as the YAML keys they stand for (``State(name, type=...,
parent=..., initial_child=..., regions=..., on_enter=..., on_exit=..., timeout=...)``,
``Transition(trigger, source, dest, guards=..., actions=..., after=..., region=...)``);
``StateMachine(states, transitions, meta=...)`` turns them into the config mapping and reads it
with the YAML reader, so a machine built in code is checked and compiled exactly like the same
machine written in YAML (same errors, same paths).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from statefleet.compat.pystator._checks import CheckSpec
from statefleet.compat.pystator.effects import (
    EFFECT_TYPES,
    effect_of,
    effect_params,
    shown_effect_name,
)
from statefleet.core import ChartDefinitionError
from statefleet.formats._yaml import NAME_RE

__all__ = [
    "ActionSpec",
    "Event",
    "GuardSpec",
    "ModelError",
    "Region",
    "State",
    "StateType",
    "Timeout",
    "Transition",
    "model_config",
]


class ModelError(ChartDefinitionError, ValueError):
    """A model object that cannot be right (an empty name, a negative timeout...), raised
    when it is made; also a ``ValueError``, what pystator raises for these."""


def _require(ok: bool, what: str, message: str) -> None:
    if not ok:
        raise ModelError(message, path=what)


class StateType(enum.StrEnum):
    """A state's ``type``."""

    INITIAL = "initial"
    STABLE = "stable"
    TERMINAL = "terminal"
    ERROR = "error"
    PARALLEL = "parallel"


@dataclass(frozen=True, slots=True)
class GuardSpec:
    """A transition guard: a registered guard by ``name``, an inline ``expr``, a declarative
    ``check`` (a :class:`CheckSpec`), or a composite of guards (``all_of``, ``any_of``,
    ``negate``: pystator's ``allOf``, ``anyOf``, ``not``)."""

    name: str | None = None
    expr: str | None = None
    check: CheckSpec | None = None
    all_of: tuple[GuardSpec, ...] = ()
    any_of: tuple[GuardSpec, ...] = ()
    negate: GuardSpec | None = None

    def __post_init__(self) -> None:
        kinds = (self.name, self.expr, self.check, self.all_of, self.any_of, self.negate)
        given = sum(1 for x in kinds if x is not None and x != ())
        fields = "name=, expr=, check=, all_of=, any_of= or negate="
        _require(given > 0, "GuardSpec", f"a GuardSpec must have one of {fields}")
        _require(given < 2, "GuardSpec", f"a GuardSpec can only have one of {fields}")

    def names(self) -> set[str]:
        """The registered guards this spec names, inside composites too."""
        if self.name is not None:
            return {self.name}
        out: set[str] = set()
        for child in (*self.all_of, *self.any_of, *([self.negate] if self.negate else [])):
            out |= child.names()
        return out

    @property
    def is_expression(self) -> bool:
        """Is this an inline ``expr`` guard?"""
        return self.expr is not None

    @property
    def is_check(self) -> bool:
        """Is this a declarative ``check`` guard?"""
        return self.check is not None

    @property
    def is_composite(self) -> bool:
        """Is this an ``allOf``, ``anyOf`` or ``not`` guard?"""
        return bool(self.all_of or self.any_of) or self.negate is not None

    @property
    def is_all_of(self) -> bool:
        """Is this an ``allOf`` guard?"""
        return bool(self.all_of)

    @property
    def is_any_of(self) -> bool:
        """Is this an ``anyOf`` guard?"""
        return bool(self.any_of)

    @property
    def is_negate(self) -> bool:
        """Is this a ``not`` guard?"""
        return self.negate is not None

    def to_config(self) -> Any:
        """The YAML form: the name, ``{"expr": ...}``, ``{"check": {...}}`` or a
        composite (``{"allOf": [...]}``, ``{"anyOf": [...]}``, ``{"not": ...}``)."""
        if self.check is not None:
            return {"check": self.check.to_config()}
        if self.all_of:
            return {"allOf": [g.to_config() for g in self.all_of]}
        if self.any_of:
            return {"anyOf": [g.to_config() for g in self.any_of]}
        if self.negate is not None:
            return {"not": self.negate.to_config()}
        return self.name if self.name is not None else {"expr": self.expr}

    @classmethod
    def from_config(cls, config: Any) -> GuardSpec:
        """The spec of a YAML guard entry: a name, ``{"expr": ...}``, ``"expr: ..."``,
        ``{"check": {...}}`` or a composite."""
        if isinstance(config, str):
            if config.startswith("expr:"):
                return cls(expr=config[len("expr:") :].strip())
            return cls(name=config)
        if isinstance(config, Mapping) and len(config) == 1:
            ((key, value),) = config.items()
            if key == "expr":
                return cls(expr=value)
            if key == "check":
                return cls(check=CheckSpec.from_config(value))
            if key == "not":
                return cls(negate=cls.from_config(value))
            if key in ("allOf", "anyOf"):
                if not isinstance(value, list) or not value:
                    raise ModelError(f"{key} requires a non-empty list of guards", path=key)
                children = tuple(cls.from_config(v) for v in value)
                return cls(all_of=children) if key == "allOf" else cls(any_of=children)
        if isinstance(config, Mapping) and "name" in config:
            return cls(name=config["name"])
        raise ChartDefinitionError(f"invalid guard entry: {config!r}", path="GuardSpec")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action by registered ``name``, with optional ``params``; or a declarative effect
    (``effect`` is its type, ``name`` is ``"_effect.<type>"``, ``params`` its parameters:
    see :mod:`statefleet.compat.pystator.effects`)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    effect: str | None = None

    @property
    def is_effect(self) -> bool:
        """Is this a declarative effect rather than a registered action?"""
        return self.effect is not None

    @property
    def has_params(self) -> bool:
        """Does this action have parameters?"""
        return bool(self.params)

    def to_config(self) -> Any:
        """The YAML form: the name, ``{"name": ..., "params": ...}`` or the effect's key."""
        if self.effect is not None:
            if self.effect in ("set", "append"):
                return {self.effect: dict(self.params)}
            return {self.effect: self.params.get("field")}
        return {"name": self.name, "params": dict(self.params)} if self.params else self.name

    @classmethod
    def from_config(cls, config: Any) -> ActionSpec:
        """The spec of a YAML action entry: a name, ``{"name": ..., "params": ...}`` or an
        effect (``{"set": {...}}``, ``{"increment": "field"}``, ...). Raises
        :class:`~statefleet.compat.pystator.effects.EffectError` (a ``ValueError``) for an
        effect of the wrong shape, :class:`~statefleet.ChartDefinitionError` otherwise."""
        if isinstance(config, str):
            return cls(config)
        if isinstance(config, Mapping):
            if "name" in config:
                name, params = config["name"], dict(config.get("params") or {})
                effect = effect_of(name) if isinstance(name, str) else None
                if effect is not None:  # an effect as the YAML reader names it
                    return cls(shown_effect_name(effect), params, effect)
                return cls(name, params)
            kinds = [k for k in config if k in EFFECT_TYPES]
            if len(config) == 1 and kinds:
                params = effect_params(kinds[0], config[kinds[0]])
                return cls(shown_effect_name(kinds[0]), params, kinds[0])
        raise ChartDefinitionError(f"invalid action entry: {config!r}", path="ActionSpec")


@dataclass(frozen=True, slots=True)
class Timeout:
    """Leave the state for ``destination`` after ``seconds`` in it."""

    seconds: float | str
    destination: str
    description: str = ""

    def __post_init__(self) -> None:
        number = isinstance(self.seconds, int | float) and not isinstance(self.seconds, bool)
        _require(
            not number or float(self.seconds) > 0,
            "Timeout.seconds",
            f"timeout seconds must be positive, got {self.seconds!r}",
        )
        _require(
            isinstance(self.destination, str) and bool(self.destination),
            "Timeout.destination",
            "a timeout's destination cannot be empty",
        )

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {"seconds": self.seconds, "destination": self.destination}
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Timeout:
        """The timeout of a YAML ``timeout:`` mapping."""
        return cls(config["seconds"], config["destination"], config.get("description") or "")


@dataclass(frozen=True, slots=True)
class Region:
    """An orthogonal region of a parallel state: its ``initial`` state and ``states``."""

    name: str
    initial: str
    states: Sequence[str] = ()
    description: str = ""

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {"name": self.name, "initial": self.initial}
        if self.states:
            out["states"] = list(self.states)
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Region:
        """The region of a YAML region mapping."""
        return cls(
            config["name"],
            config["initial"],
            tuple(config.get("states") or ()),
            config.get("description") or "",
        )


def _listed(value: Any) -> list[Any]:
    """A YAML value that may be one item or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _names(items: Iterable[Any]) -> list[Any]:
    return [i.to_config() if isinstance(i, ActionSpec | GuardSpec) else i for i in items]


@dataclass(frozen=True, slots=True)
class State:
    """A state, with the YAML state keys as fields."""

    name: str
    type: StateType | str = StateType.STABLE
    description: str = ""
    parent: str | None = None
    initial_child: str | None = None
    regions: Sequence[Region] = ()
    on_enter: Sequence[str | ActionSpec] = ()
    on_exit: Sequence[str | ActionSpec] = ()
    timeout: Timeout | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    group: str | None = None

    def __post_init__(self) -> None:
        _require(
            isinstance(self.name, str) and bool(self.name),
            "State.name",
            "a state name cannot be empty",
        )
        _require(
            bool(NAME_RE.match(self.name)),
            "State.name",
            f"state name {self.name!r} is invalid: use lowercase letters, digits and underscores",
        )

    @property
    def is_error(self) -> bool:
        """Is this an ``error`` state?"""
        return bool(self.type == StateType.ERROR)

    @property
    def has_timeout(self) -> bool:
        """Does this state have a ``timeout``?"""
        return self.timeout is not None

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value if isinstance(self.type, StateType) else self.type,
        }
        for key in ("description", "parent", "initial_child", "group"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.regions:
            out["regions"] = [r.to_config() if isinstance(r, Region) else r for r in self.regions]
        if self.on_enter:
            out["on_enter"] = _names(self.on_enter)
        if self.on_exit:
            out["on_exit"] = _names(self.on_exit)
        if self.timeout is not None:
            out["timeout"] = (
                self.timeout.to_config() if isinstance(self.timeout, Timeout) else self.timeout
            )
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out

    @property
    def is_initial(self) -> bool:
        """Is this the machine's ``initial`` state?"""
        return bool(self.type == StateType.INITIAL)

    @property
    def is_terminal(self) -> bool:
        """Is this a ``terminal`` state?"""
        return bool(self.type == StateType.TERMINAL)

    @property
    def is_parallel(self) -> bool:
        """Is this a ``parallel`` state?"""
        return bool(self.type == StateType.PARALLEL)

    @property
    def is_compound(self) -> bool:
        """Does this state have children (an ``initial_child``)?"""
        return self.initial_child is not None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> State:
        """The state of a YAML state mapping (effects among its actions included)."""
        raw_type = config.get("type", "stable")
        timeout = config.get("timeout")
        return cls(
            config["name"],
            StateType(raw_type) if raw_type in set(StateType) else raw_type,
            config.get("description") or "",
            config.get("parent"),
            config.get("initial_child"),
            tuple(Region.from_config(r) for r in config.get("regions") or ()),
            tuple(ActionSpec.from_config(a) for a in _listed(config.get("on_enter"))),
            tuple(ActionSpec.from_config(a) for a in _listed(config.get("on_exit"))),
            Timeout.from_config(timeout) if isinstance(timeout, Mapping) else None,
            dict(config.get("metadata") or {}),
            config.get("group"),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """A transition, with the YAML transition keys as fields (``source`` may list several
    states; ``after`` is a delay such as ``"5s"`` for a delayed transition)."""

    trigger: str | None
    source: str | Collection[str]
    dest: str
    guards: Sequence[str | GuardSpec] = ()
    actions: Sequence[str | ActionSpec] = ()
    after: float | str | None = None
    internal: bool = False
    region: str | None = None
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    refs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(self.trigger != "", "Transition.trigger", "a trigger cannot be empty")
        _require(
            isinstance(self.dest, str) and bool(self.dest),
            "Transition.dest",
            "a transition's dest cannot be empty",
        )
        _require(bool(self.source), "Transition.source", "a transition needs a source state")

    @classmethod
    def from_single_source(
        cls,
        trigger: str | None,
        source: str,
        dest: str,
        guards: Sequence[str | GuardSpec] = (),
        actions: Sequence[str | ActionSpec] = (),
        **more: Any,
    ) -> Transition:
        """A transition from the one state ``source``."""
        return cls(trigger, frozenset({source}), dest, tuple(guards), tuple(actions), **more)

    def matches_source(self, state: str) -> bool:
        """Is ``state`` one of the source states (by name; not its ancestors)?"""
        return state in self.sources

    def has_guards(self) -> bool:
        """Does this transition have guards?"""
        return bool(self.guards)

    def has_actions(self) -> bool:
        """Does this transition have actions?"""
        return bool(self.actions)

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {
            "source": self.source
            if isinstance(self.source, str)
            else sorted(self.source)
            if isinstance(self.source, AbstractSet)
            else list(self.source),
            "dest": self.dest,
        }
        if self.trigger is not None:
            out["trigger"] = self.trigger
        if self.guards:
            out["guards"] = _names(self.guards)
        if self.actions:
            out["actions"] = _names(self.actions)
        if self.after is not None:
            out["after"] = self.after
        if self.internal:
            out["internal"] = True
        for key in ("region", "description"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        if self.refs:
            out["refs"] = list(self.refs)
        return out

    @property
    def sources(self) -> frozenset[str]:
        """The source states, as a set."""
        return frozenset([self.source] if isinstance(self.source, str) else self.source)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Transition:
        """The transition of a YAML transition mapping (effects among its actions included)."""
        source = config["source"]
        return cls(
            config.get("trigger"),
            source if isinstance(source, str) else tuple(source),
            config.get("dest") or (source if isinstance(source, str) else ""),
            tuple(GuardSpec.from_config(g) for g in _listed(config.get("guards"))),
            tuple(ActionSpec.from_config(a) for a in _listed(config.get("actions"))),
            config.get("after"),
            bool(config.get("internal", False)),
            config.get("region"),
            config.get("description") or "",
            dict(config.get("metadata") or {}),
            tuple(config.get("refs") or ([config["ref"]] if config.get("ref") else [])),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """An event, as pystator's ``Event``: ``machine.process(state, Event("fill",
    {"qty": 5}))`` is ``process(state, "fill", {..., "qty": 5})`` (the payload merged into
    the context). In ``StateMachine(..., events=[...])`` the events document the triggers
    (YAML ``events:``: ``name`` is the trigger, ``metadata["description"]`` its text)."""

    trigger: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(
            isinstance(self.trigger, str) and bool(self.trigger),
            "Event.trigger",
            f"an event's trigger is a non-empty string, got {self.trigger!r}",
        )
        _require(
            isinstance(self.payload, Mapping),
            "Event.payload",
            f"an event's payload is a mapping, got {type(self.payload).__name__}",
        )

    def get(self, key: str, default: Any = None) -> Any:
        """A payload value, or ``default``."""
        return self.payload.get(key, default)

    @classmethod
    def simple(cls, trigger: str, **payload: Any) -> Event:
        """``Event(trigger, payload)``."""
        return cls(trigger, payload)

    def with_payload(self, **more: Any) -> Event:
        """This event with ``more`` added to its payload (the same id)."""
        return replace(self, payload={**self.payload, **more})

    def with_metadata(self, **more: Any) -> Event:
        """This event with ``more`` added to its metadata (the same id)."""
        return replace(self, metadata={**self.metadata, **more})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_dict` reads it back)."""
        return {
            "trigger": self.trigger,
            "payload": dict(self.payload),
            "event_id": str(self.event_id),
            "timestamp": self.timestamp.isoformat(),
            "source": self.source,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """The event of a :meth:`to_dict` dict (only ``trigger`` is required); a
        :class:`ModelError` names what is wrong."""
        if not isinstance(data, Mapping):
            raise ModelError(f"an event dict is a mapping, got {type(data).__name__}", path="Event")
        extra: dict[str, Any] = {}
        try:
            if data.get("event_id") is not None:
                extra["event_id"] = uuid.UUID(str(data["event_id"]))
            if data.get("timestamp") is not None:
                extra["timestamp"] = datetime.fromisoformat(str(data["timestamp"]))
        except ValueError as exc:
            raise ModelError(f"invalid event dict: {exc}", path="Event") from exc
        return cls(
            data.get("trigger", ""),
            dict(data.get("payload") or {}),
            source=str(data.get("source") or ""),
            metadata=dict(data.get("metadata") or {}),
            **extra,
        )

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def __contains__(self, key: object) -> bool:
        return key in self.payload

    def to_config(self) -> dict[str, Any]:
        """The YAML ``events:`` entry documenting this event's trigger."""
        out: dict[str, Any] = {"name": self.trigger}
        description = self.metadata.get("description")
        if description:
            out["description"] = description
        return out


def model_config(
    states: Mapping[str, State] | Sequence[State],
    transitions: Sequence[Transition],
    meta: Mapping[str, Any] | None = None,
    events: Sequence[Event] = (),
) -> dict[str, Any]:
    """The config mapping for a machine built from model objects (``states`` keyed by name,
    as pystator takes them, or a list)."""
    if isinstance(states, Mapping):
        for key, st in states.items():
            if isinstance(st, State) and key != st.name:
                raise ChartDefinitionError(
                    f"states[{key!r}] is the State named {st.name!r}: the keys must be the names",
                    path=f"states.{key}",
                )
        items: list[Any] = list(states.values())
    elif isinstance(states, Sequence) and not isinstance(states, str | bytes):
        items = list(states)
    else:
        raise ChartDefinitionError(
            f"states is a mapping of names to State objects or a list of them, not "
            f"{type(states).__name__}",
            path="states",
        )
    for where, group, cls in (
        ("states", items, State),
        ("transitions", list(transitions), Transition),
        ("events", list(events), Event),
    ):
        for i, item in enumerate(group):
            if not isinstance(item, cls):
                raise ChartDefinitionError(
                    f"expected a {cls.__name__}, got {type(item).__name__}",
                    path=f"{where}[{i}]",
                )
    config: dict[str, Any] = {
        "states": [s.to_config() for s in items],
        "transitions": [t.to_config() for t in transitions],
    }
    if meta:
        config["meta"] = dict(meta)
    if events:
        config["events"] = [e.to_config() for e in events]
    return config
