"""Class charts as actors: the objects a chart class hands the runtime.

A chart written as a class (``statefleet.StateChart``) runs as an actor like any chart: one
instance per actor, the callbacks' ``self``, its model state in the datamodel (so in every
snapshot and commit). The runtime needs three things of it, and only these (nothing private):

- the class: ``cls.chart`` (the compiled :class:`~statefleet.core.Chart`) and
  ``cls.for_entity(entity_id, snapshot)``, the instance for a durable entity (restored from its
  stored snapshot, or new and not started, its initial datamodel in ``initial_context``);
- the instance: ``instance.chart`` and ``instance.bind(interpreter, actor)``, called with the
  actor's engine (again after every restart) so that callbacks get the instance as ``self``
  and its ``send`` / ``raise_`` go to the actor.

``ActorSystem(charts=[OrderChart])``, ``system.ref(OrderChart, id)`` and
``system.spawn(OrderChart(), id=...)`` accept them.
"""

from __future__ import annotations

from typing import Any, Protocol, cast, runtime_checkable

from statefleet.core import ActorError, Chart, Snapshot

__all__ = ["ChartClass", "ChartModel", "chart_and_class"]


@runtime_checkable
class ChartModel(Protocol):
    """An instance of a chart class an actor can drive (see the module docstring)."""

    @property
    def chart(self) -> Chart:
        """The compiled chart the instance runs."""

    def bind(self, interpreter: Any, actor: Any) -> None:
        """Be driven by ``actor`` through ``interpreter`` (its engine)."""

    def snapshot(self) -> Snapshot:
        """The instance's current state."""


class ChartClass(Protocol):
    """A chart class: its compiled ``chart`` and the ``for_entity`` hook."""

    chart: Chart

    def for_entity(self, entity_id: str, snapshot: Snapshot | None = None, /) -> ChartModel:
        """The instance for a durable entity (see :mod:`statefleet.actors._models`)."""


def chart_and_class(chart: Any, what: str) -> tuple[Chart, ChartClass | None]:
    """``chart`` as (compiled chart, chart class or None); ``what`` names the argument in the
    :class:`~statefleet.ActorError` for anything else."""
    if isinstance(chart, Chart):
        return chart, None
    if isinstance(chart, type) and callable(getattr(chart, "for_entity", None)):
        compiled = getattr(chart, "chart", None)
        if isinstance(compiled, Chart):
            return compiled, cast(ChartClass, chart)
    raise ActorError(
        f"{what} needs a compiled Chart or a chart class (a StateChart subclass), not {chart!r}"
    )
