"""stateforward hsm's API on statefleet: ``from statefleet import hsm``.

``hsm.define(...)`` builds a model (a core :class:`~statefleet.core.Chart`) from the
functional vocabulary (``state``, ``initial``, ``transition``, ``on``, ``target``, ``after``,
...); ``hsm.start(ctx, instance, model)`` runs it, ``sm.dispatch(event)`` drives it and
``hsm.stop(sm)`` ends it. ``statefleet.hsm`` and ``statefleet.formats.hsm`` are this module.
"""

from statefleet.compat.hsm._runtime import HSM, Instance, start, stop
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
    define,
    effect,
    entry,
    every,
    exit,
    final,
    guard,
    initial,
    on,
    source,
    state,
    target,
    transition,
)

__all__ = [
    "HSM",
    "Activity",
    "Behavior",
    "Context",
    "DataInstance",
    "Element",
    "Event",
    "Instance",
    "ValidationError",
    "activity",
    "after",
    "choice",
    "define",
    "effect",
    "entry",
    "every",
    "exit",
    "final",
    "guard",
    "initial",
    "on",
    "source",
    "start",
    "state",
    "stop",
    "target",
    "transition",
]
