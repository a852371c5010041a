"""The supervisor: what happens when an actor's chart ends, its error events go unhandled,
or the runtime crashes around it.

User errors are events (``error.execution`` and friends go to the chart first); an error
event no transition takes meets the actor's :class:`~statefleet.actors.Supervision`
``on_error`` policy (:func:`on_unhandled`). A crash of the runtime around an actor (an
exception escaping its step, a commit that fails) restarts it from its last good snapshot
(with a store: the last committed one) after a backoff, within its restart intensity, or
escalates (:func:`crash`, :func:`schedule_restart`, :func:`restart`, :func:`give_up`).

Three failures of a durable actor are not crashes. A commit refused because the stored
actor moved on (someone else committed it) loads the actor again from the store, the truth,
and applies the event there (:func:`reload`): restarting from its own last commit would only
conflict again until the restart limit gave up. A commit refused by a cluster node's fence
(the actor's shard is another node's now) hands the actor over to that node
(:func:`handed_over`): restarting would be refused again just the same. And the inbox events
of a stored actor that has ended go to the dead letters when its activation finds them
(:func:`refuse_ended`), as a send to it is refused.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from statefleet.actors import _invocations as invocations
from statefleet.actors._lifecycle import (
    IDLE,
    NO_EFFECTS,
    OWNED,
    RESTART,
    RESTARTING,
    RUNNING,
    STOPPED,
    close_awaitable,
    contained,
    copy_context,
)
from statefleet.actors._mailbox import Envelope
from statefleet.actors._ref import ActorCrashedError
from statefleet.core import (
    ActorEscalated,
    ActorRestarted,
    ActorStoppedError,
    AwaitEffect,
    EventData,
    PersistenceError,
    Snapshot,
    SnapshotError,
    StatefleetError,
)
from statefleet.core._algorithm import _NO_ERRORS
from statefleet.core._routing import error_text

if TYPE_CHECKING:
    from statefleet.actors._cell import ActorCell

__all__ = [
    "POISON_ATTEMPTS",
    "RELOADS",
    "crash",
    "give_up",
    "handed_over",
    "moved_on",
    "on_final",
    "on_unhandled",
    "refuse_ended",
    "reload",
    "restart",
    "schedule_restart",
]

#: how many times an event from the durable inbox is tried when its step cannot be committed
#: (a :class:`~statefleet.SnapshotError`: the step's state cannot be encoded) before it goes
#: to the dead letters
POISON_ATTEMPTS = 3
#: how many times in a row an event's commit may be refused because the stored actor moved
#: on (each time the actor is loaded again from the store, :func:`reload`) before it counts
#: as a crash
RELOADS = 10

log = logging.getLogger("statefleet.actors")


def on_unhandled(cell: ActorCell) -> None:
    """Error events no transition took: apply the error policy."""
    m = cell.engine
    evs = m.unhandled or []
    m.unhandled = None
    policy = cell.sup.on_error
    if policy == "ignore":
        return
    s = cell.rt
    for ev in evs:
        msg = error_text(ev)
        if policy == "stop":
            cell.terminate("failed", None, error=f"unhandled {ev.name}: {msg}", quiet=True)
            return
        parent = cell.parent
        s.publish(
            ActorEscalated(
                actor=cell.id,
                ts=s.clock_now(),
                to=parent.id if parent is not None else None,
                error=f"unhandled {ev.name}: {msg}",
            )
        )
        if parent is None:
            log.warning("actor %r: unhandled %s: %s", cell.id, ev.name, msg)
            continue
        key = cell.invokeid if cell.invokeid is not None else cell.id
        out = EventData(
            f"error.child.{key}",
            {"child": cell.id, "event": ev.name, "error": msg},
            "platform",
            invokeid=cell.invokeid,
            origin=f"#_{cell.invokeid}" if cell.invokeid is not None else cell.id,
            error=ev.error,
        )
        parent.from_child(cell, out)


def on_final(cell: ActorCell) -> None:
    """The chart reached a top-level final state."""
    if cell.sup.restart == "permanent":
        schedule_restart(cell, None, "reached a final state")
        return
    cell.terminate("done", None)


def crash(
    cell: ActorCell,
    exc: BaseException,
    ev: EventData | None,
    env: Envelope | None,
    ckpt: Snapshot | None,
) -> None:
    """The runtime failed around this actor while it processed ``ev``: restart it from
    ``ckpt`` (with a store: its last committed snapshot) or escalate. An event from the
    durable inbox goes back to the front of the mailbox (its row was not consumed).
    A commit refused by a cluster node's fence is no crash (:func:`handed_over`)."""
    if handed_over(cell, exc, env):
        return
    log.error(
        "actor %r crashed processing %r: %s",
        cell.id,
        ev.name if ev is not None else "(start)",
        exc,
        exc_info=exc,
    )
    _discard_step(cell)
    x = cell.extra()
    if env is not None:
        assert ev is not None
        env.fail(
            ActorCrashedError(
                f"actor {cell.id!r} crashed processing {ev.name!r}: {type(exc).__name__}: {exc}"
            )
        )
        again = env.redelivery()
        durable = cell.rt.durable
        if again is not None and durable is not None:
            if isinstance(exc, SnapshotError) and again.attempts >= POISON_ATTEMPTS:
                # its step cannot be committed, however often it is tried: a poison
                # message, moved to the dead letters; the actor carries on without it
                durable.dead_letter(
                    cell,
                    again,
                    f"poison message {ev.name!r}: its step could not be committed"
                    f" in {again.attempts} attempts: {type(exc).__name__}: {exc}",
                )
            else:
                if cell.mailbox is None:
                    cell.mailbox = deque()
                cell.mailbox.appendleft(again)
    snap = x.committed if cell.rt.store is not None else ckpt
    error = f"{type(exc).__name__}: {exc}"
    if snap is None:
        give_up(cell, error + " (no snapshot to restart from)")
        return
    schedule_restart(cell, snap, error)


def handed_over(cell: ActorCell, exc: BaseException, env: Envelope | None) -> bool:
    """Was ``exc`` a cluster node's fence refusing the actor's commit (its shard moved to
    another node while the step was committing: :meth:`Node.fenced
    <statefleet.actors._node.Node.fenced>` decides, and loses the shard at once)? Then
    nothing of the step was written and the actor goes on at the shard's new owner: it
    is stopped here as its node stops the actors of a shard handed over (no exit
    actions, nothing more committed, invocations cancelled, no restart, no escalation),
    and the waiters of ``env`` learn it with :class:`~statefleet.ActorStoppedError`
    (a durable ref sends and asks again through the new owner). An inbox event stays in
    the inbox for that owner. Restarting instead would only be refused again, until the
    restart limit failed an actor that did not crash."""
    durable = cell.rt.durable
    node = durable.node if durable is not None else None
    if node is None or not node.fenced(exc, cell):
        return False
    _discard_step(cell)
    if env is not None:
        env.fail(cell.stopped_error())
    return True


def _discard_step(cell: ActorCell) -> None:
    """Nothing of the step that failed is carried out: its effects and async actions are
    dropped."""
    m = cell.engine
    for e in m.effects:
        if isinstance(e, AwaitEffect):
            close_awaitable(e.awaitable)
    m.effects = NO_EFFECTS
    if cell.awaits is not None:
        for e in cell.awaits:
            close_awaitable(e.awaitable)
        cell.awaits = None
    x = cell.extra()
    x.last_snap = None
    x.await_ev = x.await_env = None


def schedule_restart(cell: ActorCell, snap: Snapshot | None, error: str) -> None:
    s = cell.rt
    sup = cell.sup
    x = cell.extra()
    if sup.restart == "temporary" and snap is not None:
        give_up(cell, error)
        return
    now = s.clock_now()
    crashes = [t for t in x.crashes or () if t > now - sup.period]
    if len(crashes) >= sup.max_restarts:
        give_up(cell, f"{error} (restart limit: {sup.max_restarts} in {sup.period}s)")
        return
    crashes.append(now)
    x.crashes = crashes
    delay = sup.delay(len(crashes), s.rng)
    # the crashed instance's invocations and timers die with it
    if x.invs:
        for iid in list(x.invs)[::-1]:
            invocations.cancel(cell, iid)
    x.armed = None
    cell.state = RESTARTING
    x.restart = (snap, len(crashes), delay, error)
    s.arm_timer(now + delay, cell, RESTART)


def restart(cell: ActorCell) -> None:
    x = cell.extra()
    assert x.restart is not None
    snap, attempt, delay, error = x.restart
    x.restart = None
    s = cell.rt
    chart = cell.chart
    try:
        m = cell.new_engine()
        if snap is not None:
            m.load_snapshot(snap, chart.validate(snap))
            m.context = copy_context(snap.context)
        else:
            m.now = s.clock_now()
            ctx = x.spawn_context
            m.start(dict(ctx) if ctx else None)
            m.errors = _NO_ERRORS
            m.unhandled = None
    except BaseException as exc:
        err = contained(exc)
        if err is None:
            raise
        give_up(cell, f"restart failed: {type(err).__name__}: {err}")
        return
    cell.engine = m
    s.publish(
        ActorRestarted(
            actor=cell.id,
            ts=s.clock_now(),
            attempt=attempt,
            delay=delay,
            error=error,
            from_version=snap.version if snap is not None else 0,
        )
    )
    cell.state = RUNNING  # nothing schedules it while it resumes
    try:
        if snap is not None:
            cell.resume(snap)
        elif s.store is not None:
            # a fresh start: its initial step is committed before its effects run
            x.committed = None
            x.uncommitted = None
            cell.state = OWNED
            s.commit_initial(cell, None)
            return
        else:
            cell.apply_effects()
    except BaseException as exc:
        err = contained(exc)
        if err is None:
            raise
        cell.state = IDLE
        crash(cell, err, None, None, snap)
        return
    cell.state = IDLE
    if cell.x is not None and (x.watchers or x.subs):
        cell.observe(None, None)  # the restored state is news to watchers and subscribers
    if cell.awaits is not None:
        cell.state = OWNED
        s.start_owned(cell)
    elif cell.mailbox:
        cell.schedule()


def moved_on(exc: BaseException) -> bool:
    """Was a commit refused because the stored actor is at another version than the one
    this actor last committed (someone else committed it meanwhile)? That is the store's
    ``VersionConflictError`` with a stored version (``actual``), known here by its shape:
    the actor runtime does not import the persistence layer."""
    return isinstance(exc, PersistenceError) and type(getattr(exc, "actual", None)) is int


def reload(cell: ActorCell, exc: BaseException, ev: EventData | None, env: Envelope | None) -> bool:
    """The commit of the step on ``ev`` was refused because the stored actor moved on
    (:func:`moved_on`: another system committed it, or a program through the store): the
    stored snapshot is the truth, so the actor is loaded again from the store (migrated as
    on activation) and ``ev`` goes back to the front of its mailbox, its waiters still
    waiting, to be applied on the stored state. Not a crash: it does not count toward the
    restart limit (but an event refused this way :data:`RELOADS` times in a row is one).
    False (nothing done) for any other failure, which is a crash (:func:`crash`). A commit
    the fence of a cluster node refused is never taken here, whatever the stored version
    (the store checks the fence first and raises its refusal): loading the actor again on
    a node that lost its shard would only be refused again; :func:`handed_over` takes it."""
    s = cell.rt
    durable = s.durable
    if (
        durable is None
        or cell.invokeid is not None  # an invoked child is loaded with its parent
        or cell.state == STOPPED
        or cell.extra().committed is None  # a create: someone else's actor has that id
        or not s.running
        or s.closing
        or not moved_on(exc)
    ):
        return False
    item = env if env is not None or ev is None else Envelope(ev)
    if item is not None:
        if item.attempts >= RELOADS:
            return False
        item.attempts += 1
    log.warning("actor %r: %s: loading it again from the store", cell.id, exc)
    _discard_step(cell)
    if item is not None:
        if cell.mailbox is None:
            cell.mailbox = deque()
        cell.mailbox.appendleft(item)
    # the stale instance is replaced by the stored one, whose invoked states are still
    # active there: their invocations stop here without their cancellation (no exit
    # actions, their children's rows kept) and start again from the stored snapshot
    x = cell.extra()
    if x.invs:
        for iid in list(x.invs)[::-1]:
            cell.drop_invocation(iid, None)
    x.armed = None
    cell.state = RESTARTING
    s.begin_work()
    s.tg_start(_reload, cell, f"{type(exc).__name__}: {exc}")
    return True


async def _reload(cell: ActorCell, error: str) -> None:
    s = cell.rt
    durable = s.durable
    assert durable is not None
    # inbox rows queued before the store is read: one the read does not return was consumed
    # by whoever committed meanwhile (rows queued later may be newer than the read)
    queued = {i.seq for i in cell.mailbox or () if type(i) is Envelope and i.seq is not None}
    try:
        try:
            snap, inboxes = await durable.load_stored(cell.id)
        except StatefleetError as exc:
            snap, inboxes = None, {}
            error = f"{error}; loading it again failed: {type(exc).__name__}: {exc}"
        if cell.state != RESTARTING:
            return  # stopped (or handed over) meanwhile
        x = cell.extra()
        chart = durable.charts.get(snap.chart_id, snap.chart_version) if snap else None
        if snap is None or chart is None or (chart is not cell.chart and x.model is not None):
            # nothing to load it from (or onto): an ordinary crash, within the restart limit
            if x.committed is None:
                give_up(cell, error + " (no snapshot to restart from)")
            else:
                schedule_restart(cell, x.committed, error)
            return
        cell.chart = chart  # moved to another registered version, maybe
        x.committed = snap
        node = durable.node
        stored = dict(inboxes.get(cell.id, ()))
        mb = cell.mailbox
        gone = queued - stored.keys()
        if mb and gone:
            for item in [i for i in mb if type(i) is Envelope and i.seq in gone]:
                mb.remove(item)  # applied by whoever consumed its row
                item.fail(
                    ActorStoppedError(
                        f"actor {cell.id!r}: event {item.event.name!r} was applied by another"
                        " writer of the store"
                    )
                )
        x.restart = (snap, 0, 0.0, f"loaded again from the store: {error}")
        restart(cell)
        if cell.state == STOPPED:
            return
        if not cell.engine.running:  # it has ended there: what it was sent is refused
            cell.terminate("done", None)
            if stored:
                durable.wake(cell.id)  # its activation moves them to the dead letters
            return
        # events in the store's inboxes (its own, its invoked children's) not queued here
        for aid, entries in inboxes.items():
            target = s.cells.get(aid)
            if target is None or target.state == STOPPED:
                continue
            held = {i.seq for i in target.mailbox or () if type(i) is Envelope}
            for seq, ev in entries:
                if seq not in held:
                    target.enqueue(
                        Envelope(ev, seq) if node is None else node.envelope(aid, ev, seq)
                    )
    finally:
        s.end_work()


async def refuse_ended(
    cell: ActorCell,
    snap: Snapshot,
    inbox: Iterable[tuple[int, EventData]],
    waiting: list[tuple[EventData, int | None]],
) -> None:
    """A stored actor was activated ended (its snapshot ``snap`` is done or stopped): the
    events of its durable inbox (``inbox``, and those delivered while it loaded,
    ``waiting``) can never be applied, as a send to it is refused with
    :class:`~statefleet.ActorStoppedError`. Each goes to the dead letters with that reason
    (and an :class:`~statefleet.core.ActorEscalated`); an ``ask`` from another node is told
    at once. Called by the activation, which holds the actor meanwhile, so each event is
    moved once; one the store cannot move now stays in the inbox for the next activation."""
    rows = dict(inbox)
    seen = 0
    while True:
        # events delivered while this runs are in ``waiting`` too: moved in the next round
        for ev, wseq in waiting[seen:]:
            if wseq is not None:
                rows.setdefault(wseq, ev)
        seen = len(waiting)
        if not rows:
            return
        batch, rows = sorted(rows.items()), {}
        await _refuse(cell, snap, batch)


async def _refuse(cell: ActorCell, snap: Snapshot, rows: list[tuple[int, EventData]]) -> None:
    s = cell.rt
    durable = s.durable
    assert durable is not None
    node = durable.node
    for seq, ev in rows:
        reason = (
            f"event {ev.name!r} to actor {cell.id!r}, which has ended (status"
            f" {snap.status!r}): it cannot be applied"
        )
        try:
            moved = await durable.store.reject_event(cell.id, seq, reason)
        except StatefleetError as exc:
            if node is not None and node.fenced(exc, cell):
                return  # the shard is another node's now: that one refuses them
            log.warning("statefleet: cannot move %s to the dead letters", reason, exc_info=True)
            continue
        if not moved:
            continue  # not in the inbox any more
        log.warning("statefleet: %s", reason)
        s.publish(ActorEscalated(actor=cell.id, ts=s.clock_now(), to=None, error=reason))
        if node is not None:
            await node.refuse(ev, str(cell.stopped_error()))


def give_up(cell: ActorCell, error: str) -> None:
    """Escalate a failure the actor cannot recover from: it (and its subtree) stops."""
    s = cell.rt
    parent = cell.parent
    s.publish(
        ActorEscalated(
            actor=cell.id,
            ts=s.clock_now(),
            to=parent.id if parent is not None else None,
            error=error,
        )
    )
    if parent is None:
        log.error("actor %r failed and was stopped: %s", cell.id, error)
    cell.terminate("failed", None, error=error)
