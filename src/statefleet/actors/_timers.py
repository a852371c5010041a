"""The system's timers: one heap of ``(due, seq, target, key)``, one task that fires them.

A timer target is any object with ``timer_valid(key, due)`` and ``on_timer(key, due)``:
an actor's delayed events and restart backoff, a :class:`~statefleet.actors._waiters.Latch`
(``system.sleep``, ``wait_for(timeout=...)``), the durable side's wake-ups of passivated
actors. Cancelling a timer is lazy: the target says it is no longer valid and the heap drops
it when it reaches the top.

With a :class:`~statefleet.VirtualClock`, time jumps to the next due timer only once the
system has settled: the dispatcher has nothing to run, no store work is under way, and every
task (actors awaiting async actions, invocations, the program itself) is blocked. With
``autojump=False`` the program moves time itself (:meth:`Timers.advance`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol

import anyio

from statefleet.actors._waiters import Latch
from statefleet.core import ActorError, RealClock, VirtualClock

__all__ = ["TimerTarget", "Timers"]


class TimerTarget(Protocol):
    """What the timer heap calls back."""

    def timer_valid(self, key: Any, due: float) -> bool:
        """Is the timer ``key`` due at ``due`` still wanted?"""

    def on_timer(self, key: Any, due: float) -> None:
        """The timer fired."""


class Timers:
    """The timer heap and the task that fires it (one per system)."""

    def __init__(
        self,
        clock: VirtualClock | RealClock,
        *,
        autojump: bool | float,
        quiet: Callable[[], bool],
        add_quiet_waiter: Callable[[anyio.Event], None],
        activity: Callable[[], int] = lambda: 0,
    ) -> None:
        self.clock = clock
        self.virtual = isinstance(clock, VirtualClock)
        self.autojump = autojump is not False
        #: real seconds the system must stay idle before virtual time jumps (see ``run``)
        self.threshold = 0.0 if isinstance(autojump, bool) else float(autojump)
        #: a counter of the system's work (it changes whenever the dispatcher wakes)
        self._activity = activity
        self._quiet = quiet
        #: registers an event the dispatcher sets when it runs out of work
        self._add_quiet_waiter = add_quiet_waiter
        self._heap: list[tuple[float, int, TimerTarget, Any]] = []
        self._seq = itertools.count()
        self._wake: anyio.Event | None = None

    def arm(self, due: float, target: TimerTarget, key: Any) -> None:
        """Call ``target.on_timer(key, due)`` at ``due`` (if it is still valid then)."""
        heap = self._heap
        first = not heap or due < heap[0][0]
        heapq.heappush(heap, (due, next(self._seq), target, key))
        if first:
            w = self._wake
            if w is not None:
                self._wake = None
                w.set()

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            due, _, target, key = heap[0]
            if target.timer_valid(key, due):
                return
            heapq.heappop(heap)

    def _fire(self, limit: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= limit:
            due, _, target, key = heapq.heappop(heap)
            target.on_timer(key, due)

    async def _wait(self, delay: float | None) -> None:
        w = self._wake = anyio.Event()
        if delay is None:
            await w.wait()
        else:
            with anyio.move_on_after(delay):
                await w.wait()
        self._wake = None

    async def run(self) -> None:
        """The timer task (runs until the system's task group is cancelled)."""
        heap = self._heap
        clock = self.clock
        while True:
            self._drop_stale()
            if not heap or (self.virtual and not self.autojump):
                await self._wait(None)
                continue
            due = heap[0][0]
            if self.virtual:
                # time jumps once the dispatcher has nothing to run and every task (actors
                # awaiting async actions, invocations, the program) is blocked
                await self.settle()
                self._drop_stale()
                if not self._quiet() or not heap or heap[0][0] != due:
                    continue
                clock.set(due)
                self._fire(due)
            else:
                delay = due - clock.now()
                if delay > 0:
                    await self._wait(delay)
                    continue
                self._fire(clock.now())

    async def settle(self) -> None:
        """Wait until the dispatcher has nothing to run and every other task is blocked;
        with a threshold, until that has lasted ``threshold`` real seconds without any work
        (like trio's ``MockClock(autojump_threshold=...)``): a service awaiting real I/O, an
        HTTP call, is not jumped over as long as it answers within the threshold."""
        while True:
            if not self._quiet():
                w = anyio.Event()
                self._add_quiet_waiter(w)
                await w.wait()
                continue
            await anyio.wait_all_tasks_blocked()
            if not self._quiet():
                continue
            if self.threshold <= 0:
                return
            work = self._activity()
            await anyio.sleep(self.threshold)  # real time: anyio's clock, not the system's
            if self._quiet() and self._activity() == work:
                return

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` on the clock."""
        latch = Latch()
        self.arm(self.clock.now() + max(0.0, float(seconds)), latch, None)
        await latch.wait()

    async def advance(self, seconds: float) -> None:
        """Move a virtual clock (``autojump=False``) forward, firing the timers due on the
        way in order and letting the system settle after each."""
        if not self.virtual:
            raise ActorError("advance() needs a VirtualClock")
        if self.autojump:
            raise ActorError("advance() is for autojump=False; with autojump time moves itself")
        if seconds < 0:
            raise ActorError("cannot advance by a negative duration")
        clock = self.clock
        until = clock.now() + seconds
        heap = self._heap
        await self.settle()
        while True:
            self._drop_stale()
            if not heap or heap[0][0] > until:
                break
            due = heap[0][0]
            clock.set(due)
            self._fire(due)
            await self.settle()
        clock.set(until)
