"""The machine ``create_machine`` returns: a statefleet :class:`~statefleet.Chart` with
xstate-statemachine's ``MachineNode`` view.

``machine.states`` (top-level states by key), ``machine.get_state_by_id("m.a.b")`` and the
:class:`StateNode` views below read the config the machine was made from, with the
attributes xstate-statemachine's nodes have (``id``, ``key``, ``type``, ``initial``,
``states``, ``on``, ``entry``, ``exit``, ``invoke``, ``after``, ``tags``, ``meta``, ...).
The machine also holds the settings its interpreters enforce: ``max_iterations`` (the bound
on one macrostep, config key ``maxIterations``), ``strict`` (config key ``strict``: sending
an event the machine never declares is an :class:`UnknownEventError`) and
``event_schemas`` (a payload that fails its event's schema is an
:class:`InvalidEventPayloadError`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from statefleet.compat.xstate._errors import (
    InvalidConfigError,
    InvalidEventPayloadError,
    UnknownEventError,
)
from statefleet.core import Chart, ChartSpec
from statefleet.core._chart import Node
from statefleet.formats._resolve import MISSING, Kind, Resolver
from statefleet.formats._xstate import ActionDef

__all__ = [
    "MachineNode",
    "StateNode",
    "TransitionDefinition",
    "event_checker",
    "initial_context",
    "machine_node",
]


def _listed(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list | tuple) else [raw]


def _action_defs(raw: Any) -> list[ActionDef]:
    out: list[ActionDef] = []
    for item in _listed(raw):
        if isinstance(item, str):
            out.append(ActionDef(item))
        elif isinstance(item, Mapping) and isinstance(item.get("type"), str):
            params = item.get("params")
            if not isinstance(params, Mapping):
                params = {k: v for k, v in item.items() if k != "type"}
            out.append(ActionDef(item["type"], params))
    return out


class TransitionDefinition:
    """One transition of a :class:`StateNode`, as its config declares it: ``event``,
    ``source`` (the node), ``target_str`` (the target as written, or None), ``actions``
    (:class:`~statefleet.compat.xstate.ActionDefinition` list), ``guard`` (its name, or None),
    ``reenter``, ``meta``."""

    __slots__ = ("actions", "event", "guard", "meta", "reenter", "source", "target_str")

    def __init__(self, event: str, source: StateNode, raw: Any) -> None:
        cfg: Mapping[str, Any] = (
            raw if isinstance(raw, Mapping) else {"target": raw} if raw is not None else {}
        )
        self.event = event
        self.source = source
        target = cfg.get("target")
        if isinstance(target, list | tuple):
            target = target[0] if len(target) == 1 else " ".join(str(t) for t in target)
        self.target_str: str | None = target if isinstance(target, str) else None
        self.actions = _action_defs(cfg.get("actions"))
        guard = cfg.get("guard", cfg.get("cond"))
        if isinstance(guard, Mapping):
            guard = guard.get("type")
        self.guard: str | None = guard if isinstance(guard, str) else None
        self.reenter = bool(cfg.get("reenter", cfg.get("internal") is False))
        meta = cfg.get("meta")
        self.meta: dict[str, Any] = dict(meta) if isinstance(meta, Mapping) else {}

    def __repr__(self) -> str:
        return f"TransitionDefinition(event={self.event!r}, target={self.target_str!r})"


class StateNode:
    """A state of the machine, as xstate-statemachine shows it.

    ``id`` is the dotted path from the machine id (``"order.payment.pending"``), ``key`` the
    state's key in its parent, ``custom_id`` the config's own ``id`` (if any), ``type`` one of
    ``atomic``, ``compound``, ``parallel``, ``final``, ``history``; ``node`` is the compiled
    :class:`~statefleet.core.Node` (what ``current_state_ids`` name).
    """

    def __init__(
        self, machine: MachineNode, cfg: Mapping[str, Any], key: str, parent: StateNode | None
    ) -> None:
        self.machine = machine
        self.key = key
        self.parent = parent
        self.id: str = f"{parent.id}.{key}" if parent is not None else key
        self.depth: int = parent.depth + 1 if parent is not None else 0
        custom = cfg.get("id") if parent is not None else None
        self.custom_id: str | None = custom if isinstance(custom, str) else None
        raw_states = cfg.get("states")
        children = raw_states if isinstance(raw_states, Mapping) else {}
        kind = cfg.get("type")
        if kind not in ("atomic", "compound", "parallel", "final", "history"):
            kind = "compound" if children else "atomic"
        self.type: str = str(kind)
        initial = cfg.get("initial")
        self.initial: str | None = initial if isinstance(initial, str) else None
        if self.initial is None and self.type == "compound" and children:
            self.initial = next(
                (
                    str(k)
                    for k, v in children.items()
                    if not (isinstance(v, Mapping) and v.get("type") == "history")
                ),
                None,
            )
        history = cfg.get("history")
        self.history: str | None = (
            (history if isinstance(history, str) else "shallow") if self.type == "history" else None
        )
        self.entry = _action_defs(cfg.get("entry"))
        self.exit = _action_defs(cfg.get("exit"))
        tags = cfg.get("tags")
        self.tags: set[str] = set(_listed(tags)) if tags is not None else set()
        meta = cfg.get("meta")
        self.meta: dict[str, Any] = dict(meta) if isinstance(meta, Mapping) else {}
        self.description: str | None = cfg.get("description")
        self.output: Any = cfg.get("output", cfg.get("data"))
        self.invoke: list[dict[str, Any]] = [
            dict(i) if isinstance(i, Mapping) else {"src": i} for i in _listed(cfg.get("invoke"))
        ]
        self.on: dict[str, list[TransitionDefinition]] = {}
        raw_on = cfg.get("on")
        if isinstance(raw_on, Mapping):
            for event, raw in raw_on.items():
                self.on[str(event)] = [
                    TransitionDefinition(str(event), self, t) for t in _listed(raw) or [None]
                ]
        if "always" in cfg:
            self.on.setdefault("", []).extend(
                TransitionDefinition("", self, t) for t in _listed(cfg["always"])
            )
        self.after: dict[Any, list[TransitionDefinition]] = {}
        raw_after = cfg.get("after")
        if isinstance(raw_after, Mapping):
            for delay, raw in raw_after.items():
                self.after[delay] = [
                    TransitionDefinition(f"after.{delay}", self, t) for t in _listed(raw)
                ]
        done = cfg.get("onDone")
        self.on_done: TransitionDefinition | None = (
            TransitionDefinition(f"done.state.{self.id}", self, _listed(done)[0])
            if done is not None and _listed(done)
            else None
        )
        self.states: dict[str, StateNode] = {
            str(k): StateNode(machine, v if isinstance(v, Mapping) else {}, str(k), self)
            for k, v in children.items()
        }

    @property
    def is_atomic(self) -> bool:
        """True for a state without child states."""
        return self.type == "atomic"

    @property
    def is_final(self) -> bool:
        """True for a final state."""
        return self.type == "final"

    @property
    def node(self) -> Node | None:
        """The compiled state this view describes."""
        nodes = self.machine.nodes_by_id
        return nodes.get(self.custom_id or self.id) if self.parent is not None else None

    def walk(self) -> Iterator[StateNode]:
        """This node and every node below it, in document order."""
        yield self
        for child in self.states.values():
            yield from child.walk()

    def __repr__(self) -> str:
        return f"StateNode(id='{self.id}', type='{self.type}')"


class MachineNode(Chart):
    """A compiled chart read from an XState config, with xstate-statemachine's machine view.

    It runs wherever a :class:`~statefleet.Chart` runs (``SyncInterpreter``, the async
    ``Interpreter``, ``ActorSystem.spawn``, ``chart.start()``). ``states`` and
    :meth:`get_state_by_id` describe the config; ``max_iterations``, ``strict`` and
    ``event_schemas`` are what its interpreters enforce (see the module docstring).
    """

    def __init__(
        self,
        spec: ChartSpec,
        config: Mapping[str, Any],
        *,
        strict: bool = False,
        event_schemas: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(spec)
        #: the config the machine was read from
        self.source_config = config
        #: refuse events the machine does not declare (interpreters may override it)
        self.strict = strict
        #: event type -> payload schema
        self.event_schemas: dict[str, Any] = dict(event_schemas or {})
        self._root_view: StateNode | None = None
        self._known: frozenset[str] | None = None
        self._logic: Resolver | None = None
        #: a config's ``context`` given as a function of ``{"input": ...}``
        self.context_factory: Callable[[dict[str, Any]], Any] | None = None
        self._fronts: dict[int, Any] = {}
        self._starting: Any = None

    # -- what built-in actions look up while running ---------------------------------------
    def bind_logic(self, resolver: Resolver) -> None:
        """Where :meth:`implementation` finds the user's actions, guards, services, delays."""
        self._logic = resolver

    @property
    def logic(self) -> Resolver | None:
        """Where the caller's implementations are looked up (see :meth:`implementation`)."""
        return self._logic

    def implementation(self, kind: Kind, name: str) -> Any:
        """The user's implementation of ``name`` as a ``kind`` (``"action"``, ``"guard"``,
        ``"service"``, ``"delay"``), or :data:`~statefleet.formats._resolve.MISSING`: what
        ``pure``/``choose`` results, ``spawnChild`` and named delays refer to."""
        if self._logic is None or not isinstance(name, str):
            return MISSING
        return self._logic.lookup(kind, name)

    def attach_front(self, ref: Any, front: Any) -> None:
        """``front`` (an async ``Interpreter``) runs this machine as the actor ``ref``: the
        built-in actions, which receive ``ref``, reach ``front`` (its ``on()`` handlers,
        children) through :meth:`front_for` until :meth:`detach_front`."""
        self._fronts[id(ref)] = (ref, front)

    @contextlib.contextmanager
    def spawning(self, front: Any) -> Iterator[None]:
        """While ``front`` spawns its actor (the initial entry runs inside ``spawn``, before
        the ref is returned), built-ins of that entry reach ``front`` (``front.adopt(ref)``
        is called with the ref they see). ``spawn`` does not await,
        so no other actor's actions run meanwhile."""
        self._starting = front
        try:
            yield
        finally:
            self._starting = None

    def detach_front(self, ref: Any) -> None:
        """Forget the front of ``ref`` (its interpreter stopped)."""
        self._fronts.pop(id(ref), None)

    def front_for(self, ref: Any) -> Any:
        """The front attached for ``ref``, or None."""
        entry = self._fronts.get(id(ref))
        if entry is not None and entry[0] is ref:
            return entry[1]
        front = self._starting
        if front is not None:
            front.adopt(ref)
            self.attach_front(ref, front)
        return front

    @property
    def max_iterations(self) -> int:
        """The bound on microsteps (eventless transitions, raised events) in one macrostep."""
        return self.max_microsteps

    @property
    def key(self) -> str:
        """The machine's id (the first segment of every state id)."""
        return self.id

    @property
    def root_node(self) -> StateNode:
        """The machine as a :class:`StateNode` (its children are :attr:`states`)."""
        if self._root_view is None:
            self._root_view = StateNode(self, self.source_config, self.id, None)
        return self._root_view

    @property
    def states(self) -> dict[str, StateNode]:
        """The top-level states, by key."""
        return self.root_node.states

    @property
    def type(self) -> str:
        """``"parallel"`` for a parallel machine, else ``"compound"``."""
        return self.root_node.type

    @property
    def context(self) -> dict[str, Any]:
        """The config's initial context (a copy)."""
        raw = self.source_config.get("context")
        return dict(raw) if isinstance(raw, Mapping) else {}

    def get_state_by_id(self, state_id: str) -> StateNode | None:
        """The node with the dotted id ``state_id`` (``"order.payment.pending"``, starting
        with the machine id) or a state's own config ``id``; None if there is none
        (xstate-statemachine's contract: the interpreters' ``get_state_by_id`` raises
        :class:`~statefleet.compat.xstate.StateNotFoundError` instead)."""
        if not isinstance(state_id, str):
            return None
        parts = state_id.split(".")
        node = self.root_node
        if parts[0] == self.id:
            for part in parts[1:]:
                child = node.states.get(part)
                if child is None:
                    break
                node = child
            else:
                return node
        return next((n for n in node.walk() if n.custom_id == state_id), None) or next(
            (n for n in self.root_node.walk() if n.custom_id == state_id), None
        )

    # -- strict mode and event schemas ------------------------------------------------------
    @property
    def known_events(self) -> frozenset[str]:
        """Every event name the config declares in an ``on`` (``"a.*"`` partial descriptors
        and ``"*"`` included): what ``strict`` checks a sent event against."""
        if self._known is None:
            found: set[str] = set()
            for n in self.root_node.walk():
                found.update(k for k in n.on if k)
            self._known = frozenset(found)
        return self._known

    def is_known_event(self, event_type: str) -> bool:
        """Is ``event_type`` declared: an exact ``on`` key, or under a ``"prefix.*"`` one?
        (A bare ``"*"`` catches events but declares none.)"""
        known = self.known_events
        if event_type != "*" and event_type in known:
            return True
        for key in known:
            if key.endswith(".*"):
                prefix = key[:-2]
                if event_type == prefix or event_type.startswith(prefix + "."):
                    return True
        return False

    def check_event(self, event_type: str, payload: Mapping[str, Any], strict: bool) -> None:
        """Refuse an event sent from outside (or raised) that ``strict`` does not allow
        (:class:`UnknownEventError`) or whose payload fails its schema
        (:class:`InvalidEventPayloadError`). A schema is an object with ``validate(payload)``
        or a callable; whatever it raises is the refusal's cause."""
        if strict and not self.is_known_event(event_type):
            raise UnknownEventError(event_type, self.id, sorted(self.known_events))
        schema = self.event_schemas.get(event_type) if self.event_schemas else None
        if schema is None:
            return
        validate = getattr(schema, "validate", None)
        fn = validate if callable(validate) else schema
        try:
            fn(dict(payload))
        except Exception as exc:
            raise InvalidEventPayloadError(event_type, exc) from exc


#: config keys the front-end reads itself (the reader does not know them)
FRONT_END_KEYS = ("maxIterations", "strict", "strictTargets")


def front_end_settings(config: Mapping[str, Any]) -> tuple[dict[str, Any], int | None, bool]:
    """``config`` without the front-end's own keys, its ``maxIterations`` and ``strict``
    (checked: :class:`InvalidConfigError` naming the key; ``strictTargets`` is read by
    :func:`create_machine`)."""
    if not isinstance(config, Mapping) or not any(k in config for k in FRONT_END_KEYS):
        return dict(config) if isinstance(config, Mapping) else config, None, False
    rest = {k: v for k, v in config.items() if k not in FRONT_END_KEYS}
    limit = config.get("maxIterations")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidConfigError(
            f"maxIterations must be a positive integer, got {limit!r}", path="maxIterations"
        )
    for key in ("strict", "strictTargets"):
        if not isinstance(config.get(key, False), bool):
            raise InvalidConfigError(f"{key} must be true or false, got {config[key]!r}", path=key)
    return rest, limit, bool(config.get("strict", False))


def machine_node(
    chart: Chart,
    config: Mapping[str, Any],
    *,
    max_iterations: int | None = None,
    strict: bool = False,
    event_schemas: Mapping[str, Any] | None = None,
) -> MachineNode:
    """``chart`` (read from ``config``) as a :class:`MachineNode` with these settings."""
    if event_schemas is not None and not isinstance(event_schemas, Mapping):
        raise InvalidConfigError(
            "event_schemas maps event types to schemas (an object with validate() or a "
            f"callable), not {type(event_schemas).__name__}",
            path="event_schemas",
        )
    schemas = dict(event_schemas or {})
    for name, schema in schemas.items():
        if not callable(getattr(schema, "validate", None)) and not callable(schema):
            raise InvalidConfigError(
                f"the schema of event {name!r} has no validate() and is not callable",
                path=f"event_schemas.{name}",
            )
    spec = chart.spec
    if max_iterations is not None:
        spec = dataclasses.replace(spec, max_microsteps=max_iterations)
    return MachineNode(spec, config, strict=strict, event_schemas=schemas)


def initial_context(
    chart: Chart, context: Mapping[str, Any] | None, input: Any
) -> dict[str, Any] | None:
    """The context an interpreter starts ``chart`` with: the config's ``context`` function
    called with ``{"input": input}`` (xstate-statemachine's factory), or ``input`` under the
    key ``"input"``; ``context`` (the caller's) wins key by key. None: the config's own."""
    factory = chart.context_factory if isinstance(chart, MachineNode) else None
    if factory is None and input is None:
        return dict(context) if context is not None else None
    if factory is not None:
        made = factory({"input": input})
        if not isinstance(made, Mapping):
            raise InvalidConfigError(
                f"the context function returns a mapping, not {type(made).__name__}",
                path="context",
            )
        base = dict(made)
    else:
        base = {"input": input}
    return {**base, **(context or {})}


def event_checker(
    chart: Chart, strict: bool | None
) -> Callable[[str, Mapping[str, Any]], None] | None:
    """What an interpreter of ``chart`` checks each sent (or raised) event with, or None
    when nothing is checked. ``strict=None`` takes the machine's own setting; a chart not
    made by ``create_machine`` is checked against the event names its transitions use."""
    if isinstance(chart, MachineNode):
        on = chart.strict if strict is None else strict
        if not on and not chart.event_schemas:
            return None
        return lambda name, payload: chart.check_event(name, payload, on)
    if not strict:
        return None
    known = set(chart.events)

    def check(name: str, payload: Mapping[str, Any]) -> None:
        if name not in known and not any(name.startswith(k + ".") for k in known):
            raise UnknownEventError(name, chart.id, sorted(known))

    return check
