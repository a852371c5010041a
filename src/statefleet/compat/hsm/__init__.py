"""stateforward hsm's API on statefleet: ``from statefleet import hsm``.

``hsm.define(...)`` builds a model (a core :class:`~statefleet.core.Chart`) from the
functional vocabulary (``state``, ``initial``, ``transition``, ``on``, ``target``, ``after``,
...); ``hsm.start(ctx, instance, model)`` runs it, ``sm.dispatch(event)`` drives it and
``hsm.stop(sm)`` ends it. ``statefleet.hsm`` and ``statefleet.formats.hsm`` are this module.
"""

from statefleet.compat.hsm._api import (
    ID,
    Config,
    EventInfo,
    HsmSnapshot,
    Name,
    QualifiedName,
    TakeSnapshot,
    at,
    dispatch,
    started,
    unsupported,
)
from statefleet.compat.hsm._runtime import HSM, Instance, start, stop
from statefleet.core import Chart
from statefleet.formats._builder import (
    Activity,
    Behavior,
    Context,
    DataInstance,
    Element,
    Event,
    ValidationError,
    activity,
    after,
    choice,
    deep_history,
    define,
    effect,
    entry,
    every,
    exit,
    final,
    guard,
    initial,
    on,
    shallow_history,
    source,
    state,
    target,
    transition,
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
Start = start
Started = started
Stop = stop
Dispatch = dispatch
config = Config
take_snapshot = TakeSnapshot
qualified_name = QualifiedName
name = Name
id = ID
context = Context
event = Event
Defer = defer = unsupported("Defer")
When = when = unsupported("When")
Attribute = attribute = unsupported("Attribute")
Get = get = unsupported("Get")
Set = set = unsupported("Set")
OnSet = on_set = onset = unsupported("OnSet")
ShallowHistory = shallow_history
DeepHistory = deep_history

__all__ = [
    "HSM",
    "ID",
    "Activity",
    "After",
    "At",
    "Attribute",
    "Behavior",
    "Choice",
    "Config",
    "Context",
    "DataInstance",
    "DeepHistory",
    "Defer",
    "Define",
    "Dispatch",
    "Effect",
    "Element",
    "Entry",
    "Event",
    "EventInfo",
    "Every",
    "Exit",
    "Final",
    "Get",
    "Guard",
    "HsmSnapshot",
    "Initial",
    "Instance",
    "Model",
    "Name",
    "On",
    "OnSet",
    "QualifiedName",
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
    "Transition",
    "ValidationError",
    "When",
    "activity",
    "after",
    "at",
    "attribute",
    "choice",
    "config",
    "context",
    "deep_history",
    "defer",
    "define",
    "dispatch",
    "effect",
    "entry",
    "event",
    "every",
    "exit",
    "final",
    "get",
    "guard",
    "id",
    "initial",
    "model",
    "name",
    "on",
    "on_set",
    "onset",
    "qualified_name",
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
    "transition",
    "when",
]
