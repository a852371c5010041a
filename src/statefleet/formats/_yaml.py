"""The pystator dialect: YAML (or a dict of the same structure) read into a core chart.

A pystator machine is a flat list of ``states`` (each with a ``type``: ``initial``, ``stable``,
``terminal``, ``error`` or ``parallel``; hierarchy through ``parent``/``initial_child``,
orthogonal regions through ``regions``) and a list of ``transitions`` (``trigger``, ``source``,
``dest``, ``guards``, ``actions``, ``after``, ``internal``, ``auto``, ``region``). This module
validates that structure, reporting every problem as a :class:`ChartDefinitionError` naming
the element (``transitions[3].dest``) and its YAML line, and builds the equivalent
:class:`~statefleet.core.ChartSpec`:

- a ``terminal`` state is a final state, a ``parallel`` state a parallel state whose regions
  are compound states named after the regions, a state with children a compound state;
- ``H(parent)`` / ``H*(parent)`` destinations create shallow / deep history pseudo-states
  with exactly those ids inside ``parent``;
- a state ``timeout`` and a transition ``after`` become delayed transitions (cancelled when
  the state exits), ``auto`` an eventless transition, ``internal`` a targetless (or SCXML
  internal) transition;
- named guards are looked up at evaluation time in a late-bound registry (pystator binds
  guards after loading), ``expr:`` guards are evaluated with simpleeval (never ``eval``).

Actions are *references*. Inside :func:`collect_actions` (what the pystator API uses) running
one only records an :class:`ActionCall`, so a step stays pure and the calls are executed
after the new state is committed. Outside it (a plain :class:`~statefleet.core.Session` or an
actor running the chart) the named function is called inline, as SCXML executable content.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from simpleeval import EvalWithCompoundTypes

from statefleet.core import (
    Chart,
    ChartDefinitionError,
    compile_chart,
)
from statefleet.formats import _ir as ir
from statefleet.formats._input import (
    MAX_NESTING,
    MAX_YAML_BYTES,
    check_data,
    clip,
    nesting_error,
    read_source,
)
from statefleet.formats._resolve import Problems, UnboundNameError, did_you_mean, parse_duration

__all__ = [
    "ActionCall",
    "ActionRef",
    "Bindings",
    "ExprGuard",
    "GuardSet",
    "NamedGuard",
    "PystatorModel",
    "UnboundNameError",
    "collect_actions",
    "from_yaml",
    "merge_payload",
    "model_of",
    "parse_duration",
]

NAME_RE = re.compile(r"^[a-z0-9_]+$")
_HISTORY_RE = re.compile(r"^H(\*?)\((.*)\)$")

STATE_TYPES = ("initial", "stable", "terminal", "error", "parallel")
_TOP_KEYS = ("meta", "states", "transitions", "events", "groups")
_META_KEYS = ("machine_name", "version", "strict_mode", "description")
_STATE_KEYS = (
    "name",
    "type",
    "description",
    "parent",
    "initial_child",
    "regions",
    "on_enter",
    "on_exit",
    "timeout",
    "metadata",
)
_REGION_KEYS = ("name", "initial", "states", "description")
_TIMEOUT_KEYS = ("seconds", "destination", "description")
_TRANSITION_KEYS = (
    "trigger",
    "source",
    "dest",
    "guards",
    "actions",
    "after",
    "internal",
    "auto",
    "region",
    "description",
    "metadata",
)
_ACTION_KEYS = ("name", "params")
_GUARD_KEYS = ("expr",)

#: functions available inside ``expr:`` guards (nothing that can reach outside the context)
_EXPR_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
}


# -- actions and guards -------------------------------------------------------------------
@dataclass
class Bindings:
    """The late-bound registries a pystator chart looks names up in.

    ``guards`` and ``actions`` map names to plain functions taking the context dict. The
    pystator ``StateMachine`` replaces them when you call ``bind_guards``/``bind_actions``;
    registrations made afterwards are seen at once (the registries are held by reference).
    """

    guards: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    actions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionCall:
    """One action to run after a transition: its ``name``, YAML ``params``, the ``phase``
    (``"exit"``, ``"transition"`` or ``"enter"``) and the ``state`` it belongs to (the exited
    or entered state, or the transition's source)."""

    name: str
    params: Mapping[str, Any] | None = None
    phase: Literal["exit", "transition", "enter"] = "transition"
    state: str = ""

    def __str__(self) -> str:
        return self.name


_COLLECTOR: ContextVar[list[ActionCall] | None] = ContextVar("pystator_actions", default=None)


@contextlib.contextmanager
def collect_actions() -> Iterator[list[ActionCall]]:
    """Within this block, running a pystator action records an :class:`ActionCall` in the
    yielded list instead of calling the function (how steps stay pure)."""
    calls: list[ActionCall] = []
    token = _COLLECTOR.set(calls)
    try:
        yield calls
    finally:
        _COLLECTOR.reset(token)


def call_with_params(
    fn: Callable[..., Any], context: dict[str, Any], params: Mapping[str, Any] | None
) -> Any:
    """Call an action ``fn(context)``; ``params`` are visible as ``context["_action_params"]``
    during the call (the previous value, if any, is restored afterwards)."""
    if not params:
        return fn(context)
    missing = object()
    saved = context.get("_action_params", missing)
    context["_action_params"] = dict(params)
    try:
        return fn(context)
    finally:
        if saved is missing:
            context.pop("_action_params", None)
        else:
            context["_action_params"] = saved


class ActionRef:
    """An action named in the YAML, as a core action callable (see the module docstring)."""

    __slots__ = ("__name__", "bindings", "name", "params", "phase", "state")

    def __init__(
        self,
        name: str,
        params: Mapping[str, Any] | None,
        phase: Literal["exit", "transition", "enter"],
        state: str,
        bindings: Bindings,
    ) -> None:
        self.name = name
        self.params = params
        self.phase: Literal["exit", "transition", "enter"] = phase
        self.state = state
        self.bindings = bindings
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<action {self.name} ({self.phase} {self.state})>"

    def __call__(self, ctx: Any) -> Any:
        calls = _COLLECTOR.get()
        if calls is not None:
            calls.append(ActionCall(self.name, self.params, self.phase, self.state))
            return None
        fn = self.bindings.actions.get(self.name)
        if fn is None:
            raise UnboundNameError("action", self.name)
        return call_with_params(fn, ctx.context, self.params)


class NamedGuard:
    """A guard named in the YAML, resolved in the bindings when evaluated."""

    __slots__ = ("bindings", "name")

    def __init__(self, name: str, bindings: Bindings) -> None:
        self.name = name
        self.bindings = bindings

    @property
    def label(self) -> str:
        """How the guard is named in errors and metadata."""
        return self.name

    def check(self, context: Mapping[str, Any], configuration: Collection[str] = ()) -> bool:
        """Evaluate the guard on ``context`` (raises :class:`UnboundNameError` if unbound)."""
        fn = self.bindings.guards.get(self.name)
        if fn is None:
            raise UnboundNameError("guard", self.name)
        result = fn(context)
        if hasattr(result, "__await__"):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise TypeError(
                f"guard {self.name!r} returned an awaitable: guards must be synchronous"
                " (put async work in an invoked service)"
            )
        return bool(result)


class ExprGuard:
    """An inline ``expr:`` guard, evaluated by simpleeval with the context as its names."""

    __slots__ = ("_tree", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._tree = _parse_expr(source)

    @property
    def label(self) -> str:
        """How the guard is named in errors and metadata."""
        return f"expr: {self.source}"

    def check(self, context: Mapping[str, Any], configuration: Collection[str] = ()) -> bool:
        """Evaluate the expression; a missing name or a bad operation raises.

        ``in_state('name')`` is true when ``name`` is in ``configuration`` (SCXML ``In()``).
        """
        functions = {**_EXPR_FUNCTIONS, "in_state": lambda name: name in configuration}
        ev = EvalWithCompoundTypes(names=dict(context), functions=functions)
        return bool(ev.eval(self.source, previously_parsed=self._tree))


#: the longest inline guard expression, in characters
MAX_EXPR_CHARS = 2000
#: how deep an inline guard expression's syntax tree may nest (evaluation recurses)
MAX_EXPR_DEPTH = 50


def _parse_expr(source: str) -> Any:
    if len(source) > MAX_EXPR_CHARS:
        raise ValueError(f"it is longer than the limit of {MAX_EXPR_CHARS} characters")
    ev = EvalWithCompoundTypes(functions=_EXPR_FUNCTIONS)
    try:
        tree = ev.parse(source)  # raises SyntaxError
    except (RecursionError, MemoryError) as exc:  # CPython's parser: "too complex"
        raise ValueError(f"it nests deeper than the limit of {MAX_EXPR_DEPTH} levels") from exc
    _check_expr_depth(tree)
    allowed = set(ev.nodes)
    for node in ast.walk(tree):
        if isinstance(node, ast.expr) and type(node) not in allowed:
            raise ValueError(f"{type(node).__name__} is not allowed in a guard expression")
        if isinstance(node, ast.Call):
            fname = node.func.id if isinstance(node.func, ast.Name) else None
            if fname not in _EXPR_FUNCTIONS and fname != "in_state":
                allowed_fns = ", ".join(sorted([*_EXPR_FUNCTIONS, "in_state"]))
                raise ValueError(f"only these functions may be called: {allowed_fns}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ValueError(f"attribute {node.attr!r} is not allowed in a guard expression")
    return tree


def _check_expr_depth(tree: ast.AST) -> None:
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPR_DEPTH:
            raise ValueError(f"it nests deeper than the limit of {MAX_EXPR_DEPTH} levels")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


class GuardSet:
    """A transition's guards as one core guard: all must pass, in order."""

    __slots__ = ("guards",)

    def __init__(self, guards: tuple[NamedGuard | ExprGuard, ...]) -> None:
        self.guards = guards

    @property
    def label(self) -> str:
        """``[g1, expr: ...]`` for diagrams and traces."""
        return "[" + ", ".join(g.label for g in self.guards) + "]"

    def __call__(self, ctx: Any) -> bool:
        context = ctx.context
        data = ctx.event.data if ctx.event is not None else None
        if isinstance(data, dict) and data:
            context = {**context, **data}  # the payload, as if merged (see merge_payload)
        return all(g.check(context, ctx.configuration) for g in self.guards)

    def first_failure(
        self, context: Mapping[str, Any], configuration: Collection[str] = ()
    ) -> tuple[NamedGuard | ExprGuard, BaseException | None] | None:
        """The first guard that rejects ``context`` with the active ``configuration`` (with
        the exception it raised), or None."""
        for g in self.guards:
            try:
                if not g.check(context, configuration):
                    return g, None
            except Exception as exc:
                return g, exc
        return None


def merge_payload(ctx: Any) -> None:
    """Merge the event's payload into the context (pystator: "payload merges into context").

    Runs first in every triggered transition taken, so a chart driven by a plain core
    :class:`~statefleet.core.Session` or an actor behaves like an ``EntitySession``.
    """
    data = ctx.event.data if ctx.event is not None else None
    if isinstance(data, dict) and data:
        ctx.context.update(data)


# -- the model kept with the chart ---------------------------------------------------------
@dataclass
class StateInfo:
    """A state as declared (or implied by a region listing)."""

    name: str
    type: str = "stable"
    parent: str | None = None
    initial_child: str | None = None
    path: str = ""
    line: int | None = None
    declared: bool = True
    description: str | None = None


@dataclass
class RegionInfo:
    """A region of a parallel state."""

    name: str
    parallel: str
    initial: str | None
    members: list[str]
    path: str
    line: int | None


@dataclass
class PystatorModel:
    """What the pystator API needs to know about a chart read from pystator YAML.

    Stored in ``chart.meta["pystator"]``: state types, regions, triggers, the labels of
    delayed-transition events and the late-bound guard/action :class:`Bindings`.
    """

    machine_name: str
    version: str
    description: str | None
    strict: bool
    initial_state: str
    states: dict[str, StateInfo]
    regions: dict[str, RegionInfo]
    triggers: tuple[str, ...]
    #: delayed-transition event -> (label shown as the trigger, source state)
    timers: dict[str, tuple[str, str]]
    guard_names: frozenset[str]
    action_names: frozenset[str]
    bindings: Bindings
    config: dict[str, Any]

    @property
    def terminal_states(self) -> tuple[str, ...]:
        """Names of the ``terminal`` states, in declaration order."""
        return tuple(n for n, s in self.states.items() if s.type == "terminal")


def model_of(chart: Chart) -> PystatorModel:
    """The :class:`PystatorModel` of a chart read by :func:`from_yaml` (TypeError otherwise)."""
    model = chart.meta.get("pystator") if isinstance(chart.meta, dict) else None
    if not isinstance(model, PystatorModel):
        raise TypeError(f"chart {chart.id!r} was not read from pystator YAML (from_yaml)")
    return model


# -- YAML loading with line numbers --------------------------------------------------------
_MERGE_PAYLOAD = ir.Ref("action", "merge payload", merge_payload, core=True)
#: pystator's names are bound late (its registries), so the model holds them bound already
_LATE = ir.Binding(None, {})


class _LineDict(dict[Any, Any]):
    """A mapping loaded from YAML, remembering its line and the line of each key."""

    line: int | None = None
    key_lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, recording line numbers, rejecting duplicate keys and nodes
    nested deeper than :data:`~statefleet.formats._input.MAX_NESTING` (PyYAML composes
    recursively: deeper documents would raise ``RecursionError``)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"the document nests deeper than the limit of {MAX_NESTING} levels",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# YAML 1.2 booleans: only true/false. YAML 1.1 also reads on/off/yes/no as booleans, which
# would turn states named ``on`` and ``off`` into True and False.
_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml_text(text: str, where: str) -> Any:
    """Parse YAML ``text`` (from ``where``, for messages) with the safe loader; a syntax error
    is a ``ChartDefinitionError`` naming the line. (The source-reading half of ``from_yaml``,
    shared with the pystator front-end.)"""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ChartDefinitionError(f"YAML syntax error: {problem}", path=where, line=line) from exc
    except yaml.YAMLError as exc:
        raise ChartDefinitionError(f"YAML error: {exc}", path=where) from exc
    except RecursionError as exc:
        raise nesting_error(where) from exc
    except ValueError as exc:  # an integer literal longer than Python converts, ...
        raise ChartDefinitionError(f"YAML value error: {exc}", path=where) from exc


# -- the reader ----------------------------------------------------------------------------
def _line(mapping: Any, key: Any = None) -> int | None:
    if isinstance(mapping, _LineDict):
        if key is not None and key in mapping.key_lines:
            return mapping.key_lines[key]
        return mapping.line
    return None


def _plain(value: Any) -> Any:
    """Convert loaded YAML (line-tracking dicts) into plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_keys(
    errors: Problems, mapping: Mapping[Any, Any], allowed: tuple[str, ...], path: str, what: str
) -> None:
    for key in mapping:
        if key in allowed:
            continue
        hint = did_you_mean(str(key), allowed)
        errors.add(
            f"{path}.{key}" if path else str(key),
            f"unknown key {key!r} in {what}{hint}; expected one of: {', '.join(allowed)}",
            _line(mapping, key),
        )


class _Reader:
    def __init__(
        self,
        config: Mapping[str, Any],
        bindings: Bindings,
        guards: Mapping[str, Any] | None,
        actions: Mapping[str, Any] | None,
    ) -> None:
        self.config = config
        self.bindings = bindings
        self.given_guards = guards
        self.given_actions = actions
        self.errors = Problems()
        self.states: dict[str, StateInfo] = {}
        self.regions: dict[str, RegionInfo] = {}
        self.parallel_regions: dict[str, list[str]] = {}
        self.specs: dict[str, ir.State] = {}
        self.on_enter: dict[str, Any] = {}
        self.on_exit: dict[str, Any] = {}
        self.history: dict[str, ir.State] = {}
        self.triggers: list[str] = []
        self.timers: dict[str, tuple[str, str]] = {}
        self.after_count: dict[str, int] = {}
        self.guard_names: set[str] = set()
        #: names missing from the guards/actions given (reported once the structure is valid)
        self.binding_errors: list[tuple[str, str, int | None]] = []
        self.action_names: set[str] = set()
        #: child state names by parent, in document order (once every state is known)
        self.by_parent: dict[str | None, list[str]] | None = None

    # -- helpers ---------------------------------------------------------------------------
    def name(self, value: Any, path: str, line: int | None, what: str) -> str | None:
        if not isinstance(value, str):
            self.errors.add(path, f"{what} must be a string, got {type(value).__name__}", line)
            return None
        if not NAME_RE.match(value):
            self.errors.add(
                path,
                f"{what} {value!r} is invalid: use lowercase a-z, digits and underscores only",
                line,
            )
            return None
        return value

    def entry_name(
        self, m: Mapping[str, Any], path: str, line: int | None, keys: tuple[str, ...], what: str
    ) -> str | None:
        """The name of a state or region entry (its keys checked), or None after a problem."""
        _check_keys(self.errors, m, keys, path, f"a {what}")
        if "name" not in m:
            self.errors.add(path, f"a {what} needs a name", line)
            return None
        return self.name(m["name"], f"{path}.name", _line(m, "name"), f"{what} name")

    def mapping(self, value: Any, path: str, line: int | None, what: str) -> bool:
        if not isinstance(value, Mapping):
            self.errors.add(path, f"{what} must be a mapping, got {type(value).__name__}", line)
            return False
        return True

    def unknown_state(self, name: str, path: str, line: int | None, what: str) -> None:
        known = list(self.states) + list(self.regions)
        hint = did_you_mean(name, known)
        self.errors.add(path, f"{what} {name!r} is not a state of this machine{hint}", line)

    # -- top level -------------------------------------------------------------------------
    def read(self) -> ir.Chart:
        cfg = self.config
        if not isinstance(cfg, Mapping):
            raise ChartDefinitionError(
                f"a pystator machine is a mapping with 'states' and 'transitions',"
                f" got {type(cfg).__name__}"
            )
        errors = self.errors
        _check_keys(errors, cfg, _TOP_KEYS, "", "the machine")
        meta = cfg.get("meta") or {}
        machine_name, version, strict, description = "pystator_machine", "1", True, None
        if self.mapping(meta, "meta", _line(cfg, "meta"), "meta"):
            _check_keys(errors, meta, _META_KEYS, "meta", "meta")
            mn = meta.get("machine_name")
            if mn is not None:
                if isinstance(mn, str) and mn.strip():
                    machine_name = mn
                else:
                    errors.add(
                        "meta.machine_name",
                        "machine_name must be a non-empty string",
                        _line(meta, "machine_name"),
                    )
            ver = meta.get("version")
            if ver is not None:
                if isinstance(ver, str | int | float) and not isinstance(ver, bool):
                    version = str(ver)
                else:
                    errors.add("meta.version", "version must be a string", _line(meta, "version"))
            sm = meta.get("strict_mode", True)
            if isinstance(sm, bool):
                strict = sm
            else:
                errors.add(
                    "meta.strict_mode",
                    f"strict_mode must be true or false, got {sm!r}",
                    _line(meta, "strict_mode"),
                )
            desc = meta.get("description")
            description = desc if isinstance(desc, str) else None
        for key in ("events", "groups"):
            if key in cfg and not isinstance(cfg[key], list | Mapping):
                errors.add(key, f"{key} must be a list or a mapping", _line(cfg, key))
        states = cfg.get("states")
        if not isinstance(states, list) or not states:
            errors.add(
                "states",
                "a machine needs a non-empty list of states"
                if states is None or isinstance(states, list)
                else f"states must be a list, got {type(states).__name__}",
                _line(cfg, "states"),
            )
            errors.raise_if_any()
            return ir.Chart(id=machine_name)  # unreachable
        transitions = cfg.get("transitions", [])
        if transitions is None:
            transitions = []
        if not isinstance(transitions, list):
            errors.add(
                "transitions",
                f"transitions must be a list, got {type(transitions).__name__}",
                _line(cfg, "transitions"),
            )
            transitions = []
        self.read_states(states)
        errors.raise_if_any()
        self.resolve_tree(strict)
        errors.raise_if_any()
        initial = self.initial_state(strict)
        self.build_state_specs(states)
        errors.raise_if_any()
        for i, t in enumerate(transitions):
            self.read_transition(i, t)
        for item in self.binding_errors:
            errors.add(*item)
        errors.raise_if_any()
        top = [self.specs[n] for n in self.order_children(None)]
        self.model = PystatorModel(
            machine_name=machine_name,
            version=version,
            description=description,
            strict=strict,
            initial_state=initial,
            states=self.states,
            regions=self.regions,
            triggers=tuple(self.triggers),
            timers=self.timers,
            guard_names=frozenset(self.guard_names),
            action_names=frozenset(self.action_names),
            bindings=self.bindings,
            config=_plain(cfg),
        )
        return ir.Chart(
            id=machine_name,
            name=machine_name,
            version=version,
            states=top,
            initial=(initial,),
            meta={"format": "pystator", "pystator": self.model, "description": description},
        )

    # -- states ----------------------------------------------------------------------------
    def read_states(self, states: list[Any]) -> None:
        errors = self.errors
        self.raw_states: dict[str, Mapping[str, Any]] = {}
        for i, s in enumerate(states):
            path = f"states[{i}]"
            if isinstance(s, str):
                s = {"name": s}
            if not self.mapping(s, path, None, "a state"):
                continue
            line = _line(s)
            raw_name = s.get("name")
            if isinstance(raw_name, str) and NAME_RE.match(raw_name):
                path = f"states.{raw_name}"
            name = self.entry_name(s, path, line, _STATE_KEYS, "state")
            if name is None:
                continue
            if name in self.states:
                first = self.states[name].line
                where = f" at line {first}" if first is not None else ""
                errors.add(
                    f"states[{i}]",
                    f"duplicate state name {name!r} (first declared{where} as {path})",
                    line,
                )
                continue
            stype = s.get("type", "stable")
            if stype not in STATE_TYPES:
                hint = did_you_mean(str(stype), STATE_TYPES)
                errors.add(
                    f"{path}.type",
                    f"unknown state type {stype!r}{hint}; expected one of:"
                    f" {', '.join(STATE_TYPES)}",
                    _line(s, "type"),
                )
                continue
            parent = s.get("parent")
            if parent is not None:
                parent = self.name(parent, f"{path}.parent", _line(s, "parent"), "parent")
            ic = s.get("initial_child")
            if ic is not None:
                ic = self.name(ic, f"{path}.initial_child", _line(s, "initial_child"), "state")
            desc = s.get("description")
            self.states[name] = StateInfo(
                name,
                stype,
                parent,
                ic,
                path,
                line,
                description=desc if isinstance(desc, str) else None,
            )
            self.raw_states[name] = s
            if "regions" in s:
                if stype != "parallel":
                    errors.add(
                        f"{path}.regions",
                        f"only a parallel state has regions; {name!r} is {stype!r}",
                        _line(s, "regions"),
                    )
                else:
                    self.read_regions(name, s["regions"], f"{path}.regions", _line(s, "regions"))
        for name, info in self.states.items():
            if info.type == "parallel" and info.initial_child is not None:
                errors.add(
                    f"{info.path}.initial_child",
                    "a parallel state has no initial_child: all its regions are entered"
                    " (give each region an 'initial')",
                    _line(self.raw_states[name], "initial_child"),
                )

    def read_regions(self, parallel: str, regions: Any, path: str, line: int | None) -> None:
        errors = self.errors
        if not isinstance(regions, list) or not regions:
            errors.add(path, "regions must be a non-empty list of regions", line)
            return
        names: list[str] = []
        for j, r in enumerate(regions):
            rpath = f"{path}[{j}]"
            if not self.mapping(r, rpath, line, "a region"):
                continue
            rline = _line(r)
            rname = self.entry_name(r, rpath, rline, _REGION_KEYS, "region")
            if rname is None:
                continue
            if rname in self.regions:
                errors.add(
                    f"{rpath}.name",
                    f"duplicate region name {rname!r} (also {self.regions[rname].path});"
                    " region names are unique across the machine",
                    _line(r, "name"),
                )
                continue
            members: list[str] = []
            raw_members = r.get("states", [])
            if not isinstance(raw_members, list):
                errors.add(
                    f"{rpath}.states", "a region's states must be a list", _line(r, "states")
                )
                raw_members = []
            for k, m in enumerate(raw_members):
                mname = self.name(m, f"{rpath}.states[{k}]", _line(r, "states"), "state name")
                if mname is not None:
                    members.append(mname)
            init = r.get("initial")
            if init is not None:
                init = self.name(init, f"{rpath}.initial", _line(r, "initial"), "state name")
            self.regions[rname] = RegionInfo(rname, parallel, init, members, rpath, rline)
            names.append(rname)
        self.parallel_regions[parallel] = names

    def resolve_tree(self, strict: bool) -> None:
        """Work out each state's parent (a state or a region) and check the hierarchy."""
        errors = self.errors
        self.check_region_names()
        errors.raise_if_any()
        self.place_region_members()
        self.check_parents()
        errors.raise_if_any()
        self.check_ancestry()
        errors.raise_if_any()
        self.check_initial_children(strict)
        self.check_region_initials(strict)

    def check_region_names(self) -> None:
        errors = self.errors
        for rname, region in self.regions.items():
            if rname in self.states:
                errors.add(
                    f"{region.path}.name",
                    f"region {rname!r} has the name of a state ({self.states[rname].path})",
                    region.line,
                )

    def place_region_members(self) -> None:
        """States a region lists are its children (declared there if not elsewhere)."""
        errors = self.errors
        for rname, region in self.regions.items():
            for m in region.members:
                info = self.states.get(m)
                if info is None:
                    self.states[m] = StateInfo(m, "stable", rname, path=region.path, declared=False)
                    self.by_parent = None
                    continue
                if info.parent in (None, region.parallel, rname):
                    info.parent = rname
                elif info.parent in self.regions and info.parent != rname:
                    errors.add(
                        f"{info.path}.parent",
                        f"state {m!r} is listed in region {rname!r} but names region"
                        f" {info.parent!r} as parent",
                        info.line,
                    )
                else:
                    errors.add(
                        f"{info.path}.parent",
                        f"state {m!r} is listed in region {rname!r} of {region.parallel!r}"
                        f" but its parent is {info.parent!r}",
                        info.line,
                    )

    def check_parents(self) -> None:
        """Parents must exist, and be neither terminal nor a parallel state with regions."""
        errors = self.errors
        for name, info in self.states.items():
            p = info.parent
            if p is None or p in self.regions:
                continue
            pinfo = self.states.get(p)
            if pinfo is None:
                self.unknown_state(p, f"{info.path}.parent", info.line, "parent")
            elif pinfo.type == "terminal":
                errors.add(
                    f"{info.path}.parent",
                    f"terminal state {p!r} cannot have child states",
                    info.line,
                )
            elif pinfo.type == "parallel" and self.parallel_regions.get(p):
                errors.add(
                    f"{info.path}.parent",
                    f"{p!r} is a parallel state with regions"
                    f" ({', '.join(self.parallel_regions[p])}): list {name!r} in one of"
                    " them, or give the region's name as its parent",
                    info.line,
                )

    def check_ancestry(self) -> None:
        """No cycles, nor hierarchies deeper than the compiler and every driver can walk."""
        errors = self.errors
        for name, info in self.states.items():
            seen = {name}
            p = self.parent_of(name)
            while p is not None:
                if p in seen:
                    errors.add(
                        f"{info.path}.parent", f"state {name!r} is its own ancestor", info.line
                    )
                    break
                if len(seen) > MAX_NESTING:
                    errors.add(
                        f"{info.path}.parent",
                        f"state {name!r} has more than the limit of {MAX_NESTING} ancestors",
                        info.line,
                    )
                    errors.raise_if_any()
                seen.add(p)
                p = self.parent_of(p)

    def check_initial_children(self, strict: bool) -> None:
        errors = self.errors
        for name, info in self.states.items():
            kids = self.order_children(name)
            if info.initial_child is not None:
                if not kids:
                    errors.add(
                        f"{info.path}.initial_child",
                        f"{name!r} has no child states, so no initial_child",
                        info.line,
                    )
                elif info.initial_child not in kids:
                    errors.add(
                        f"{info.path}.initial_child",
                        f"initial_child {info.initial_child!r} is not a child of {name!r}"
                        f" (children: {', '.join(kids)})",
                        info.line,
                    )
            elif kids and info.type != "parallel" and strict:
                errors.add(
                    info.path,
                    f"compound state {name!r} needs an initial_child (one of: {', '.join(kids)})",
                    info.line,
                )
            if info.type == "parallel" and not kids:
                errors.add(
                    info.path, f"parallel state {name!r} needs regions (or child states)", info.line
                )

    def check_region_initials(self, strict: bool) -> None:
        errors = self.errors
        for rname, region in self.regions.items():
            kids = self.order_children(rname)
            if not kids:
                errors.add(region.path, f"region {rname!r} has no states", region.line)
            elif region.initial is not None and region.initial not in kids:
                errors.add(
                    f"{region.path}.initial",
                    f"initial {region.initial!r} is not a state of region {rname!r}"
                    f" (states: {', '.join(kids)})",
                    region.line,
                )
            elif region.initial is None and strict:
                errors.add(
                    region.path,
                    f"region {rname!r} needs an initial state (one of: {', '.join(kids)})",
                    region.line,
                )

    def parent_of(self, name: str) -> str | None:
        if name in self.regions:
            return self.regions[name].parallel
        info = self.states.get(name)
        return info.parent if info is not None else None

    def order_children(self, parent: str | None) -> list[str]:
        if parent is not None and parent in self.parallel_regions:
            return list(self.parallel_regions[parent])
        by_parent = self.by_parent
        if by_parent is None:  # built once: a loop over every state per call is quadratic
            by_parent = {}
            for name, info in self.states.items():
                by_parent.setdefault(info.parent, []).append(name)
            self.by_parent = by_parent
        out: list[str] = []
        if parent in self.regions:
            out = [m for m in self.regions[parent].members if m in self.states]
        listed = set(out)
        out += [name for name in by_parent.get(parent, ()) if name not in listed]
        return out

    def is_ancestor(self, anc: str, name: str) -> bool:
        p = self.parent_of(name)
        while p is not None:
            if p == anc:
                return True
            p = self.parent_of(p)
        return False

    def initial_state(self, strict: bool) -> str:
        initials = [n for n, s in self.states.items() if s.type == "initial"]
        if len(initials) > 1:
            self.errors.add(
                self.states[initials[1]].path,
                f"a machine has exactly one initial state; {', '.join(map(repr, initials))}"
                " are all type 'initial'",
                self.states[initials[1]].line,
            )
            return initials[0]
        if initials:
            return initials[0]
        if strict:
            self.errors.add(
                "states",
                "no state has type 'initial' (strict_mode needs exactly one;"
                " set meta.strict_mode: false to start in the first state)",
                _line(self.config, "states"),
            )
            return ""
        return self.order_children(None)[0]

    def actions_of(
        self,
        value: Any,
        path: str,
        line: int | None,
        phase: Literal["exit", "transition", "enter"],
        state: str,
    ) -> list[ir.Ref]:
        """Actions named in the YAML: each a late-bound :class:`ActionRef` (pystator binds
        its registries after loading), as it is in the readers' model."""
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out: list[ir.Ref] = []
        for k, a in enumerate(items):
            apath = f"{path}[{k}]" if isinstance(value, list) else path
            params: Mapping[str, Any] | None = None
            if isinstance(a, Mapping):
                _check_keys(self.errors, a, _ACTION_KEYS, apath, "an action")
                if "name" not in a:
                    self.errors.add(apath, "an action mapping needs a name", _line(a) or line)
                    continue
                raw_params = a.get("params")
                if raw_params is not None and not isinstance(raw_params, Mapping):
                    self.errors.add(
                        f"{apath}.params", "action params must be a mapping", _line(a, "params")
                    )
                    continue
                params = _plain(raw_params) if raw_params is not None else None
                name = self.name(a["name"], f"{apath}.name", _line(a, "name"), "action name")
            else:
                name = self.name(a, apath, line, "action name")
            if name is None:
                continue
            self.check_bound("action", name, self.given_actions, apath, line)
            self.action_names.add(name)
            ref = ActionRef(name, params, phase, state, self.bindings)
            out.append(ir.Ref("action", name, ref, path=apath, line=line, core=True))
        return out

    def check_bound(
        self, kind: str, name: str, given: Mapping[str, Any] | None, path: str, line: int | None
    ) -> None:
        if given is None or name in given:
            return
        hint = did_you_mean(name, [str(k) for k in given])
        self.binding_errors.append(
            (path, f"{kind} {name!r} is not in the {kind}s given{hint}", line)
        )

    def build_state_specs(self, states: list[Any]) -> None:
        # regions first (compound states named after the region)
        for rname, region in self.regions.items():
            self.specs[rname] = ir.State(
                id=rname,
                initial=(region.initial,) if region.initial else None,
                path=region.path,
                line=region.line,
                meta={"pystator_type": "region"},
            )
        for name, info in self.states.items():
            raw = self.raw_states.get(name, {})
            kind: Literal["state", "parallel", "final"] = "state"
            if info.type == "parallel":
                kind = "parallel"
            elif info.type == "terminal":
                kind = "final"
            spec = ir.State(
                id=name,
                kind=kind,
                initial=(info.initial_child,) if info.initial_child else None,
                path=info.path,
                line=info.line,
                meta={"pystator_type": info.type, "description": info.description},
            )
            enter = self.actions_of(
                raw.get("on_enter"), f"{info.path}.on_enter", _line(raw, "on_enter"), "enter", name
            )
            leave = self.actions_of(
                raw.get("on_exit"), f"{info.path}.on_exit", _line(raw, "on_exit"), "exit", name
            )
            if enter:
                spec.entry.append(enter)
            if leave:
                spec.exit.append(leave)
            self.specs[name] = spec
            if "timeout" in raw:
                self.read_timeout(name, info, raw["timeout"], _line(raw, "timeout"))
        for name, spec in self.specs.items():
            spec.children = [self.specs[c] for c in self.order_children(name)]

    def read_timeout(self, name: str, info: StateInfo, value: Any, line: int | None) -> None:
        path = f"{info.path}.timeout"
        if info.type == "terminal":
            self.errors.add(path, f"terminal state {name!r} cannot have a timeout", line)
            return
        if not self.mapping(value, path, line, "timeout"):
            return
        _check_keys(self.errors, value, _TIMEOUT_KEYS, path, "a timeout")
        if "seconds" not in value or "destination" not in value:
            self.errors.add(path, "a timeout needs 'seconds' and 'destination'", line)
            return
        try:
            seconds = parse_duration(value["seconds"], "s")
        except ValueError as exc:
            self.errors.add(f"{path}.seconds", str(exc), _line(value, "seconds"))
            return
        dest = self.name(
            value["destination"], f"{path}.destination", _line(value, "destination"), "destination"
        )
        if dest is None:
            return
        if dest not in self.states and dest not in self.regions:
            self.unknown_state(dest, f"{path}.destination", _line(value, "destination"), "state")
            return
        t = ir.Transition(targets=(dest,), path=path, line=line, name="timeout")
        self.add_timer(name, seconds, t, "timeout")

    # -- transitions -----------------------------------------------------------------------
    def target_of(self, dest: Any, path: str, line: int | None) -> str | None:
        if not isinstance(dest, str):
            self.errors.add(path, f"dest must be a string, got {type(dest).__name__}", line)
            return None
        m = _HISTORY_RE.match(dest.strip())
        if m is None:
            name = self.name(dest, path, line, "dest")
            if name is None:
                return None
            if name not in self.states and name not in self.regions:
                self.unknown_state(name, path, line, "dest")
                return None
            return name
        deep, parent = m.group(1) == "*", m.group(2).strip()
        if parent not in self.states and parent not in self.regions:
            self.unknown_state(parent, path, line, "history parent")
            return None
        kids = self.order_children(parent)
        if not kids:
            self.errors.add(
                path, f"{dest}: {parent!r} has no child states, so it has no history", line
            )
            return None
        hid = f"H{'*' if deep else ''}({parent})"
        if hid not in self.history:
            h = ir.State(
                id=hid, kind="history", history="deep" if deep else "shallow", path=path, line=line
            )
            self.history[hid] = h
            self.specs[parent].children.append(h)
        return hid

    def read_transition(self, i: int, t: Any) -> None:
        """Read ``transitions[i]`` and add it to each of its sources' specs.

        The parts are read in a fixed order (flags, timing, trigger, sources, region,
        destination, guards) so problems are reported in the order of the keys' meaning;
        nothing is added when any part has a problem.
        """
        errors = self.errors
        path = f"transitions[{i}]"
        if not self.mapping(t, path, None, "a transition"):
            return
        raw_trigger = t.get("trigger")
        if isinstance(raw_trigger, str) and NAME_RE.match(raw_trigger):
            path = f"transitions[{i}]({raw_trigger})"
        _check_keys(errors, t, _TRANSITION_KEYS, path, "a transition")
        n_before = len(errors.items)
        internal, auto = self.flag(t, "internal", path), self.flag(t, "auto", path)
        delay, trigger = self.timing(t, path, auto)
        sources = self.sources(t, path)
        self.check_region(t, path, sources)
        target: str | None = None
        if t.get("dest") is not None:
            target = self.target_of(t["dest"], f"{path}.dest", _line(t, "dest"))
        elif not internal:
            errors.add(path, "a transition needs a dest (unless it is internal)", _line(t))
        guards = self.guards_of(t, path)
        if len(errors.items) > n_before or (target is None and not internal):
            return
        if trigger is not None and trigger not in self.triggers:
            self.triggers.append(trigger)
        cond = GuardSet(tuple(guards)) if guards else None
        for src in sources:
            self.add_transition(t, path, src, trigger, target, cond, internal, auto, delay)

    def flag(self, t: Mapping[str, Any], key: str, path: str) -> bool:
        v = t.get(key, False)
        if not isinstance(v, bool):
            self.errors.add(
                f"{path}.{key}", f"{key} must be true or false, got {v!r}", _line(t, key)
            )
            return False
        return v

    def timing(
        self, t: Mapping[str, Any], path: str, auto: bool
    ) -> tuple[float | None, str | None]:
        """A transition's ``after`` delay (seconds) and its trigger."""
        errors = self.errors
        delay: float | None = None
        after = t.get("after")
        if after is not None:
            try:
                delay = parse_duration(after, "ms")
            except ValueError as exc:
                errors.add(f"{path}.after", f"{exc} (a number is milliseconds)", _line(t, "after"))
            if auto:
                errors.add(path, "a transition cannot be both 'auto' and 'after'", _line(t))
        trigger: str | None = None
        if t.get("trigger") is not None:
            trigger = self.name(t["trigger"], f"{path}.trigger", _line(t, "trigger"), "trigger")
        elif not auto and after is None:
            errors.add(
                path, "a transition needs a trigger (unless it is 'auto' or 'after')", _line(t)
            )
        return delay, trigger

    def sources(self, t: Mapping[str, Any], path: str) -> list[str]:
        """The states a transition leaves from (each once, in order)."""
        errors = self.errors
        raw_src = t.get("source")
        sources: list[str] = []
        if raw_src is None:
            errors.add(path, "a transition needs a source", _line(t))
            return sources
        line = _line(t, "source")
        items = raw_src if isinstance(raw_src, list) else [raw_src]
        if not items:
            errors.add(f"{path}.source", "source is an empty list", line)
        for k, s in enumerate(items):
            spath = f"{path}.source" + (f"[{k}]" if isinstance(raw_src, list) else "")
            sname = self.name(s, spath, line, "source")
            if sname is None:
                continue
            if sname not in self.states and sname not in self.regions:
                self.unknown_state(sname, spath, line, "source")
            elif sname in self.states and self.states[sname].type == "terminal":
                errors.add(
                    spath, f"terminal state {sname!r} cannot have outgoing transitions", line
                )
            elif sname not in sources:
                sources.append(sname)
        return sources

    def check_region(self, t: Mapping[str, Any], path: str, sources: list[str]) -> None:
        """A transition's ``region`` must be a region holding every source."""
        region = t.get("region")
        if region is None:
            return
        line = _line(t, "region")
        rname = self.name(region, f"{path}.region", line, "region")
        if rname is None:
            return
        if rname not in self.regions:
            hint = did_you_mean(rname, list(self.regions))
            self.errors.add(
                f"{path}.region", f"region {rname!r} is not a region of this machine{hint}", line
            )
            return
        for s in sources:
            if s != rname and not self.is_ancestor(rname, s):
                self.errors.add(f"{path}.region", f"source {s!r} is not in region {rname!r}", line)

    def guards_of(self, t: Mapping[str, Any], path: str) -> list[NamedGuard | ExprGuard]:
        """A transition's guards: names (late-bound), ``expr:`` strings, ``{expr: ...}``."""
        raw_guards = t.get("guards")
        if raw_guards is None:
            return []
        guards: list[NamedGuard | ExprGuard] = []
        items = raw_guards if isinstance(raw_guards, list) else [raw_guards]
        for k, g in enumerate(items):
            gpath = f"{path}.guards" + (f"[{k}]" if isinstance(raw_guards, list) else "")
            guard = self.guard(g, gpath, _line(g) if isinstance(g, Mapping) else _line(t, "guards"))
            if guard is not None:
                guards.append(guard)
        return guards

    def guard(self, g: Any, path: str, line: int | None) -> NamedGuard | ExprGuard | None:
        if isinstance(g, Mapping):
            _check_keys(self.errors, g, _GUARD_KEYS, path, "a guard")
            expr = g.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                self.errors.add(path, 'an inline guard needs expr: "<expression>"', line)
                return None
            return self.expr_guard(expr, path, line)
        if isinstance(g, str) and g.startswith("expr:"):
            return self.expr_guard(g[5:], path, line)
        gname = self.name(g, path, line, "guard name")
        if gname is None:
            return None
        self.check_bound("guard", gname, self.given_guards, path, line)
        self.guard_names.add(gname)
        return NamedGuard(gname, self.bindings)

    def add_transition(
        self,
        t: Mapping[str, Any],
        path: str,
        src: str,
        trigger: str | None,
        target: str | None,
        cond: GuardSet | None,
        internal: bool,
        auto: bool,
        delay: float | None,
    ) -> None:
        """Add a checked transition leaving ``src``: one core transition per way it is
        taken (its trigger, ``auto`` eventless, ``after`` delayed), sharing its actions."""
        actions = self.actions_of(
            t.get("actions"), f"{path}.actions", _line(t, "actions"), "transition", src
        )
        kind = self.internal_kind(t, path, src, target) if internal else ("external", target)
        if kind is None:
            return
        ttype, real_target = kind
        events: list[tuple[str, ...]] = []
        if trigger is not None:
            events.append((trigger,))
        if auto:
            events.append(())
        if delay is not None:
            events.append(())
        guards = [] if cond is None else [ir.Ref("guard", cond.label, cond, core=True)]
        for k, event in enumerate(events):
            ts = ir.Transition(
                events=event,
                targets=(real_target,) if real_target is not None else (),
                guards=guards,
                type=ttype,
                actions=actions,
                before=[_MERGE_PAYLOAD] if event else [],
                path=path,
                line=_line(t),
                name=trigger,
            )
            if delay is not None and k == len(events) - 1:
                self.add_timer(src, delay, ts, trigger or "after")
            else:
                self.specs[src].transitions.append(ts)

    def internal_kind(
        self, t: Mapping[str, Any], path: str, src: str, target: str | None
    ) -> tuple[Literal["external", "internal"], str | None] | None:
        """An ``internal: true`` transition: targetless to itself, SCXML-internal to a
        descendant; anything else is a problem (None)."""
        if target is None:
            return "external", None
        hm = _HISTORY_RE.match(target)
        real = hm.group(2) if hm is not None else target
        if target == src:
            return "external", None
        if real == src or self.is_ancestor(src, real):
            return "internal", target
        self.errors.add(
            f"{path}.dest",
            f"an internal transition stays inside its source: {target!r} is not"
            f" {src!r} or one of its descendants",
            _line(t, "dest"),
        )
        return None

    def expr_guard(self, expr: str, path: str, line: int | None) -> ExprGuard | None:
        try:
            guard = ExprGuard(expr.strip())
            for node in ast.walk(guard._tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "in_state"
                ):
                    arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
                    if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
                        raise ValueError("in_state() takes one state name, in quotes")
                    if arg.value not in self.states and arg.value not in self.regions:
                        hint = did_you_mean(arg.value, list(self.states))
                        raise ValueError(f"in_state({arg.value!r}): no such state{hint}")
            return guard
        except SyntaxError as exc:
            reason = exc.msg
        except ValueError as exc:
            reason = str(exc)
        self.errors.add(path, f"invalid guard expression {clip(expr.strip())!r}: {reason}", line)
        return None

    def add_timer(self, state: str, delay: float, ts: ir.Transition, label: str) -> None:
        spec = self.specs[state]
        index = len(spec.timers)
        spec.timers.append(ir.Timer(delay, [ts], path=ts.path, line=ts.line))
        # the compiler names the i-th delayed transition of a state "$after.<i>.<state>"
        self.timers[f"$after.{index}.{state}"] = (label, state)


def _as_mapping(value: Any, what: str) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    getter = getattr(value, "get", None)
    if callable(getter) and hasattr(value, "__contains__"):
        return value  # type: ignore[no-any-return]
    raise TypeError(f"{what} must be a mapping of names to functions, got {type(value).__name__}")


def looks_like_yaml_text(text: str) -> bool:
    """Is a string argument YAML/JSON text rather than a path? (a flow mapping or list)"""
    return text[:1] in ("{", "[")


def _check_not_xstate(config: Any) -> None:
    """An XState config gets a pointer to its reader, not a list of unknown keys."""
    if not isinstance(config, Mapping) or isinstance(config.get("transitions"), list):
        return
    if isinstance(config.get("states"), Mapping) or "initial" in config or "on" in config:
        raise ChartDefinitionError(
            "this looks like an XState config ('states' is an object of states), not a"
            " pystator machine: read it with statefleet.from_dict(config), or"
            " statefleet.from_json() for JSON text and files"
        )


def from_yaml(
    source: str | os.PathLike[str] | bytes | Mapping[str, Any],
    *,
    guards: Mapping[str, Callable[..., Any]] | None = None,
    actions: Mapping[str, Callable[..., Any]] | None = None,
) -> Chart:
    """Read a pystator-style machine (YAML text, a path to a ``.yaml`` file, or a dict of the
    same structure) into a compiled :class:`~statefleet.core.Chart`.

    ``guards`` and ``actions`` map the names used in the YAML to functions taking the context
    dict (a pystator ``GuardRegistry``/``ActionRegistry`` works too). When given, every name
    the YAML uses must be in them; when omitted, names are bound later (what
    ``statefleet.formats.pystator.StateMachine.bind_guards`` does) and an unbound name raises
    ``error.execution`` when it is used. Every problem in the definition raises
    :class:`~statefleet.ChartDefinitionError` naming the element and, for YAML, its line.
    YAML text or files are at most 2 MiB of UTF-8 and nest at most 256 levels; inline
    ``expr`` guards are at most 2000 characters and 50 levels deep.
    """
    g = _as_mapping(guards, "guards")
    a = _as_mapping(actions, "actions")
    where = ""
    if isinstance(source, Mapping):
        config: Any = source
    else:
        src = read_source(
            source,
            fmt="YAML",
            suffixes=(".yaml", ".yml"),
            looks_like_text=looks_like_yaml_text,
            limit=MAX_YAML_BYTES,
        )
        where = src.where
        if src.text.lstrip().startswith("<"):
            raise ChartDefinitionError(
                "this looks like XML, not YAML: read SCXML with statefleet.from_scxml()",
                path=where,
            )
        config = load_yaml_text(src.text, where)
        if src.maybe_path and not isinstance(config, Mapping):
            raise ChartDefinitionError(
                f"no such file: {src.text.strip()!r} (and not a YAML machine either)"
            )
        if config is None:
            raise ChartDefinitionError("the YAML document is empty", path=where)
    check_data(config, where)
    _check_not_xstate(config)
    bindings = Bindings(guards=g if g is not None else {}, actions=a if a is not None else {})
    reader = _Reader(config, bindings, g, a)
    model = reader.read()
    spec = ir.lower(model, _LATE, reader.errors)
    reader.errors.raise_if_any()
    return compile_chart(spec)
