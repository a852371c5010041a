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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from statefleet.core import ChartDefinitionError

__all__ = [
    "ActionSpec",
    "Event",
    "GuardSpec",
    "Region",
    "State",
    "StateType",
    "Timeout",
    "Transition",
    "model_config",
]


class StateType(enum.StrEnum):
    """A state's ``type``."""

    INITIAL = "initial"
    STABLE = "stable"
    TERMINAL = "terminal"
    ERROR = "error"
    PARALLEL = "parallel"


@dataclass(frozen=True, slots=True)
class GuardSpec:
    """A transition guard: a registered guard by ``name``, or an inline ``expr``."""

    name: str | None = None
    expr: str | None = None

    def to_config(self) -> Any:
        """The YAML form: the name, or ``{"expr": ...}``."""
        if (self.name is None) == (self.expr is None):
            raise ChartDefinitionError(
                "a GuardSpec needs exactly one of name= or expr=", path="GuardSpec"
            )
        return self.name if self.name is not None else {"expr": self.expr}


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action by registered ``name``, with optional ``params``."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_config(self) -> Any:
        """The YAML form: the name, or ``{"name": ..., "params": ...}``."""
        return {"name": self.name, "params": dict(self.params)} if self.params else self.name


@dataclass(frozen=True, slots=True)
class Timeout:
    """Leave the state for ``destination`` after ``seconds`` in it."""

    seconds: float | str
    destination: str
    description: str = ""

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {"seconds": self.seconds, "destination": self.destination}
        if self.description:
            out["description"] = self.description
        return out


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


@dataclass(frozen=True, slots=True)
class Transition:
    """A transition, with the YAML transition keys as fields (``source`` may list several
    states; ``after`` is a delay such as ``"5s"`` for a delayed transition)."""

    trigger: str | None
    source: str | Sequence[str]
    dest: str
    guards: Sequence[str | GuardSpec] = ()
    actions: Sequence[str | ActionSpec] = ()
    after: float | str | None = None
    internal: bool = False
    region: str | None = None
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {
            "source": self.source if isinstance(self.source, str) else list(self.source),
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
        return out


@dataclass(frozen=True, slots=True)
class Event:
    """A documented event (YAML ``events:``; documentation only)."""

    name: str
    description: str = ""

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
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
