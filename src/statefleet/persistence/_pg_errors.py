"""Errors of the networked store and the cluster (every one a ``PersistenceError``)."""

from __future__ import annotations

from statefleet.core import PersistenceError

__all__ = ["ConnectionLostError", "FencedError"]


class ConnectionLostError(PersistenceError):
    """The connection to PostgreSQL was lost and could not be made again in time.

    ``uncertain`` is ``True`` when it was lost while the transaction was committing and the
    database could not be asked afterwards whether it committed: the write may or may not
    have been applied (a commit retried after this is checked by its version, so it is never
    applied twice). Otherwise nothing of the write was applied.
    """

    def __init__(
        self, where: str, reason: str, *, uncertain: bool = False, reading: bool = False
    ) -> None:
        self.where = where
        self.uncertain = uncertain
        if reading:
            tail = " (while reading; nothing was written)"
        elif uncertain:
            tail = "; the write may or may not have been applied (lost while committing)"
        else:
            tail = "; nothing of the write was applied"
        super().__init__(f"{where}: lost the connection to PostgreSQL: {reason}{tail}")


class FencedError(PersistenceError):
    """A commit for an actor whose shard this node does not hold (or no longer holds).

    Every commit of a cluster node checks, in its own transaction, that the node still
    holds the lease of the actor's shard with the fencing ``epoch`` it acquired; a node
    that paused past its lease (GC, SIGSTOP, a partition) finds another owner or a later
    epoch there, and its commit is refused whole. ``owner`` and ``current_epoch`` are what
    the database holds (``None``: no lease row). Nothing of the commit was written.
    """

    def __init__(
        self,
        actor_id: str,
        shard: int,
        node: str,
        epoch: int | None,
        owner: str | None,
        current_epoch: int | None,
        reason: str,
    ) -> None:
        self.actor_id = actor_id
        self.shard = shard
        self.node = node
        self.epoch = epoch
        self.owner = owner
        self.current_epoch = current_epoch
        held = "no lease" if epoch is None else f"epoch {epoch}"
        super().__init__(
            f"fenced: node {node!r} ({held}) may not commit actor {actor_id!r} of shard"
            f" {shard}: {reason}"
        )
