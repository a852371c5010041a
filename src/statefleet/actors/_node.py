"""A cluster node: which shards this :class:`~statefleet.actors.ActorSystem` runs.

An actor system on a store that is a cluster node (``PostgresStore(dsn, node="web-1")``,
whose ``store.cluster`` is set) runs a :class:`Node` instead of recovering every actor of
the store. Every ``lease_time / 3`` the node:

1. renews the leases it holds (and heartbeats); the actors of shards it lost are dropped
   from memory at once (:meth:`Node._evict`: busy or not, no exit actions, no effects, no
   more commits; their next owner resumes them from the store);
2. reads the members whose heartbeat is younger than ``lease_time`` and assigns every shard
   to one of them by rendezvous hashing (highest BLAKE2b of ``shard:node``): each node
   computes the same assignment from the same table, and a join or leave moves only the
   shards of that node;
3. releases the shards assigned to another node (after dropping their actors), and
   acquires the shards assigned to it that are free or expired (``Cluster.acquire``; a
   shard still leased by another node waits until it is released or expires);
4. recovers the shards it gained: the store's recovery reads are scoped to the shards held
   (``Cluster.scope``), so the runtime's recovery activates their actors with inbox events,
   due timers and running invocations, and nothing of another node's;
5. polls its shards' inboxes (the fallback to LISTEN/NOTIFY, which wakes it at once).

Fencing, not this loop, keeps one owner per actor: every commit checks the lease in its own
transaction (:mod:`statefleet.persistence._cluster`). A node that paused past its lease
usually learns it from such a refusal, before its next round: the refused write loses the
shard at once (:meth:`Node.fenced`), exactly as a round that finds it lost, so its actors are
handed over (never crashed, restarted or failed) and their events go to the new owner.
Events for an entity of a shard this node does not hold go to the entity's durable inbox;
its owner is woken by the notification (or its poll) and applies them. A clean stop
releases every shard at once.

Inbox rows written by other nodes reach a live actor directly
-------------------------------------------------------------
An actor in memory gets the rows other nodes wrote to its inbox as envelopes in its mailbox
(their inbox seq travels with them: the commit of the step that consumes one deletes its
row), behind what is queued, without being passivated, so an actor with running
invocations, children or subscribers gets them at once. The node reads the inboxes of the
live actors it was notified about (one query for all of them) and queues every row it does
not have in hand already. "In hand" is decided without guessing about timing:

- rows in the actor's mailbox (their envelopes carry the seqs);
- rows whose consuming commit is in flight (:meth:`Node.writing` is told the seqs of every
  commit before it starts), and rows consumed while the read was in flight (their deletion
  may have come after the read's snapshot);
- rows this process wrote itself (a local ``send``, or a send in an actor's commit): they
  are queued by the runtime right after their write returns, in the same scheduling step. A
  row the read returns was written before the read's result came back, so once every local
  write in flight at that moment has returned (the node waits for those), such a row is in
  a mailbox, or in flight, or consumed.

Notifications of the node's own writes are skipped (it delivered those itself); its poll
covers the rare own row that no local path delivers.

Cross-node ask
--------------
``ask`` to an entity owned elsewhere puts the event in the entity's inbox with a header
naming this node and a request key. Whichever node applies it (the owner now, or the next
one after a failover) gives the envelope a reply latch like a local ``ask``, and when the
step and its async actions are done sends the reply (the snapshot and whether a transition
took the event, or the error) on this node's reply channel (a notification, split in pieces
when large). No polling: the asker waits on its latch, up to ``ask_timeout``
(:class:`AskTimeoutError`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from statefleet.actors._cell import HANDED_OVER
from statefleet.actors._lifecycle import STOPPED
from statefleet.actors._mailbox import Envelope
from statefleet.actors._ref import ActorCrashedError, Reply
from statefleet.actors._waiters import Latch
from statefleet.core import (
    ActorError,
    ActorStoppedError,
    Chart,
    EventData,
    Snapshot,
    StatefleetError,
    decode_snapshot,
    encode_snapshot,
)

if TYPE_CHECKING:
    from statefleet.actors._cell import ActorCell
    from statefleet.actors._durable import Durable

__all__ = ["AskTimeoutError", "Node", "assign", "rendezvous"]

log = logging.getLogger("statefleet.actors")

#: the header (beside the trace context of an inbox event) naming the chart of the entity an
#: event sent from another node is for
CHART_HEADER = "statefleet-chart"
#: the header of an event asked from another node: ``"<node> <key>"``, where the reply goes
REPLY_HEADER = "statefleet-reply"


class AskTimeoutError(ActorError, TimeoutError):
    """A cross-node ``ask`` got no reply within the node's ``ask_timeout`` (the event is
    durably in the entity's inbox: it is applied once, whenever its owner gets to it)."""


class _HandedOver(ActorStoppedError):
    """An ask being applied when its actor was handed over."""


class _Answer(msgspec.Struct, frozen=True):
    """What the applying node sends back to the asking one."""

    ok: bool
    handled: bool = True
    snapshot: bytes = b""
    error: str = ""
    crashed: bool = False
    #: the entity has ended: the event was refused (dead-lettered), as a local send is
    stopped: bool = False


def rendezvous(shard: int, nodes: list[str]) -> str:
    """The node (of ``nodes``, not empty) that should own ``shard``: the highest BLAKE2b
    hash of ``"shard:node"`` (rendezvous hashing, the same in every process)."""

    def score(node: str) -> bytes:
        key = f"{shard}:{node}".encode("utf-8", "surrogatepass")
        return hashlib.blake2b(key, digest_size=8).digest()

    return max(nodes, key=lambda n: (score(n), n))


def assign(shards: int, nodes: list[str], node: str) -> set[int]:
    """The shards (of ``0..shards-1``) that ``node`` owns when ``nodes`` are live."""
    live = sorted(set(nodes) | {node})
    return {s for s in range(shards) if rendezvous(s, live) == node}


class Node:
    """The node side of a durable actor system on a cluster store (see the module doc)."""

    def __init__(self, durable: Durable, cluster: Any) -> None:
        self.durable = durable
        self.cluster = cluster
        self.store: Any = durable.store
        #: the shards whose actors this node runs now
        self.serving: set[int] = set()
        #: the shards it handed over (or lost) and has not gained again
        self.dropped: set[int] = set()
        self.period = cluster.lease_time / 3
        #: how long a cross-node ask waits for its reply (a failover takes up to about two
        #: lease times before the next owner applies the event)
        timeout = getattr(cluster, "ask_timeout", None)
        self.ask_timeout = timeout if timeout is not None else max(30.0, 3 * cluster.lease_time)
        self._kick = anyio.Event()
        #: ids notified and not looked at yet (the notification callback runs outside any
        #: task: it queues them for the syncer task)
        self._wanted: set[str] = set()
        self._want = anyio.Event()
        # local writes in flight (tokens), and a waiter for the next one to end
        self._tokens = itertools.count(1)
        self._writes: set[int] = set()
        self._write_ended: anyio.Event | None = None
        # inbox seqs whose consuming commit is in flight; consumed while a read is in flight
        self._consuming: set[int] = set()
        self._reading = False
        self._gone: set[int] = set()
        # asks of other nodes this node is applying (by inbox seq), and the snapshots
        # committed for them
        self._answering: dict[int, tuple[str, Envelope]] = {}
        self._committed: dict[int, Snapshot] = {}
        # cross-node asks of this node waiting for their reply, by key
        self._asks: dict[str, Latch] = {}
        self._ask_keys = itertools.count(1)
        self._ask_prefix = secrets.token_hex(4)  # keys of an earlier run are not ours
        self._replies_on = False

    def __repr__(self) -> str:
        return f"<Node {self.cluster.node!r} serving {len(self.serving)} shards>"

    def owns(self, actor_id: str) -> bool:
        """Does this node run ``actor_id`` (it holds the lease of its shard)?"""
        return int(self.cluster.shard_of(actor_id)) in self.serving

    async def holds(self, actor_id: str) -> bool:
        """Does this node still hold the shard of ``actor_id``, by the database too (its
        lease row names this node at the epoch it acquired, and has not expired)? Asked
        when work for the actor failed (a write refused by the fence): False means its
        next owner does that work; the next round is started at once to learn it.
        True when the database cannot be read (the work is tried again later)."""
        shard = int(self.cluster.shard_of(actor_id))
        epoch = self.cluster.held.get(shard)
        if shard in self.serving and epoch is not None:
            try:
                leases = await self.cluster.leases()
            except StatefleetError:
                return True
            for lease in leases:
                if lease.shard == shard:
                    mine = lease.owner == self.cluster.node and lease.epoch == epoch
                    if mine and not lease.expired:
                        return True
                    break
        self._kick.set()
        return False

    def handed_over(self, actor_id: str) -> bool:
        """Was the shard of ``actor_id`` handed over (or lost) by this node, and not gained
        again? (An activation that ends then is refused: its actor runs elsewhere.)"""
        return int(self.cluster.shard_of(actor_id)) in self.dropped

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Join, then keep the leases and the assignment up to date until cancelled."""
        await self.cluster.join(f"statefleet node {self.cluster.node}")
        await self._listen_replies()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._syncer)
            await self._rounds()

    async def _rounds(self) -> None:
        while True:
            try:
                await self.step()
            except StatefleetError:
                log.warning(
                    "statefleet node %s: cluster step failed", self.cluster.node, exc_info=True
                )
            with anyio.move_on_after(self.period):
                await self._kick.wait()
            self._kick = anyio.Event()

    async def step(self) -> None:
        """One round: renew, rebalance, recover what was gained, poll the inboxes."""
        c = self.cluster
        lost = await c.renew()
        if lost:
            log.warning("statefleet node %s: lost shards %s", c.node, sorted(lost))
            await self._drop(lost)
        members = await c.members()
        live = [m.node for m in members if m.heartbeat_age < c.lease_time]
        mine = assign(c.shards, live, c.node)
        give = set(c.held) - mine
        if give:
            await self._drop(give)
            await c.release(give)
        want = mine - set(c.held)
        if want:
            taken: dict[int, int] = {}
            # not cancelled half-way (a stop in the middle): a lease taken in the database
            # is then in ``held`` too, so leaving releases it
            with anyio.move_on_after(c.lease_time, shield=True):
                taken = await c.acquire(want)
            if taken:
                await self._gain(set(taken))
        await self.poll()

    async def _gain(self, shards: set[int]) -> None:
        # actors of these shards still in memory from an earlier ownership are stale (the
        # shard's other owners committed since): drop them, the recovery loads them again
        waits: list[Latch] = []
        self._evict(shards, waits)
        await self._stopped(waits)
        self.serving |= shards
        self.dropped -= shards
        self.cluster.scope = frozenset(self.serving)
        await self.store.listen_inbox(shards, self._notified, others_only=True)
        await self.durable.recover()

    async def _drop(self, shards: set[int]) -> None:
        """Stop serving ``shards`` at once (:meth:`_lose`), so nothing of their actors
        commits after the lease is released, and stop listening to their inboxes."""
        waits: list[Latch] = []
        self._lose(shards, waits)
        await self.store.unlisten_inbox(shards)
        await self._stopped(waits)

    def _lose(self, shards: set[int], waits: list[Latch] | None) -> None:
        """Serve ``shards`` no more, now: their events go to the durable inbox (their
        next owner applies them), an activation of one of their actors is refused, and
        their actors are dropped from memory (:meth:`_evict`)."""
        self.serving -= shards
        self.dropped |= shards
        self.cluster.scope = frozenset(self.serving)
        self._evict(shards, waits)

    def fenced(self, exc: BaseException, actor: ActorCell | None) -> bool:
        """Was ``exc`` the fence refusing a write of this node for ``actor`` (a commit, a
        dead letter: the shard's lease is another node's now, or expired)? Then the shard
        is not this node's, whatever its own lease table says until its next round: it is
        lost at once (:meth:`_lose`: its actors, ``actor``'s top-level actor included, are
        handed over, not failed) and that round starts now (it learns who holds the shard
        and stops listening to its inbox). The one place that decides what a refused write
        means; the supervisor asks it of every failed step, the activation of a write it
        made with no actor in memory (``actor`` None: an unknown actor's inbox moved to
        the dead letters). A refusal of an earlier ownership of a shard acquired again
        since (at a later epoch) loses nothing but ``actor``, a leftover of that
        ownership."""
        refused = self.cluster.refused(exc)
        if refused is None:
            return False
        shard = int(refused.shard)
        held = self.cluster.held.get(shard)
        if shard in self.serving and (held is None or held == refused.epoch):
            log.warning("statefleet node %s: lost shard %d: %s", self.cluster.node, shard, exc)
            self._lose({shard}, None)
        if actor is not None:
            top = actor
            while top.parent is not None:
                top = top.parent
            top.terminate(HANDED_OVER, None)  # (done already, but for such a leftover)
        self._kick.set()
        return True

    def _evict(self, shards: set[int], waits: list[Latch] | None) -> None:
        """Drop the actors of ``shards`` from memory now, busy or not: invocations and
        async actions are cancelled, no exit action runs, no effect is carried out and
        nothing more is committed (a commit in flight is either done before the lease is
        released or refused by the fence). Their stored state is where the shard's next
        owner resumes them (it starts their invocations again); waiters get
        :class:`~statefleet.ActorStoppedError` (an ``ask`` from another node is answered
        by that owner). ``waits`` collects the cancelled tasks still ending."""
        n = 0
        self._handed_over(shards)  # first: a stopped actor fails them otherwise
        for a in list(self.durable.system.cells.values()):
            if a.parent is None and a.state != STOPPED and self.cluster.shard_of(a.id) in shards:
                a.terminate(HANDED_OVER, waits)
                n += 1
        if n:
            log.info("statefleet node %s: dropped %d actor(s) handed over", self.cluster.node, n)

    async def _stopped(self, waits: list[Latch]) -> None:
        """Let the cancelled tasks of actors dropped by :meth:`_evict` end (bounded)."""
        with anyio.move_on_after(self.period):
            for w in waits:
                await w.settled()

    # -- inbox rows written elsewhere -------------------------------------------------------------
    def _notified(self, shard: int, ids: tuple[str, ...] | None) -> None:
        if shard not in self.serving:
            return
        if ids is None:
            self._kick.set()  # look at the shard's inbox (the poll)
            return
        self._wanted.update(ids)
        self._want.set()

    def wake(self, actor_id: str) -> None:
        """An inbox event for ``actor_id`` came from elsewhere: queue it into the live actor
        (see the module doc), or activate the actor (which reads its inbox)."""
        if not self.owns(actor_id):
            return
        self._wanted.add(actor_id)
        self._want.set()

    async def _syncer(self) -> None:
        """Look at the inboxes of the actors notified (one read at a time, see the module
        doc)."""
        while True:
            await self._want.wait()
            self._want = anyio.Event()
            ids, self._wanted = self._wanted, set()
            try:
                await self._sync(ids)
            except StatefleetError:
                log.warning(
                    "statefleet node %s: reading inboxes failed", self.cluster.node, exc_info=True
                )
                self._kick.set()  # the poll looks again

    async def _sync(self, ids: set[str]) -> None:
        d = self.durable
        cells = d.system.cells
        live: list[str] = []
        for aid in sorted(ids):
            if not self.owns(aid):
                continue
            a = cells.get(aid)
            if a is not None and a.state != STOPPED:
                live.append(aid)
                continue
            top = aid.split("/", 1)[0]
            if top == aid or top not in cells:
                d.wake(top)  # not in memory: its activation reads its inbox
            # else an invoked child no longer running: its events stay where they are
        if not live:
            return
        self._reading = True
        try:
            rows = await self.store.inboxes(live)
            # a row this process wrote is queued as soon as its write returns: wait for the
            # writes that may have written rows this read saw
            await self._settled(set(self._writes))
            known = self._consuming | self._gone
            for aid, events in rows.items():
                a = cells.get(aid)
                if a is None or a.state == STOPPED:
                    if "/" not in aid and self.owns(aid):
                        d.wake(aid)  # passivated meanwhile: its activation reads them
                    continue
                if d.activating(aid):
                    continue
                held = {i.seq for i in a.mailbox or () if type(i) is Envelope}
                for e in events:
                    if e.seq not in held and e.seq not in known:
                        a.enqueue(self.envelope(aid, e.event, e.seq))
        finally:
            self._reading = False
            self._gone = set()

    async def poll(self) -> None:
        """The fallback to notifications: look at the actors of this node's shards with
        inbox events."""
        if not self.serving:
            return
        for aid in await self.store.pending_actors(shards=self.serving):
            self.wake(aid)

    # -- what the durable runtime tells the node ------------------------------------------------
    def writing(self, consumes: Sequence[int | None] = ()) -> int:
        """A local write (an accept, or a batch of commits consuming inbox rows
        ``consumes``) starts; returns its token for :meth:`written`."""
        token = next(self._tokens)
        self._writes.add(token)
        for seq in consumes:
            if seq is not None:
                self._consuming.add(seq)
        return token

    def written(
        self,
        token: int,
        consumes: Sequence[int | None] = (),
        outcomes: Sequence[Any] | None = None,
        snapshots: Sequence[Snapshot] = (),
    ) -> None:
        """The write of ``token`` returned (``outcomes``: each commit's, None if it
        failed as a whole; ``snapshots``: what each committed); the rows it consumed are
        gone."""
        self._writes.discard(token)
        for i, seq in enumerate(consumes):
            if seq is None:
                continue
            self._consuming.discard(seq)
            ok = outcomes is not None and not isinstance(outcomes[i], BaseException)
            if ok and self._reading:
                self._gone.add(seq)
            if ok and snapshots and seq in self._answering:
                self._committed[seq] = snapshots[i]
        w = self._write_ended
        if w is not None:
            self._write_ended = None
            w.set()

    async def _settled(self, tokens: set[int]) -> None:
        while tokens & self._writes:
            if self._write_ended is None:
                self._write_ended = anyio.Event()
            await self._write_ended.wait()

    def envelope(self, actor_id: str, ev: EventData, seq: int) -> Envelope:
        """The envelope of inbox row ``seq`` of ``actor_id`` queued on this node: with a
        reply latch when another node asked (its reply is sent when the latch is set)."""
        to = ev.trace.get(REPLY_HEADER) if ev.trace is not None else None
        if to is None:
            return Envelope(ev, seq)
        env = Envelope(ev, seq, None, Latch())
        self._answering[seq] = (actor_id, env)
        self.durable.system.tg_start(self._answer, env, to)
        return env

    def _handed_over(self, shards: set[int]) -> None:
        """The actors of ``shards`` were dropped: the asks they were applying learn it
        (one whose step was committed here is still answered from here)."""
        for actor_id, env in list(self._answering.values()):
            if env.reply is not None and self.cluster.shard_of(actor_id) in shards:
                env.reply.fail(_HandedOver())

    async def _answer(self, env: Envelope, to: str) -> None:
        reply = env.reply
        seq = env.seq
        assert reply is not None and seq is not None
        try:
            await reply.settled()
            err = reply.error
            snap: Snapshot | None = reply.value
            if isinstance(err, _HandedOver):
                # dropped while its step was committing, maybe: answered from here only if
                # that commit went through (else the row is still there for the next owner)
                while seq in self._consuming:
                    if self._write_ended is None:
                        self._write_ended = anyio.Event()
                    await self._write_ended.wait()
                snap = self._committed.get(seq)
                if snap is None:
                    return
                err = None
            elif isinstance(err, ActorStoppedError):
                return  # not applied here: whoever applies it next answers
        finally:
            self._answering.pop(seq, None)
            self._committed.pop(seq, None)
        if err is None:
            assert snap is not None
            try:
                ans = _Answer(True, env.handled, encode_snapshot(snap))
            except StatefleetError as exc:
                ans = _Answer(False, error=f"the reply cannot be encoded: {exc}")
        else:
            crashed = isinstance(err, ActorCrashedError)
            ans = _Answer(False, error=str(err), crashed=crashed)
        await self._reply(to, ans)

    async def _reply(self, to: str, ans: _Answer) -> None:
        node, _, key = to.rpartition(" ")
        try:
            await self.store.send_reply(node, key, msgspec.msgpack.encode(ans))
        except (StatefleetError, ValueError):
            log.warning("statefleet node %s: cannot answer %r", self.cluster.node, to)

    async def refuse(self, ev: EventData, error: str) -> None:
        """``ev``, from this node's inbox reader, went to the dead letters: its entity has
        ended (``error`` says so). When another node asked it, that ``ask`` raises
        :class:`~statefleet.ActorStoppedError` with ``error`` now, as a local one does."""
        to = ev.trace.get(REPLY_HEADER) if ev.trace is not None else None
        if to is not None:
            await self._reply(to, _Answer(False, error=error, stopped=True))

    async def close(self) -> None:
        """A clean stop: hand every shard over at once and leave the members."""
        self.serving.clear()
        self.cluster.scope = frozenset()
        with anyio.CancelScope(shield=True):
            try:
                await self.cluster.leave()
            except StatefleetError:
                log.warning("statefleet node %s: leaving failed", self.cluster.node, exc_info=True)

    # -- entities owned elsewhere -----------------------------------------------------------------
    @staticmethod
    def tagged(chart: Chart, ev: EventData) -> EventData:
        """``ev`` naming ``chart`` (a header beside its trace context): whichever node
        applies it, after whatever crash, creates the entity on that chart if it does not
        exist yet. A reply header the caller put in it is dropped: only this node's ``ask``
        names where a reply goes."""
        trace = ev.trace
        if trace is not None and trace.get(CHART_HEADER) == chart.id and REPLY_HEADER not in trace:
            return ev
        headers = {k: v for k, v in (trace or {}).items() if k != REPLY_HEADER}
        return msgspec.structs.replace(ev, trace={**headers, CHART_HEADER: chart.id})

    async def send_remote(self, actor_id: str, ev: EventData) -> int:
        """Put ``ev`` in the durable inbox of ``actor_id`` (owned by another node, or by
        none yet); its owner is notified when it commits. Returns the inbox seq."""
        seq: int = await self.store.accept(actor_id, ev)
        return seq

    async def chart_for(self, actor_id: str) -> Chart | None:
        """The chart an entity that does not exist yet is created on: the one named by the
        first event of its inbox sent from a node (``None``: no such event)."""
        for e in await self.store.inbox(actor_id):
            name = (e.event.trace or {}).get(CHART_HEADER)
            if name is not None:
                chart: Chart | None = self.durable.charts.newest.get(name)
                return chart
        return None

    async def _listen_replies(self) -> None:
        if not self._replies_on:
            await self.store.listen_replies(self._replied)
            self._replies_on = True

    def _replied(self, key: str, payload: bytes | None) -> None:
        if payload is None:
            # the listening connection was made again: replies may have been lost; the
            # asks left wait for their timeout
            log.warning("statefleet node %s: replies may have been lost", self.cluster.node)
            return
        w = self._asks.get(key)
        if w is not None:
            w.set(payload)

    async def ask_remote(self, actor_id: str, ev: EventData) -> Reply:
        """Send ``ev`` to ``actor_id`` owned elsewhere and return the reply of the node
        that applied it: the snapshot after its macrostep (and its async actions), and
        whether a transition took it. Raises :class:`AskTimeoutError` past
        :attr:`ask_timeout`, :class:`~statefleet.actors.ActorCrashedError` when the actor
        crashed on it, :class:`~statefleet.ActorStoppedError` when it had ended (the event
        went to the dead letters)."""
        await self._listen_replies()
        key = f"{self._ask_prefix}.{next(self._ask_keys)}"
        trace = {**(ev.trace or {}), REPLY_HEADER: f"{self.cluster.node} {key}"}
        w = self._asks[key] = Latch()
        try:
            await self.send_remote(actor_id, msgspec.structs.replace(ev, trace=trace))
            with anyio.move_on_after(self.ask_timeout):
                payload: bytes = await w.wait()
        finally:
            del self._asks[key]
        if not w.done:
            raise AskTimeoutError(
                f"ask {ev.name!r} to {actor_id!r}: no reply from its owner within"
                f" {self.ask_timeout:g} s (the event was durably accepted: it is applied once)"
            )
        try:
            ans = msgspec.msgpack.decode(payload, type=_Answer)
            if ans.ok:
                return Reply(ans.handled, decode_snapshot(ans.snapshot))
        except (msgspec.DecodeError, StatefleetError) as exc:
            raise ActorError(f"ask {ev.name!r} to {actor_id!r}: a malformed reply: {exc}") from exc
        if ans.crashed:
            raise ActorCrashedError(ans.error)
        if ans.stopped:
            raise ActorStoppedError(ans.error)
        raise ActorError(f"ask {ev.name!r} to {actor_id!r}: {ans.error}")
