"""stateforward hsm's API on statefleet: ``from statefleet import hsm``.

``hsm.define(...)`` builds a model (a core :class:`~statefleet.core.Chart`) from the
functional vocabulary (``state``, ``initial``, ``transition``, ``on``, ``target``, ``after``,
...); ``hsm.start(ctx, instance, model)`` runs it, ``sm.dispatch(event)`` drives it and
``hsm.stop(sm)`` ends it. ``statefleet.hsm`` and ``statefleet.formats.hsm`` are this module.
"""

from statefleet.compat.hsm._api import (
    ID,
    AfterDispatch,
    AfterEntry,
    AfterExecuted,
    AfterExit,
    AfterProcess,
    Call,
    Config,
    EventInfo,
    Get,
    HsmSnapshot,
    Name,
    New,
    NewMachine,
    QualifiedName,
    Restart,
    Set,
    Start,
    Stop,
    TakeSnapshot,
    dispatch,
    started,
)
from statefleet.compat.hsm._attributes import AttributeChange
from statefleet.compat.hsm._clock import Clock, DefaultClock
from statefleet.compat.hsm._elements import (
    Activity,
    activity,
    after,
    at,
    attribute,
    defer,
    define,
    effect,
    entry,
    every,
    exit,
    guard,
    initial,
    on_call,
    on_set,
    operation,
    state,
    transition,
    when,
)
from statefleet.compat.hsm._events import (
    CallEventKind,
    ChangeEventKind,
    CompletionEventKind,
    ElementKind,
    ErrorEventKind,
    Event,
    EventKind,
    TimeEventKind,
    is_kind,
    make_kind,
)
from statefleet.compat.hsm._group import Group, dispatch_all, dispatch_to, match
from statefleet.compat.hsm._operations import CallData
from statefleet.compat.hsm._runtime import HSM, Instance, Pending, running
from statefleet.core import Chart
from statefleet.formats._builder import (
    Behavior,
    Context,
    DataInstance,
    Element,
    ValidationError,
    choice,
    deep_history,
    final,
    on,
    shallow_history,
    source,
    target,
)

# -- hsm's capitalised names and their snake_case forms ------------------------------------------
#: hsm's name for a model (what :func:`define` returns: a core Chart)
Model = Chart
model = Chart
Snapshot = HsmSnapshot
snapshot = HsmSnapshot
Define = define
State = state
Final = final
Choice = choice
Initial = initial
Transition = transition
On = on
Source = source
Target = target
Guard = guard
Effect = effect
Entry = entry
Exit = exit
After = after
Every = every
At = at
start = Start
new = New
new_machine = NewMachine
Started = started
stop = Stop
Dispatch = dispatch
config = Config
take_snapshot = TakeSnapshot
qualified_name = QualifiedName
name = Name
id = ID
context = Context
event = Event
Defer = defer
When = when
Attribute = attribute
get = Get
set = Set
OnSet = onset = on_set
restart = Restart
after_entry = AfterEntry
after_exit = AfterExit
after_process = AfterProcess
after_dispatch = AfterDispatch
after_executed = AfterExecuted
attribute_change = AttributeChange
Operation = operation
OnCall = on_call
call = Call
call_data = CallData
clock = Clock
default_clock = DefaultClock
DispatchAll = dispatch_all
DispatchTo = dispatch_to
NewGroup = MakeGroup = new_group = make_group = Group
Match = match
behavior = Behavior
data_instance = DataInstance
element = Element
event_info = EventInfo
hsm_snapshot = HsmSnapshot
instance = Instance
pending = Pending
MakeKind = make_kind
IsKind = is_kind
call_event_kind = CallEventKind
change_event_kind = ChangeEventKind
completion_event_kind = CompletionEventKind
element_kind = ElementKind
error_event_kind = ErrorEventKind
event_kind = EventKind
time_event_kind = TimeEventKind
group = Group
validation_error = ValidationError
ShallowHistory = shallow_history
DeepHistory = deep_history

__all__ = [
    "HSM",
    "ID",
    "Activity",
    "After",
    "AfterDispatch",
    "AfterEntry",
    "AfterExecuted",
    "AfterExit",
    "AfterProcess",
    "At",
    "Attribute",
    "AttributeChange",
    "Behavior",
    "Call",
    "CallData",
    "CallEventKind",
    "ChangeEventKind",
    "Choice",
    "Clock",
    "CompletionEventKind",
    "Config",
    "Context",
    "DataInstance",
    "DeepHistory",
    "DefaultClock",
    "Defer",
    "Define",
    "Dispatch",
    "DispatchAll",
    "DispatchTo",
    "Effect",
    "Element",
    "ElementKind",
    "Entry",
    "ErrorEventKind",
    "Event",
    "EventInfo",
    "EventKind",
    "Every",
    "Exit",
    "Final",
    "Get",
    "Group",
    "Guard",
    "HsmSnapshot",
    "Initial",
    "Instance",
    "IsKind",
    "MakeGroup",
    "MakeKind",
    "Match",
    "Model",
    "Name",
    "New",
    "NewGroup",
    "NewMachine",
    "On",
    "OnCall",
    "OnSet",
    "Operation",
    "Pending",
    "QualifiedName",
    "Restart",
    "Set",
    "ShallowHistory",
    "Snapshot",
    "Source",
    "Start",
    "Started",
    "State",
    "Stop",
    "TakeSnapshot",
    "Target",
    "TimeEventKind",
    "Transition",
    "ValidationError",
    "When",
    "activity",
    "after",
    "after_dispatch",
    "after_entry",
    "after_executed",
    "after_exit",
    "after_process",
    "at",
    "attribute",
    "attribute_change",
    "behavior",
    "call",
    "call_data",
    "call_event_kind",
    "change_event_kind",
    "choice",
    "clock",
    "completion_event_kind",
    "config",
    "context",
    "data_instance",
    "deep_history",
    "default_clock",
    "defer",
    "define",
    "dispatch",
    "dispatch_all",
    "dispatch_to",
    "effect",
    "element",
    "element_kind",
    "entry",
    "error_event_kind",
    "event",
    "event_info",
    "event_kind",
    "every",
    "exit",
    "final",
    "get",
    "group",
    "guard",
    "hsm_snapshot",
    "id",
    "initial",
    "instance",
    "is_kind",
    "make_group",
    "make_kind",
    "match",
    "model",
    "name",
    "new",
    "new_group",
    "new_machine",
    "on",
    "on_call",
    "on_set",
    "onset",
    "operation",
    "pending",
    "qualified_name",
    "restart",
    "running",
    "set",
    "shallow_history",
    "snapshot",
    "source",
    "start",
    "started",
    "state",
    "stop",
    "take_snapshot",
    "target",
    "time_event_kind",
    "transition",
    "validation_error",
    "when",
]
