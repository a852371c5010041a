"""``create_machine`` with xstate-statemachine's logic discovery (``logic_modules=``,
``logic_providers=``) and its exception classes.

:class:`LogicLoader` finds the implementation of every name a config uses: first in the
explicit ``logic``, then on each provider object (a method ``do_thing`` implements the action
``doThing``), then in each module (a function of that name). The readers' own lookup does the
camelCase-to-snake_case step, so this module only chains the places to look.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from statefleet.compat.xstate._builtins import BUILTIN_ACTIONS, action_types, builtin_for
from statefleet.compat.xstate._errors import ImplementationMissingError, InvalidConfigError
from statefleet.compat.xstate._guards import guard_overrides
from statefleet.compat.xstate._hooks import observed
from statefleet.compat.xstate._machine import MachineNode, front_end_settings, machine_node
from statefleet.compat.xstate._reading import lenient_targets, named_in
from statefleet.core import ChartDefinitionError
from statefleet.formats._input import check_data
from statefleet.formats._resolve import MISSING, Kind, Resolver
from statefleet.formats._xstate import MachineLogic, from_dict

__all__ = ["LogicLoader", "create_machine"]

_MISSING = object()
_UNKNOWN_IMPL = ("unknown action ", "unknown guard ", "unknown service ", "unknown delay ")


class LogicLoader:
    """Chains the places implementations are looked up in (xstate-statemachine's loader).

    ``LogicLoader(modules=[...], providers=[...])`` is itself a logic object: attribute
    lookups try each provider, then each module, in the order given. ``modules`` are module
    objects or importable dotted names (imported by the caller's code, never named by a
    config). :meth:`register_logic_module` adds one later.
    """

    def __init__(
        self,
        modules: Iterable[ModuleType | str] = (),
        providers: Iterable[Any] = (),
    ) -> None:
        self._providers: list[Any] = []
        self._modules: list[ModuleType] = []
        for provider in providers:
            self.register_logic_provider(provider)
        for module in modules:
            self.register_logic_module(module)

    def register_logic_module(self, module: ModuleType | str) -> None:
        """Look implementations up in ``module`` (a module or its dotted import name)."""
        if isinstance(module, str):
            try:
                module = importlib.import_module(module)
            except ImportError as exc:
                raise InvalidConfigError(
                    f"logic module {module!r} cannot be imported: {exc}", path="logic_modules"
                ) from exc
        if not isinstance(module, ModuleType):
            raise InvalidConfigError(
                f"logic_modules takes modules or dotted module names, not {type(module).__name__}",
                path="logic_modules",
            )
        self._modules.append(module)

    def register_logic_provider(self, provider: Any) -> None:
        """Look implementations up as attributes (methods) of ``provider``."""
        if provider is None or isinstance(provider, str | bytes | Mapping):
            raise InvalidConfigError(
                "logic_providers takes objects whose methods implement the config's names, "
                f"not {type(provider).__name__}",
                path="logic_providers",
            )
        self._providers.append(provider)

    def _sources(self) -> list[Any]:
        return [*self._providers, *self._modules]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        for source in self._sources():
            value = getattr(source, name, _MISSING)
            if value is not _MISSING and callable(value):
                return value
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for source in self._sources():
            names.update(
                n
                for n in dir(source)
                if not n.startswith("_") and callable(getattr(source, n, None))
            )
        return sorted(names)


class _Chained:
    """The explicit ``logic`` first, then a :class:`LogicLoader`."""

    def __init__(self, first: Any, then: LogicLoader) -> None:
        self._first = first
        self._then = then

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._first, name, _MISSING)
        if value is not _MISSING:
            return value
        return getattr(self._then, name)

    def __dir__(self) -> list[str]:
        return sorted({*dir(self._first), *dir(self._then)} - {"_first", "_then"})


_KINDS: tuple[Kind, ...] = ("action", "guard", "service", "delay")


def _user_logic(logic: Any, maps: Mapping[Kind, Mapping[str, Any] | None]) -> Resolver:
    """Where the caller's implementations are: the mappings given, a :class:`MachineLogic`'s
    own mappings, then the logic object (as the reader looks names up)."""
    found: dict[Kind, list[Mapping[str, Any]]] = {}
    for kind in _KINDS:
        sources = [m for m in (maps.get(kind),) if isinstance(m, Mapping)]
        own = getattr(logic, f"{kind}s", None) if isinstance(logic, MachineLogic) else None
        if isinstance(own, Mapping):
            sources.append(own)
        found[kind] = sources
    skip = frozenset(dir(MachineLogic)) | {"actions", "guards", "services", "delays"}
    return Resolver(found, logic, skip=skip)


def _with_builtins(
    config: Mapping[str, Any], user: Resolver, actions: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``actions`` plus the built-in actions the config uses and the caller's logic does not
    implement itself (a user's ``log`` or ``xstate.assign`` wins)."""
    out = dict(actions or {})
    for name in {*action_types(config), *BUILTIN_ACTIONS}:
        if name in out or user.lookup("action", name) is not MISSING:
            continue
        fn = builtin_for(name)
        if fn is not None:
            out[name] = fn
    return out


def create_machine(
    config: Mapping[str, Any],
    logic: Any = None,
    *,
    logic_modules: Sequence[ModuleType | str] | None = None,
    logic_providers: Sequence[Any] | None = None,
    actions: Mapping[str, Any] | None = None,
    guards: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
    delays: Mapping[str, Any] | None = None,
    event_schemas: Mapping[str, Any] | None = None,
) -> MachineNode:
    """Read an XState config into a chart, as xstate-statemachine's ``create_machine`` does.

    ``logic`` (a :class:`MachineLogic`, an object or a mapping) is looked in first, then
    ``logic_providers`` (objects), then ``logic_modules`` (modules or dotted names): an action
    ``sendEmail`` is found as ``sendEmail`` or ``send_email``. The built-in actions
    ``xstate.assign``, ``xstate.raise`` and ``xstate.log`` are bound unless the logic defines
    them (see :mod:`statefleet.compat.xstate._builtins`). A bad config raises
    :class:`InvalidConfigError`, a name nothing implements
    :class:`ImplementationMissingError` (both are also
    :class:`~statefleet.ChartDefinitionError`).

    The result is a :class:`MachineNode` (a :class:`~statefleet.Chart`) with
    xstate-statemachine's ``states`` and ``get_state_by_id``. The config keys
    ``maxIterations`` (the bound on one macrostep) and ``strict`` (refuse undeclared events)
    and ``event_schemas`` (event type -> a schema with ``validate(payload)``, or a callable)
    are enforced by the interpreters. Targets only xstate-statemachine resolves (a plain
    target found among an ancestor's children, ``".x"`` falling back to a sibling) are read
    as it reads them unless the config sets ``"strictTargets": true`` (see
    :mod:`statefleet.compat.xstate._reading`).
    """
    if not isinstance(config, Mapping):
        raise InvalidConfigError(
            f"a machine config is a dict (XState's JSON object), not {type(config).__name__}"
        )
    try:
        check_data(config)  # the walks below assume bounded, acyclic data, as the reader does
    except ChartDefinitionError as exc:
        raise InvalidConfigError(exc.message, path=exc.path) from exc
    strict_targets = config.get("strictTargets") is True
    config, max_iterations, strict = front_end_settings(config)
    factory = config.pop("context", None) if callable(config.get("context")) else None
    read = config if strict_targets else lenient_targets(config)
    if logic_modules is not None or logic_providers is not None:
        for what, given in (("logic_modules", logic_modules), ("logic_providers", logic_providers)):
            if given is not None and (
                isinstance(given, str | bytes | Mapping) or not isinstance(given, Sequence)
            ):
                raise InvalidConfigError(
                    f"{what} takes a list, not {type(given).__name__}", path=what
                )
        loader = LogicLoader(logic_modules or (), logic_providers or ())
        if logic is None:
            logic = loader
        elif isinstance(logic, MachineLogic):
            actions = {**logic.actions, **(actions or {})}
            guards = {**logic.guards, **(guards or {})}
            services = {**logic.services, **(services or {})}
            delays = {**logic.delays, **(delays or {})}
            logic = _Chained(logic, loader)
        elif isinstance(logic, Mapping):
            raise InvalidConfigError(
                "pass a MachineLogic or an object as logic= together with logic_modules / "
                "logic_providers (a plain mapping does not say what kind each name is)",
                path="logic",
            )
        else:
            logic = _Chained(logic, loader)
    user = _user_logic(
        logic, {"action": actions, "guard": guards, "service": services, "delay": delays}
    )
    actions = observed(
        "action", set(action_types(config)), user, _with_builtins(config, user, actions)
    )
    services = observed("service", set(named_in(config, ("src",))), user, services)
    guards = guard_overrides(config, user, guards)
    try:
        chart = from_dict(
            read, logic, actions=actions, guards=guards, services=services, delays=delays
        )
    except ChartDefinitionError as exc:
        if isinstance(exc, InvalidConfigError | ImplementationMissingError):
            raise
        missing = all(message.startswith(_UNKNOWN_IMPL) for _, message in exc.errors)
        cls = ImplementationMissingError if missing else InvalidConfigError
        raise cls(exc.message, path=exc.path, line=exc.line, errors=exc.errors) from exc
    machine = machine_node(
        chart, config, max_iterations=max_iterations, strict=strict, event_schemas=event_schemas
    )
    machine.bind_logic(user)
    machine.context_factory = factory
    return machine
