"""statefleet: statecharts that run as supervised asyncio actors.

W3C SCXML semantics in a pure, fast core; readers for the class DSL, XState-style dicts and
JSON, pystator-style YAML and SCXML; an anyio actor runtime with supervision; SQLite
persistence; OpenTelemetry tracing.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from statefleet.actors import ActorCrashedError, ActorRef, ActorSystem, Supervision
    from statefleet.compat import hsm
    from statefleet.compat.psm import Event, HistoryState, State, StateChart
    from statefleet.formats import from_dict, from_json, from_scxml, from_yaml, load

__version__ = "0.1.0"

# The actor runtime (anyio, asyncio), the readers (YAML, SCXML, http.server) and the class
# DSLs load on first use: `import statefleet` then costs the core only (issue 16: about
# 4.8x `import transitions` when everything loaded eagerly). `from statefleet import X`
# works as before; type checkers see the imports above.
_LAZY = {
    "ActorCrashedError": "statefleet.actors",
    "ActorRef": "statefleet.actors",
    "ActorSystem": "statefleet.actors",
    "Supervision": "statefleet.actors",
    "Event": "statefleet.compat.psm",
    "HistoryState": "statefleet.compat.psm",
    "State": "statefleet.compat.psm",
    "StateChart": "statefleet.compat.psm",
    "from_dict": "statefleet.formats",
    "from_json": "statefleet.formats",
    "from_scxml": "statefleet.formats",
    "from_yaml": "statefleet.formats",
    "load": "statefleet.formats",
}


def __getattr__(name: str) -> Any:
    """Load a lazily exported name (and cache it on the package)."""
    import importlib

    if name == "hsm":
        value: Any = importlib.import_module("statefleet.compat.hsm")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'statefleet' has no attribute {name!r}")
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
