"""statefleet's pure core: chart model, compiler, SCXML algorithm, snapshots, sync Session.

Nothing here does I/O or knows about anyio, sqlite or OpenTelemetry.
"""

from statefleet.core._algorithm import ActionContext
from statefleet.core._api import Chart, Invocation, RealClock, Session, VirtualClock, compile_chart
from statefleet.core._effects import (
    AwaitEffect,
    CancelEffect,
    CancelInvokeEffect,
    Effect,
    InvokeEffect,
    LogEffect,
    ScheduleEffect,
    SendEffect,
)
from statefleet.core._errors import (
    ActorError,
    ActorStoppedError,
    ChartDefinitionError,
    InfiniteLoopError,
    InvalidEventError,
    MailboxFullError,
    PersistenceError,
    SnapshotError,
    StatefleetError,
)
from statefleet.core._events import EventData, descriptor_matches, parse_descriptors
from statefleet.core._model import (
    Action,
    AfterSpec,
    ChartSpec,
    DataSpec,
    Guard,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
)
from statefleet.core._snapshot import (
    DelayedEvent,
    InvocationRecord,
    Snapshot,
    decode_snapshot,
    encode_snapshot,
)
from statefleet.core._step import Microstep, Step

__all__ = [
    "Action",
    "ActionContext",
    "ActorError",
    "ActorStoppedError",
    "AfterSpec",
    "AwaitEffect",
    "CancelEffect",
    "CancelInvokeEffect",
    "Chart",
    "ChartDefinitionError",
    "ChartSpec",
    "DataSpec",
    "DelayedEvent",
    "Effect",
    "EventData",
    "Guard",
    "InfiniteLoopError",
    "InvalidEventError",
    "Invocation",
    "InvocationRecord",
    "InvokeEffect",
    "InvokeSpec",
    "LogEffect",
    "MailboxFullError",
    "Microstep",
    "PersistenceError",
    "RealClock",
    "ScheduleEffect",
    "SendEffect",
    "Session",
    "Snapshot",
    "SnapshotError",
    "StateSpec",
    "StatefleetError",
    "Step",
    "TransitionSpec",
    "VirtualClock",
    "compile_chart",
    "decode_snapshot",
    "descriptor_matches",
    "encode_snapshot",
    "parse_descriptors",
]
