"""The result of a pure step."""

from __future__ import annotations

from typing import Any

import msgspec

from statefleet.core._events import EventData

__all__ = ["Microstep", "Step"]


class Microstep(msgspec.Struct, frozen=True):
    """One microstep: the transitions taken, the states exited (exit order) and entered
    (entry order)."""

    transitions: tuple[str, ...]
    exited: tuple[str, ...]
    entered: tuple[str, ...]


class Step(msgspec.Struct, frozen=True):
    """What one macrostep did: the new snapshot, the microsteps taken in order, the effects
    the driver must carry out, and the errors raised as ``error.execution``.

    ``configuration_before`` is the configuration the step started from.
    """

    snapshot: Any
    event: EventData | None
    microsteps: tuple[Microstep, ...] = ()
    effects: tuple[Any, ...] = ()
    errors: tuple[Any, ...] = ()
    configuration_before: tuple[str, ...] = ()
