"""One entity running through a machine: :class:`EntitySession` (load, decide, commit, act)."""

from __future__ import annotations

import functools
import math
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from statefleet.compat.pystator._destinations import DestinationCheckResult
from statefleet.compat.pystator._errors import InvalidStateError
from statefleet.compat.pystator._executor import ActionExecutionResult, ActionExecutor
from statefleet.compat.pystator._recording import EventRecorder
from statefleet.compat.pystator._results import TransitionResult
from statefleet.compat.pystator.effects import shown_calls
from statefleet.compat.pystator.workflow_status import compute_workflow_status
from statefleet.core import RealClock, Snapshot, SnapshotError, StatefleetError, VirtualClock
from statefleet.formats._input import shown
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._yaml import ActionCall, collect_actions

if TYPE_CHECKING:
    from statefleet.compat.pystator._machine import StateMachine

__all__ = ["EntitySession", "snapshot_from_dict"]


def snapshot_from_dict(data: Mapping[str, Any]) -> Snapshot:
    """The core snapshot inside an :meth:`EntitySession.snapshot` dict (its ``context``
    included); :class:`InvalidStateError` if it is not one."""
    core = data.get("core")
    if not isinstance(core, Mapping):
        raise InvalidStateError(
            "a snapshot dict comes from EntitySession.snapshot() and has a 'core' mapping"
        )
    raw = dict(core)
    if "context" in data:
        raw["context"] = data["context"]
    try:
        return msgspec.convert(raw, Snapshot)
    except (msgspec.ValidationError, TypeError) as exc:
        raise InvalidStateError(f"corrupt snapshot: {exc}") from exc


def _saved_time(now: Any) -> float:
    """A snapshot's ``now``: a finite number of seconds (0 when it is missing)."""
    if now is None:
        return 0.0
    try:
        seconds = float(now) if isinstance(now, int | float) and not isinstance(now, bool) else -1
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidStateError(f"the snapshot's 'now' is not a time in seconds: {shown(now)}")
    return seconds


class EntitySession:
    """One entity (an order, a user...) running through a :class:`StateMachine`, in memory.

    ``send(trigger, **payload)`` merges ``payload`` into the context, decides with the
    machine's pure step, commits the new state, then runs the actions (if the machine has
    actions bound and ``run_actions``): load, decide, commit, act. A rejected trigger changes
    nothing (not even the context) and returns the failed result.

    ``is_<state>`` is true while the state is active (a parent state is active with any of
    its children), ``<trigger>(**payload)`` is ``send(trigger, **payload)``. Names of the
    session's own attributes win; use :meth:`is_in` and :meth:`send` for those.

    ``EntitySession(machine, context=...)`` (what :meth:`StateMachine.create` does) starts a
    new entity; given a core ``snapshot``, the session continues from it. With
    ``defer_unhandled=True`` a trigger that fails is queued and tried again, in order, after
    the next successful one (at most 50 rounds), as pystator does. ``history`` keeps the
    successful results, the last ``history_limit`` of them.
    """

    #: how many rounds of deferred triggers one successful trigger replays, at most
    MAX_DEFERRED_REPLAY = 50

    def __init__(
        self,
        machine: StateMachine,
        snapshot: Snapshot | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        entity_id: str | None = None,
        clock: VirtualClock | RealClock | None = None,
        run_actions: bool = True,
        raise_on_error: bool = False,
        execute_actions: bool = False,
        initial_state: str | None = None,
        defer_unhandled: bool = False,
        history_limit: int = 1000,
    ) -> None:
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context must be a mapping, got {type(context).__name__}")
        if isinstance(history_limit, bool) or not isinstance(history_limit, int):
            raise TypeError(f"history_limit is a whole number, got {history_limit!r}")
        self._machine = machine
        self._clock = clock if clock is not None else VirtualClock()
        self.entity_id = entity_id or (snapshot.session_id if snapshot else "") or uuid.uuid4().hex
        self.run_actions = run_actions
        #: run the actions (effects included) even when the machine has none bound
        self.execute_actions = execute_actions
        self.raise_on_error = raise_on_error
        self.defer_unhandled = defer_unhandled
        self._deferred: list[tuple[str, dict[str, Any]]] = []
        self._history: deque[TransitionResult] = deque(maxlen=max(history_limit, 0))
        # one trigger at a time from any thread (an action may send again: re-entrant)
        self._lock = threading.RLock()
        #: the result of the last trigger (or the initial entry)
        self.last_result: TransitionResult | None = None
        #: what the actions of the last transition did (None if none ran)
        self.last_actions: ActionExecutionResult | None = None
        if snapshot is not None:
            self._snapshot = snapshot
            return
        self._snapshot, first = self._start(context, initial_state)
        self._settle(first)

    def _start(
        self, context: Mapping[str, Any] | None, initial_state: str | None
    ) -> tuple[Snapshot, TransitionResult]:
        """The new entity's snapshot and the result of entering it. ``initial_state`` sets
        that state instead, as a stored entity is loaded: set, not entered (no ``on_enter``
        actions, no timeout started)."""
        machine = self._machine
        calls: list[ActionCall] = []
        if initial_state is not None:
            snap = msgspec.structs.replace(
                machine.snapshot_for(initial_state, context or {}), session_id=self.entity_id
            )
        else:
            with collect_actions() as calls:
                step = machine.chart.initial(
                    context=context, now=self._clock.now(), session_id=self.entity_id
                )
            snap = step.snapshot
        return snap, TransitionResult(
            True,
            None,
            machine.current_state_of(snap.configuration),
            "",
            actions_to_run=shown_calls(calls),
            metadata={"initial": True},
            snapshot=snap,
            active_states=machine.active_states_of(snap.configuration),
        )

    # -- state -----------------------------------------------------------------------------
    @property
    def machine(self) -> StateMachine:
        """The machine this entity runs on."""
        return self._machine

    @property
    def current_state(self) -> str:
        """The current state (see :meth:`StateMachine.current_state_of`)."""
        return self._machine.current_state_of(self._snapshot.configuration)

    @property
    def active_states(self) -> tuple[str, ...]:
        """The active leaf states (one per region inside a parallel state)."""
        return self._machine.active_states_of(self._snapshot.configuration)

    @property
    def region_states(self) -> dict[str, str]:
        """For each active region of a parallel state, its active leaf state."""
        nodes = self._machine.chart.nodes_by_id
        regions = self._machine.model.regions
        out: dict[str, str] = {}
        for leaf in self.active_states:
            for anc in nodes[leaf].ancestors:
                if anc.id in regions:
                    out.setdefault(anc.id, leaf)
        return out

    @property
    def configuration(self) -> frozenset[str]:
        """Every active state: leaves, their parents, parallel states and regions."""
        return frozenset(self._snapshot.configuration)

    @property
    def context(self) -> dict[str, Any]:
        """The entity's context (yours to read; changes are kept)."""
        return self._snapshot.context

    @property
    def workflow_status(self) -> str:
        """``"complete"``, ``"failed"`` or ``"active"``: pystator's outcome label for the
        current state's type (see :mod:`statefleet.compat.pystator.workflow_status`)."""
        return compute_workflow_status(self._machine, self.current_state)

    @property
    def is_final(self) -> bool:
        """True once a top-level terminal state is reached."""
        return self._snapshot.status == "done"

    @property
    def clock(self) -> VirtualClock | RealClock:
        """The clock delayed transitions wait on."""
        return self._clock

    @property
    def now(self) -> float:
        """The clock's current time, in seconds."""
        return self._clock.now()

    def is_in(self, state: str) -> bool:
        """Is ``state`` active (itself or one of its children)?"""
        if state not in self._machine.chart.nodes_by_id:
            raise InvalidStateError(
                f"{state!r} is not a state of machine {self._machine.name!r}",
                current_state=self.current_state,
            )
        return state in self._snapshot.configuration

    def available_triggers(self, *, check_guards: bool = False) -> list[str]:
        """Triggers with a transition from the current state (guards checked if asked)."""
        return self._machine.available_triggers(
            self._snapshot, self._snapshot.context if check_guards else None
        )

    def __repr__(self) -> str:
        return (
            f"<EntitySession {self.entity_id!r} of {self._machine.name!r}:"
            f" {self.current_state}{' (final)' if self.is_final else ''}>"
        )

    # -- events ----------------------------------------------------------------------------
    def _prepare(self, trigger: str, payload: Mapping[str, Any]) -> TransitionResult:
        snap = self._snapshot
        if payload:
            snap = msgspec.structs.replace(snap, context={**snap.context, **payload})
        return self._machine.step(
            snap, trigger, self._clock.now(), dict(payload) or None, self.entity_id
        )

    def _commit(self, result: TransitionResult) -> None:
        if result.snapshot is not None:
            self._snapshot = result.snapshot
        self.last_result = result
        if result.success and result.trigger:
            self._history.append(result)

    def _to_run(self, result: TransitionResult) -> list[ActionCall]:
        """The calls to run after committing ``result``: all of them, when the session runs
        actions (``run_actions``) and the machine has actions bound or ``execute_actions``
        asks for them anyway (pystator's sessions run none unless asked)."""
        if not (result.success and self.run_actions):
            return []
        if self._machine.actions_bound or self.execute_actions:
            return list(result.actions_to_run)
        return []

    @staticmethod
    def _report(result: TransitionResult, done: ActionExecutionResult) -> None:
        """Put what the actions did in ``result.metadata["action_results"]``, as pystator."""
        result.metadata["action_results"] = [
            {
                "name": r.action_name,
                "status": r.status,
                "success": r.success,
                "skipped": r.is_skipped,
            }
            for r in done.action_results
        ]

    def _act(self, result: TransitionResult) -> None:
        self.last_actions = None
        calls = self._to_run(result)
        if calls:
            self.last_actions = ActionExecutor(self._machine.actions).execute(
                calls, self._snapshot.context
            )
            self._report(result, self.last_actions)

    def _settle(self, result: TransitionResult) -> TransitionResult:
        self._commit(result)
        self._act(result)
        if self.raise_on_error and result.error is not None:
            raise result.error
        return result

    def send(self, trigger: str, /, **payload: Any) -> TransitionResult:
        """Process ``trigger`` with ``payload`` merged into the context; commit, then act.
        Thread-safe, as in pystator: one trigger at a time per session."""
        with self._lock:
            return self._send(trigger, payload)

    def _send(self, trigger: str, payload: Mapping[str, Any]) -> TransitionResult:
        result = self._prepare(trigger, payload)
        self._commit(result)
        self._act(result)
        if self._defers(trigger, payload, result):
            for queued, data in self._replayed():
                self._send(queued, data)
        return self._raised(result)

    def _defers(self, trigger: str, payload: Mapping[str, Any], result: TransitionResult) -> bool:
        """Queue a failed trigger (``defer_unhandled``); say whether queued ones are due."""
        if not self.defer_unhandled:
            return False
        if not result.success:
            self._deferred.append((trigger, dict(payload)))
            return False
        return bool(self._deferred)

    def _replayed(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The deferred triggers to send again, round after round (a trigger failing again
        is queued again by its send), at most :attr:`MAX_DEFERRED_REPLAY` rounds."""
        for _ in range(self.MAX_DEFERRED_REPLAY):
            if not self._deferred:
                return
            queued, self._deferred = self._deferred, []
            yield from queued

    def _raised(self, result: TransitionResult) -> TransitionResult:
        if self.raise_on_error and result.error is not None:
            raise result.error
        return result

    @property
    def deferred_events(self) -> list[tuple[str, dict[str, Any]]]:
        """The triggers waiting to be tried again, as ``(trigger, payload)``, in order."""
        return [(t, dict(p)) for t, p in self._deferred]

    def clear_deferred(self) -> None:
        """Forget the deferred triggers."""
        self._deferred.clear()

    @property
    def history(self) -> list[TransitionResult]:
        """The successful results, oldest first (the last ``history_limit``)."""
        return list(self._history)

    @property
    def allowed_triggers(self) -> list[str]:
        """The triggers with a transition from the current state (guards not checked)."""
        return self.available_triggers()

    def record(self) -> EventRecorder:
        """An :class:`EventRecorder` sending through this session and keeping what it sent."""
        return EventRecorder(self)

    async def asend(self, trigger: str, /, **payload: Any) -> TransitionResult:
        """:meth:`send`, awaiting async actions (``ActionExecutor.async_execute``)."""
        result = self._prepare(trigger, payload)
        self._commit(result)
        self.last_actions = None
        calls = self._to_run(result)
        if calls:
            self.last_actions = await ActionExecutor(self._machine.actions).async_execute(
                calls, self._snapshot.context
            )
            self._report(result, self.last_actions)
        if self._defers(trigger, payload, result):
            for queued, data in self._replayed():
                await self.asend(queued, **data)
        return self._raised(result)

    # -- destinations ----------------------------------------------------------------------
    def evaluate_destination(
        self, destination_state: str, *, context_overrides: Mapping[str, Any] | None = None
    ) -> DestinationCheckResult:
        """:meth:`StateMachine.evaluate_destination` from this entity's state, with its
        context (``context_overrides`` merged in for the check only)."""
        ctx = {**self.context, **(context_overrides or {})}
        return self._machine.evaluate_destination(self.current_state, destination_state, ctx)

    def can_transition_to(
        self, destination_state: str, *, context_overrides: Mapping[str, Any] | None = None
    ) -> bool:
        """Can this entity reach ``destination_state`` now?"""
        return self.evaluate_destination(
            destination_state, context_overrides=context_overrides
        ).allowed

    # -- delayed transitions ---------------------------------------------------------------
    @property
    def next_due(self) -> float | None:
        """When the next delayed transition is due (clock seconds), or None."""
        dues = [d.due for d in self._snapshot.pending if d.target is None]
        return min(dues) if dues and self._snapshot.status == "active" else None

    def _fire_due(self, until: float) -> list[TransitionResult]:
        results: list[TransitionResult] = []
        while self._snapshot.status == "active":
            due = [d for d in self._snapshot.pending if d.target is None and d.due <= until]
            if not due:
                break
            de = min(due, key=lambda d: d.due)
            self._clock.set(de.due)
            result = self._machine.step(self._snapshot, de.event, de.due, entity_id=self.entity_id)
            if result.snapshot is None:  # pragma: no cover - timers always consume
                break
            results.append(self._settle(result))
        return results

    def advance(self, seconds: float) -> list[TransitionResult]:
        """Move the virtual clock forward, firing due delayed transitions in order; returns
        their results."""
        if not isinstance(self._clock, VirtualClock):
            raise StatefleetError("advance() needs a VirtualClock; use poll() with a real clock")
        if seconds < 0:
            raise ValueError("cannot advance by a negative duration")
        with self._lock:
            until = self._clock.now() + seconds
            results = self._fire_due(until)
            self._clock.set(until)
            return results

    def poll(self) -> list[TransitionResult]:
        """Fire the delayed transitions due at the clock's current time."""
        with self._lock:
            return self._fire_due(self._clock.now())

    # -- snapshots -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The entity as a JSON-ready dict (store it anywhere; :meth:`from_snapshot` restores
        it): ``entity_id``, ``machine``, ``version``, ``state``, ``active_states``,
        ``context``, ``now`` and the ``core`` snapshot (history, pending delayed
        transitions). Raises :class:`~statefleet.SnapshotError` for a context that JSON
        cannot hold."""
        try:
            core = msgspec.json.decode(msgspec.json.encode(self._snapshot))
        except (TypeError, msgspec.EncodeError) as exc:
            raise SnapshotError(f"the context cannot be serialized: {exc}") from exc
        context = core.pop("context", {})
        return {
            "entity_id": self.entity_id,
            "machine": self._machine.name,
            "version": self._machine.version,
            "state": self.current_state,
            "is_terminal": self._machine.is_terminal(self.current_state),
            "workflow_status": self.workflow_status,
            "active_states": list(self.active_states),
            "context": context,
            "now": self._clock.now(),
            "core": core,
        }

    @classmethod
    def from_snapshot(
        cls,
        machine: StateMachine,
        snapshot: Mapping[str, Any] | Snapshot,
        *,
        clock: VirtualClock | RealClock | None = None,
        run_actions: bool = True,
        raise_on_error: bool = False,
        execute_actions: bool = False,
    ) -> EntitySession:
        """Restore an entity saved with :meth:`snapshot` (or from a core snapshot). A virtual
        clock resumes at the saved time. Raises :class:`InvalidStateError` if it does not fit
        the machine."""
        from statefleet.compat.pystator._machine import StateMachine

        if not isinstance(machine, StateMachine):
            raise TypeError(f"expected a StateMachine, got {type(machine).__name__}")
        if isinstance(snapshot, Mapping):
            core = snapshot_from_dict(snapshot)
            eid = snapshot.get("entity_id")
            now = snapshot.get("now", 0.0)
        elif isinstance(snapshot, Snapshot):
            core, eid, now = snapshot, None, 0.0
        else:
            raise TypeError(f"expected a snapshot dict, got {type(snapshot).__name__}")
        core = machine.snapshot_for(core)
        if clock is None:
            clock = VirtualClock(_saved_time(now))
        return cls(
            machine,
            core,
            entity_id=eid if isinstance(eid, str) else None,
            clock=clock,
            run_actions=run_actions,
            raise_on_error=raise_on_error,
            execute_actions=execute_actions,
        )

    # -- generated helpers -----------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        machine: StateMachine = self.__dict__["_machine"]
        if name.startswith("is_") and name[3:] in machine.chart.nodes_by_id:
            return name[3:] in self.__dict__["_snapshot"].configuration
        if name in machine.triggers:
            return functools.partial(self.send, name)
        hint = did_you_mean(name, self._generated_names())
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}{hint}")

    def _generated_names(self) -> list[str]:
        machine = self._machine
        return [f"is_{s}" for s in machine.model.states] + list(machine.triggers)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._generated_names()})
