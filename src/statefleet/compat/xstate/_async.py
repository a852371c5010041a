"""xstate-statemachine's async ``Interpreter``, as a thin front on a statefleet actor.

``service = await Interpreter(machine).start()`` spawns the chart as an actor (in the
:class:`~statefleet.ActorSystem` given, or in one the interpreter runs for itself until
:meth:`Interpreter.stop`); ``await service.send("EVENT", **payload)`` returns once that
event's macrostep (and its ``async def`` actions) ran; ``current_state_ids`` and ``context``
read the actor's state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from statefleet.actors import ActorCrashedError, ActorRef, ActorSystem
from statefleet.compat.xstate._errors import RunawayChainError
from statefleet.compat.xstate._interpreter import (
    ActiveStates,
    Event,
    StateIds,
    event_parts,
    runaway,
    state_by_id,
)
from statefleet.compat.xstate._machine import MachineNode, event_checker
from statefleet.compat.xstate._observers import Observable
from statefleet.compat.xstate._plugins import Pluggable, PluginBase, notify, report_step
from statefleet.compat.xstate._snapshots import snapshot_from_json, snapshot_json
from statefleet.core import (
    ActorStoppedError,
    Chart,
    EventData,
    InfiniteLoopError,
    Listener,
    RealClock,
    Record,
    Snapshot,
    StatefleetError,
    VirtualClock,
)
from statefleet.formats._xstate import XEvent, sets_done

__all__ = ["Interpreter"]


class Interpreter(Observable, ActiveStates, Pluggable):
    """Run an XState chart as an actor, with xstate-statemachine's async ``Interpreter`` API.

    ``system``: the :class:`~statefleet.ActorSystem` to spawn in (its block must be open);
    without one the interpreter opens its own in :meth:`start` and closes it in
    :meth:`stop` (call both from the same task, as ``async with`` would). ``clock`` and
    ``listeners`` go to that own system. ``id`` is the actor id. ``strict`` and the
    machine's event schemas are checked in :meth:`send`, as in ``SyncInterpreter``;
    ``on(type, handler)`` receives what the machine emits, ``subscribe(listener)`` its state
    changes.
    """

    def __init__(
        self,
        machine: Chart,
        *,
        context: Mapping[str, Any] | None = None,
        system: ActorSystem | None = None,
        clock: VirtualClock | RealClock | None = None,
        listeners: Iterable[Listener | Callable[[Record], Any]] = (),
        id: str | None = None,
        strict: bool | None = None,
        snapshot: Snapshot | None = None,
    ) -> None:
        if not isinstance(machine, Chart):
            raise TypeError(f"Interpreter needs a compiled Chart, got {type(machine).__name__}")
        self._check = event_checker(machine, strict)
        self._snapshot = snapshot
        self._init_observers()
        #: children spawned by ``spawnChild``, by id
        self.children: dict[str, ActorRef] = {}
        self.machine = machine
        self._context = dict(context) if context is not None else None
        self._system = system
        self._own: ActorSystem | None = None
        self._clock = clock
        self._listeners = tuple(listeners)
        self._id = id
        self._ref: ActorRef | None = None
        self._stopped = False
        self._plugins: list[PluginBase] = []
        meta = machine.meta if isinstance(machine.meta, Mapping) else {}
        self._done_sets: tuple[tuple[str, ...], ...] = tuple(meta.get("done_sets", ()))

    async def start(self) -> Interpreter:
        """Spawn the actor (entering the initial states) and return ``self``; once only."""
        if self._ref is not None:
            return self
        system = self._system
        if system is None:
            system = ActorSystem(clock=self._clock, listeners=self._listeners)
            await system.__aenter__()
            self._own = system
        machine = self.machine
        starting = (
            machine.spawning(self) if isinstance(machine, MachineNode) else contextlib.nullcontext()
        )
        try:
            with starting:
                self._ref = ref = system.spawn(
                    machine, id=self._id, context=self._context, snapshot=self._snapshot
                )
        except RunawayChainError:
            raise
        except InfiniteLoopError as exc:
            raise runaway(self.machine, exc) from exc
        if isinstance(self.machine, MachineNode):
            self.machine.attach_front(ref, self)
        notify(self._plugins, "on_interpreter_start", self)
        nodes = self.machine.nodes_by_id
        report_step(self._plugins, self, nodes, "xstate.init", frozenset(), ref.configuration)
        return self

    async def __aenter__(self) -> Interpreter:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ref(self) -> ActorRef:
        """The :class:`~statefleet.ActorRef` underneath."""
        if self._ref is None:
            raise StatefleetError("the interpreter is not started: await start() first")
        return self._ref

    async def send(self, event: str | Event | Mapping[str, Any], /, **payload: Any) -> None:
        """Process one event (a name and payload, or ``{"type": name, ...}``) and return once
        its macrostep ran. Ignored once stopped or done."""
        ref = self.ref
        if self._stopped or self.done:
            return
        name, data = event_parts(event, payload)
        self.check_event(name, data)
        notify(self._plugins, "on_event_received", self, XEvent(EventData(name, data or None)))
        before = ref.configuration
        try:
            reply = await ref.try_ask(name, **data)
        except ActorStoppedError:
            return
        except ActorCrashedError as exc:
            # the runtime reports the crash's cause by name only (its supervisor restarts the
            # actor from its last snapshot): the bound on one macrostep is maxIterations
            if f"{InfiniteLoopError.__name__}:" in str(exc):
                raise RunawayChainError(self.machine.id, self.machine.max_microsteps) from exc
            raise
        after = ref.configuration
        nodes = self.machine.nodes_by_id
        report_step(self._plugins, self, nodes, name, before, after, reply.handled)
        if self.done:
            notify(self._plugins, "on_done", self, ref.done_data)
        if before != after:
            self._notify_subscribers()

    async def stop(self) -> None:
        """Stop the actor (exit actions run, services are cancelled) and, when the
        interpreter opened its own system, close it. Stopping twice does nothing."""
        if self._stopped or self._ref is None:
            self._stopped = True
            return
        self._stopped = True
        notify(self._plugins, "on_interpreter_stop", self)
        await self._ref.stop()
        if isinstance(self.machine, MachineNode):
            self.machine.detach_front(self._ref)
        self._notify_subscribers()
        if self._own is not None:
            own, self._own = self._own, None
            await own.__aexit__(None, None, None)

    # -- what the built-in actions use (they receive the ActorRef; see _builtins) -----------
    def adopt(self, ref: ActorRef) -> None:
        """The actor being spawned for this interpreter is ``ref`` (called by the machine
        when the initial entry's built-ins run, before ``spawn`` returns)."""
        if self._ref is None:
            self._ref = ref

    def check_event(self, name: str, payload: Mapping[str, Any]) -> None:
        """Refuse ``name`` if strict mode or its event schema does (raised by the
        ``raise`` built-in too)."""
        if self._check is not None:
            self._check(name, payload)

    def get_snapshot(self) -> str:
        """The machine's JSON snapshot, as ``SyncInterpreter.get_snapshot()`` writes it."""
        return snapshot_json(self.machine, self.status, self.current_state_ids, self.ref.snapshot())

    @classmethod
    def from_snapshot(cls, snapshot: str | bytes, machine: Chart, **kwargs: Any) -> Interpreter:
        """An interpreter that resumes ``snapshot`` (``get_snapshot()``'s JSON, or one the
        peer wrote) when it is started; ``kwargs`` as for the constructor."""
        snap, _status = snapshot_from_json(machine, snapshot)
        return cls(machine, snapshot=snap, **kwargs)

    def get_state_by_id(self, state_id: str) -> Any:
        """The state node ``state_id`` (:class:`StateNotFoundError` if there is none)."""
        return state_by_id(self.machine, state_id)

    def _active(self) -> tuple[Chart, frozenset[str]]:
        return self.machine, self.ref.configuration

    def can(self, event: str | Event | Mapping[str, Any]) -> bool:
        """Would ``event`` (a name or an event object) trigger a transition now (guards
        evaluated, nothing changes)?"""
        event = event_parts(event, {})[0]
        return not self._stopped and event in self.ref.enabled_events()

    @property
    def system(self) -> ActorSystem:
        """The :class:`~statefleet.ActorSystem` the actor runs in (``system.get(id)`` finds
        an actor by id or ``system_id``)."""
        return self.ref.system

    @property
    def current_state_ids(self) -> StateIds:
        """Ids of the active leaf states, in document order."""
        cfg = self.ref.configuration
        nodes = self.machine.nodes_by_id
        return StateIds(
            i for i in nodes if i in cfg and not any(c.id in cfg for c in nodes[i].child_states)
        )

    #: statefleet's name for :attr:`current_state_ids`
    active_state_ids = current_state_ids

    @property
    def context(self) -> dict[str, Any]:
        """The machine's context."""
        return self.ref.context

    @property
    def output(self) -> Any:
        """The top-level final state's ``output``, when the machine is done."""
        return self.ref.done_data

    @property
    def done(self) -> bool:
        """True once the machine reached its top-level final state (every region of a
        parallel machine in a final state)."""
        ref = self.ref
        return ref.done or sets_done(self._done_sets, ref.configuration.__contains__)

    @property
    def status(self) -> str:
        """``"uninitialized"`` (not started), ``"running"``, ``"done"`` or ``"stopped"``."""
        if self._stopped:
            return "stopped"
        if self._ref is None:
            return "uninitialized"
        return "done" if self.done else "running"

    def __repr__(self) -> str:
        ids = self.current_state_ids if self._ref is not None else "not started"
        return f"<Interpreter {self.machine.id!r} {ids!r}>"
