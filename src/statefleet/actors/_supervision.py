"""Supervision settings: what happens to an actor's unhandled errors and to its crashes."""

from __future__ import annotations

import random
from typing import Literal

import msgspec

from statefleet.core import ActorError

__all__ = ["ErrorPolicy", "RestartPolicy", "Supervision"]

ErrorPolicy = Literal["escalate", "ignore", "stop"]
RestartPolicy = Literal["permanent", "transient", "temporary"]

_ERROR_POLICIES = ("escalate", "ignore", "stop")
_RESTART_POLICIES = ("permanent", "transient", "temporary")


class Supervision(msgspec.Struct, frozen=True, kw_only=True):
    """How an actor is supervised (set per system, overridable per spawn).

    *User errors are events.* ``error.execution``, ``error.communication``,
    ``error.invoke.<id>`` and ``error.child.<id>`` go to the chart first. When no transition
    takes one, ``on_error`` decides: ``"escalate"`` (default) sends the parent
    ``error.child.<key>`` (``key`` is the invoke id for an invoked child, else the child's actor
    id; at the top, the system publishes :class:`~statefleet.core.ActorEscalated` and logs it),
    ``"ignore"`` drops it, ``"stop"`` stops the actor.

    *Crashes are the runtime's.* An exception escaping the engine (a bug,
    :class:`~statefleet.InfiniteLoopError`) or a failing store commit restarts the actor from
    its last snapshot after ``backoff * 2**(n-1)`` seconds (capped at ``max_backoff``, plus up
    to ``jitter`` of it at random) on the system clock. More than ``max_restarts`` crashes
    within ``period`` seconds, or a crash of a ``"temporary"`` actor, escalate instead: the
    actor and its children stop and the parent gets ``error.invoke.<id>`` (invoked child) or
    ``error.child.<id>`` (spawned child). Two refused commits of a durable actor are not
    crashes: one that met another writer's version loads the actor again from the store,
    and one refused by a cluster node's fence (its shard is another node's now) stops it
    as ``"handed over"``, its events going to the shard's new owner.

    ``restart``: ``"transient"`` (default) restarts after a crash only; ``"permanent"`` also
    restarts an actor that reached a top-level final state (from its initial state, with an
    :class:`~statefleet.core.ActorRestarted` record); ``"temporary"`` never restarts.
    """

    on_error: ErrorPolicy = "escalate"
    restart: RestartPolicy = "transient"
    max_restarts: int = 3
    period: float = 5.0
    backoff: float = 0.1
    max_backoff: float = 10.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.on_error not in _ERROR_POLICIES:
            raise ActorError(
                f"Supervision.on_error must be one of {', '.join(_ERROR_POLICIES)},"
                f" not {self.on_error!r}"
            )
        if self.restart not in _RESTART_POLICIES:
            raise ActorError(
                f"Supervision.restart must be one of {', '.join(_RESTART_POLICIES)},"
                f" not {self.restart!r}"
            )
        for name in ("max_restarts", "period", "backoff", "max_backoff", "jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ActorError(f"Supervision.{name} must be a number >= 0, not {value!r}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The backoff before restart number ``attempt`` (1-based) within the period."""
        base = min(self.max_backoff, self.backoff * (2.0 ** max(0, attempt - 1)))
        if self.jitter:
            base += base * self.jitter * rng.random()
        return base
