"""statefleet: statecharts that run as supervised asyncio actors.

W3C SCXML semantics in a pure, fast core; readers for the class DSL, XState-style dicts and
JSON, pystator-style YAML and SCXML; an anyio actor runtime with supervision; SQLite
persistence; OpenTelemetry tracing.
"""

# Every public name loads on first use (module ``__getattr__`` below), the core included:
# `import statefleet` costs little more than the interpreter (issue 16: `msgspec`, which the
# core's types are built on, alone costs more than `import transitions`), and a program pays
# for the parts it touches. `from statefleet import X` and `statefleet.X` work as eager imports
# would; type checkers read the imports under TYPE_CHECKING. The name is a plain False rather
# than typing.TYPE_CHECKING so that `typing` is not imported either (mypy and pyright treat a
# name called TYPE_CHECKING as true); deleted after use, it is no
# attribute of the package.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from statefleet.actors import ActorCrashedError, ActorRef, ActorSystem, Supervision
    from statefleet.compat import hsm
    from statefleet.compat.psm import Event, HistoryState, State, StateChart
    from statefleet.core import (
        ActionContext,
        ActorError,
        ActorStoppedError,
        Chart,
        ChartDefinitionError,
        ChartSpec,
        DataSpec,
        EventData,
        InfiniteLoopError,
        InvalidEventError,
        Invocation,
        InvokeSpec,
        MailboxFullError,
        Microstep,
        PersistenceError,
        RealClock,
        Session,
        Snapshot,
        SnapshotError,
        StatefleetError,
        StateSpec,
        Step,
        TransitionSpec,
        VirtualClock,
        compile_chart,
        decode_snapshot,
        encode_snapshot,
    )
    from statefleet.formats import from_dict, from_json, from_scxml, from_yaml, load
del TYPE_CHECKING

__version__ = "0.1.0"

#: where the exported names not from ``statefleet.core`` live: ``(module, attribute)``, an
#: attribute of None meaning the module itself; every other name of ``__all__`` but
#: ``__version__`` is ``statefleet.core``'s
_ELSEWHERE: dict[str, tuple[str, str | None]] = {
    **{
        name: ("statefleet.actors", name)
        for name in ("ActorCrashedError", "ActorRef", "ActorSystem", "Supervision")
    },
    **{
        name: ("statefleet.compat.psm", name)
        for name in ("Event", "HistoryState", "State", "StateChart")
    },
    **{
        name: ("statefleet.formats", name)
        for name in ("from_dict", "from_json", "from_scxml", "from_yaml", "load")
    },
    "hsm": ("statefleet.compat.hsm", None),
}


def __getattr__(name: str) -> object:
    """Load a lazily exported name or a subpackage (``statefleet.core`` after a bare
    ``import statefleet``, as when the core loaded eagerly), and cache it on the package."""
    from importlib import import_module

    if name not in __all__ or name == "__version__":
        if name.isidentifier() and not name.startswith("_"):
            try:
                return import_module(f"statefleet.{name}")  # the import sets the attribute
            except ModuleNotFoundError as exc:
                if exc.name != f"statefleet.{name}":
                    raise  # the subpackage exists and failed to import something
        raise AttributeError(f"module 'statefleet' has no attribute {name!r}")
    module, attribute = _ELSEWHERE.get(name, ("statefleet.core", name))
    value: object = import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ActionContext",
    "ActorCrashedError",
    "ActorError",
    "ActorRef",
    "ActorStoppedError",
    "ActorSystem",
    "Chart",
    "ChartDefinitionError",
    "ChartSpec",
    "DataSpec",
    "Event",
    "EventData",
    "HistoryState",
    "InfiniteLoopError",
    "InvalidEventError",
    "Invocation",
    "InvokeSpec",
    "MailboxFullError",
    "Microstep",
    "PersistenceError",
    "RealClock",
    "Session",
    "Snapshot",
    "SnapshotError",
    "State",
    "StateChart",
    "StateSpec",
    "StatefleetError",
    "Step",
    "Supervision",
    "TransitionSpec",
    "VirtualClock",
    "__version__",
    "compile_chart",
    "decode_snapshot",
    "encode_snapshot",
    "from_dict",
    "from_json",
    "from_scxml",
    "from_yaml",
    "hsm",
    "load",
]
