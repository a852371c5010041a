"""statefleet: statecharts that run as supervised asyncio actors.

W3C SCXML semantics in a pure, fast core; readers for the class DSL, XState-style dicts and
JSON, pystator-style YAML and SCXML; an anyio actor runtime with supervision; SQLite
persistence; OpenTelemetry tracing.
"""

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

__version__ = "0.1.0"

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
