"""pystator's API on statefleet charts: a stateless machine, per-entity sessions, registries,
an action executor, hooks and metrics, and typed errors.

Three ways to run a machine, as in pystator:

- **Stateless.** ``machine.process(state, trigger, context)`` computes the next state with the
  core's pure ``chart.transition``: no side effects, actions are *returned*
  (``result.actions_to_run``), never run. You persist the new state, then run the actions
  (``ActionExecutor.execute(result, context)``): load, decide, commit, act.
- **Per entity.** ``machine.create(context=...)`` gives an :class:`EntitySession` holding one
  entity's state: ``send(trigger, **payload)`` (payload merged into the context),
  ``is_<state>``, ``<trigger>()`` methods, ``snapshot()``/``from_snapshot``. A send decides,
  commits the new state, then runs the actions bound to the machine. Delayed transitions
  (``timeout``, ``after``) wait on the session's clock (``advance`` on a virtual clock).
- **Orchestrated.** Load by entity id, process, persist, act; statefleet's persistence layer
  and actors do this for durable stores.

Every outcome that is not a transition is a typed :class:`FSMError` (also a
:class:`~statefleet.StatefleetError`): :class:`GuardRejectedError`,
:class:`InvalidTransitionError`, :class:`UndefinedTriggerError`, :class:`TerminalStateError`,
:class:`InvalidStateError`, :class:`UndefinedGuardError`. ``process`` and ``send`` return it
in ``result.error`` (``raise_on_error=True`` raises it instead).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self, TypeVar

import msgspec

from statefleet.compat.pystator._checks import CompositeGuard, GuardsWithChecks
from statefleet.compat.pystator._config import Extras, meta_with, policy_config
from statefleet.compat.pystator._config import read as read_config
from statefleet.compat.pystator._definition import MachineDefinition
from statefleet.compat.pystator._destinations import (
    DestinationCheckResult,
    evaluate_destination,
)
from statefleet.compat.pystator._errors import (
    ErrorPolicy,
    FSMError,
    GuardRejectedError,
    InvalidStateError,
    InvalidTransitionError,
    TerminalStateError,
    UndefinedGuardError,
    UndefinedTriggerError,
)
from statefleet.compat.pystator._hooks import TransitionEvent, TransitionObserver
from statefleet.compat.pystator._model import Event, State, Transition, model_config
from statefleet.compat.pystator._registries import ActionRegistry, GuardRegistry
from statefleet.compat.pystator._results import ScheduledTransition, StateInput, TransitionResult
from statefleet.compat.pystator._session import EntitySession, snapshot_from_dict
from statefleet.compat.pystator.effects import shown_calls
from statefleet.core import (
    CancelEffect,
    Chart,
    ChartDefinitionError,
    EventData,
    RealClock,
    ScheduleEffect,
    Snapshot,
    SnapshotError,
    VirtualClock,
    descriptor_matches,
)
from statefleet.core._chart import Node
from statefleet.core._chart import Transition as ChartTransition
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._yaml import (
    GuardSet,
    PystatorModel,
    UnboundNameError,
    collect_actions,
    model_of,
)

__all__ = ["StateMachine"]

F = TypeVar("F", bound=Callable[..., Any])


class StateMachine(MachineDefinition):
    """A pystator machine: the definition (a compiled, immutable chart) plus bound guards,
    actions and observers. Stateless: one per entity *type*, shared by all entities.

    Build it with :meth:`from_yaml` / :meth:`from_dict` (or from a chart read by
    ``statefleet.from_yaml``). Guards and actions are bound late, as in pystator
    (:meth:`bind_guards`, :meth:`bind_actions`, or the :meth:`guard`/:meth:`action`
    decorators); the chart itself never changes.
    """

    def __init__(
        self,
        states: Chart | Mapping[str, State] | Sequence[State],
        transitions: Sequence[Transition] | None = None,
        meta: Mapping[str, Any] | None = None,
        error_policy: ErrorPolicy | Mapping[str, Any] | None = None,
        *,
        events: Sequence[Event] = (),
        guards: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        """``StateMachine(chart)`` wraps a chart read by a reader; ``StateMachine(states,
        transitions, meta=..., error_policy=...)`` builds one from the model classes (see
        ``_model``); ``error_policy`` is an :class:`ErrorPolicy` or the config's mapping."""
        extras = Extras()
        chart = states
        if not isinstance(chart, Chart):
            if transitions is None:
                raise TypeError(
                    "StateMachine expected a Chart, or states and transitions built with the "
                    f"model classes (State, Transition, ...); got {type(chart).__name__}"
                )
            config = model_config(chart, transitions, meta_with(meta, error_policy), events)
            if error_policy is not None:
                config["error_policy"] = policy_config(error_policy)
            chart, extras = read_config(config, guards, actions)
        elif transitions is not None or meta is not None or events or error_policy is not None:
            raise TypeError("StateMachine(chart) takes no transitions, meta, events or policy")
        self.chart = chart
        self.model: PystatorModel = model_of(chart)
        self._extras = extras
        b = self.model.bindings
        self._guards = b.guards if isinstance(b.guards, GuardRegistry) else GuardRegistry(b.guards)
        self._actions = (
            b.actions if isinstance(b.actions, ActionRegistry) else ActionRegistry(b.actions)
        )
        b.actions = self._actions
        self._bind_guards(self._guards)
        self._actions_bound = len(self._actions) > 0
        self._observers: list[TransitionObserver] = []
        self._triggers = frozenset(self.model.triggers)
        self._nodes = chart.nodes_by_id

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def _from_source(
        cls,
        source: Any,
        guards: Mapping[str, Callable[..., Any]] | None,
        actions: Mapping[str, Callable[..., Any]] | None,
    ) -> StateMachine:
        chart, extras = read_config(source, guards, actions)
        machine = cls(chart)
        machine._extras = extras
        machine._bind_guards(machine._guards)
        return machine

    def _bind_guards(self, registry: GuardRegistry) -> None:
        """Look the chart's guard names up in ``registry`` (its strictness set from the
        policy, as pystator does), after the config's ``check:`` guards."""
        registry.strict = self._extras.error_policy.strict_guard_registry_effective()
        self._guards = registry
        checks = self._extras.checks
        self.model.bindings.guards = GuardsWithChecks(checks, registry) if checks else registry

    @classmethod
    def from_yaml(
        cls,
        source: str | os.PathLike[str] | bytes,
        *,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> StateMachine:
        """Read a machine from a YAML file or text (``ChartDefinitionError`` if invalid)."""
        return cls._from_source(source, guards, actions)

    @classmethod
    def from_dict(
        cls,
        config: Mapping[str, Any],
        *,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> StateMachine:
        """Build a machine from a dict with the YAML structure."""
        if not isinstance(config, Mapping):
            raise ChartDefinitionError(
                f"a pystator config is a mapping, got {type(config).__name__}"
            )
        return cls._from_source(config, guards, actions)

    @staticmethod
    def validate_config(config: Mapping[str, Any] | str | os.PathLike[str]) -> list[str]:
        """Every problem in a config, as ``"path (line n): message"`` strings (empty: valid)."""
        try:
            read_config(config, None, None)
        except ChartDefinitionError as exc:
            if len(exc.errors) <= 1:
                return [str(exc)]
            return [f"{p}: {m}" if p else m for p, m in exc.errors]
        return []

    def get_available_triggers(self, state: StateInput) -> list[str]:
        """:meth:`available_triggers` under pystator's name."""
        return self.available_triggers(state)

    def can_transition(
        self, state: StateInput, trigger: str, context: Mapping[str, Any] | None = None
    ) -> bool:
        """Would ``trigger`` make a transition from ``state`` with ``context``?"""
        result = self.process(state, trigger, context or {})
        return result.success and not result.metadata.get("no_op", False)

    def evaluate_destination(
        self,
        current_state: str,
        destination_state: str,
        context: Mapping[str, Any] | None = None,
    ) -> DestinationCheckResult:
        """Can ``destination_state`` be reached from ``current_state`` now? Each transition
        declared to it is tried with :meth:`process` (see :class:`DestinationCheckResult`)."""
        return evaluate_destination(self, current_state, destination_state, context)

    def can_transition_to(
        self,
        current_state: str,
        destination_state: str,
        context: Mapping[str, Any] | None = None,
    ) -> bool:
        """``evaluate_destination(...).allowed``."""
        return self.evaluate_destination(current_state, destination_state, context).allowed

    # -- bindings --------------------------------------------------------------------------
    @property
    def guards(self) -> GuardRegistry:
        """The bound guard registry."""
        return self._guards

    @property
    def actions(self) -> ActionRegistry:
        """The bound action registry."""
        return self._actions

    @property
    def guard_registry(self) -> GuardRegistry:
        """pystator's name for :attr:`guards`."""
        return self._guards

    @property
    def action_registry(self) -> ActionRegistry:
        """pystator's name for :attr:`actions`."""
        return self._actions

    def bind_guards(self, registry: GuardRegistry | Mapping[str, Callable[..., Any]]) -> Self:
        """Use ``registry`` for the guards named in the definition (later registrations in
        it are seen too). Its ``strict`` is set from the machine's policy, as pystator does.
        Returns the machine."""
        reg = registry if isinstance(registry, GuardRegistry) else GuardRegistry(registry)
        self._bind_guards(reg)
        return self

    def bind_actions(self, registry: ActionRegistry | Mapping[str, Callable[..., Any]]) -> Self:
        """Use ``registry`` for the actions named in the definition; sessions then run them
        after each committed transition. Returns the machine."""
        reg = registry if isinstance(registry, ActionRegistry) else ActionRegistry(registry)
        self._actions = reg
        self.model.bindings.actions = reg
        self._actions_bound = True
        return self

    def guard(self, name: str) -> Callable[[F], F]:
        """Decorator registering a guard: ``@machine.guard("is_full_fill")``."""
        return self._guards.register(name)

    def action(self, name: str) -> Callable[[F], F]:
        """Decorator registering an action: ``@machine.action("notify")``."""
        self._actions_bound = True
        return self._actions.register(name)

    def missing_bindings(self) -> dict[str, list[str]]:
        """Guard and action names used by the definition with no function bound yet."""
        return {
            "guards": sorted(
                n
                for n in {*self.model.guard_names, *self._composite_names()}
                if n not in self._guards and n not in self._extras.checks
            ),
            "actions": sorted(n for n in self.model.action_names if n not in self._actions),
        }

    def _composite_names(self) -> set[str]:
        """The guard names used inside the config's composite guards."""
        out: set[str] = set()
        for spec in self._extras.checks.values():
            if isinstance(spec, CompositeGuard):
                out |= spec.names()
        return out

    @property
    def actions_bound(self) -> bool:
        """Have actions been bound (so sessions run them after each transition)?"""
        return self._actions_bound

    def add_observer(self, observer: TransitionObserver) -> Self:
        """Notify ``observer`` around every trigger processed (``process``, sessions)."""
        if not isinstance(observer, TransitionObserver):
            raise TypeError(f"expected a TransitionObserver, got {type(observer).__name__}")
        self._observers.append(observer)
        return self

    def remove_observer(self, observer: TransitionObserver) -> None:
        """Stop notifying ``observer``."""
        self._observers.remove(observer)

    # -- states ----------------------------------------------------------------------------
    def current_state_of(self, configuration: Iterable[str]) -> str:
        """The state name of a configuration: its only active leaf, or (inside parallel
        regions) the innermost state containing every active leaf."""
        leaves = self._leaves(configuration)
        if len(leaves) == 1:
            return leaves[0].id
        first = leaves[0]
        for anc in first.ancestors:
            if all(leaf.is_descendant_of(anc) for leaf in leaves[1:]):
                return anc.id
        return first.id  # pragma: no cover - leaves always share the root

    def _leaves(self, configuration: Iterable[str]) -> list[Node]:
        nodes = self._nodes
        active = {nodes[i] for i in configuration}
        return sorted(
            (n for n in active if not any(c in active for c in n.child_states)),
            key=lambda n: n.index,
        )

    def active_states_of(self, configuration: Iterable[str]) -> tuple[str, ...]:
        """The active leaf states of a configuration, in declaration order."""
        return tuple(n.id for n in self._leaves(configuration))

    def _configuration(self, names: list[str]) -> tuple[str, ...]:
        nodes = self._nodes
        active: set[Node] = set()
        for name in names:
            node = nodes.get(name) if isinstance(name, str) else None
            if node is None or node.is_history:
                raise InvalidStateError(
                    f"{name!r} is not a state of machine {self.name!r}"
                    f"{did_you_mean(name, self.model.states)}",
                    current_state=str(name),
                )
            active.add(node)
            active.update(a for a in node.ancestors if a.parent is not None)
        stack = list(active)
        while stack:
            n = stack.pop()
            if n.is_parallel:
                new = [c for c in n.child_states if c not in active]
            elif n.is_compound and not any(c in active for c in n.child_states):
                assert n.initial is not None
                new = []
                for t in n.initial.targets:
                    new += [t, *(a for a in t.ancestors if a.is_descendant_of(n))]
            else:
                new = []
            for c in new:
                if c not in active:
                    active.add(c)
                    stack.append(c)
        for n in (self.chart.root, *active):
            if n.is_parallel:
                continue
            together = [c.id for c in n.child_states if c in active]
            if len(together) > 1:
                where = "" if n is self.chart.root else f" (they are alternatives inside {n.id!r})"
                raise InvalidStateError(
                    f"states {', '.join(map(repr, together))} cannot be active together{where}",
                    current_state=", ".join(map(str, names)),
                )
        return tuple(n.id for n in sorted(active, key=lambda n: n.index))

    def snapshot_for(self, state: StateInput, context: Mapping[str, Any] | None = None) -> Snapshot:
        """A core snapshot for ``state`` (a state name, several names for parallel regions,
        a snapshot, an :meth:`EntitySession.snapshot` dict, or a successful
        :class:`TransitionResult` to continue from) with ``context``.

        A compound state stands for its initial leaf; regions not named start at their
        initial state. Raises :class:`InvalidStateError`.
        """
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context must be a mapping, got {type(context).__name__}")
        if isinstance(state, TransitionResult):
            if state.snapshot is None:
                raise InvalidStateError(
                    "this result has no state to continue from (the trigger failed)",
                    current_state=state.source_state,
                )
            snap = state.snapshot
        elif isinstance(state, Snapshot):
            snap = state
        elif isinstance(state, Mapping):
            snap = snapshot_from_dict(state)
        else:
            if isinstance(state, str):
                names = [state]
            elif isinstance(state, Iterable):
                names = list(state)
                if not names:
                    raise InvalidStateError("no state given")
            else:
                raise InvalidStateError(
                    f"a state is a name, a list of names or a snapshot, not {type(state).__name__}"
                )
            configuration = self._configuration(names)
            done = any(
                self._nodes[i].is_final and self._nodes[i].parent is self.chart.root
                for i in configuration
            )
            return Snapshot(
                chart_id=self.chart.id,
                chart_version=self.chart.version,
                configuration=configuration,
                context=dict(context) if context is not None else {},
                status="done" if done else "active",
            )
        try:
            self.chart.validate(snap)
        except SnapshotError as exc:
            raise InvalidStateError(str(exc)) from exc
        if not snap.configuration:  # legal for a finished SCXML session, never for an entity
            raise InvalidStateError("the snapshot has no active state")
        if context is not None:
            snap = msgspec.structs.replace(snap, context=dict(context))
        return snap

    # -- processing ------------------------------------------------------------------------
    def _candidates(self, configuration: Sequence[str], event: str) -> list[list[ChartTransition]]:
        out: list[list[ChartTransition]] = []
        for atom in self._leaves(configuration):
            lst = [
                t
                for s in (atom, *atom.ancestors)
                for t in s.transitions
                if not t.eventless and descriptor_matches(t.descriptors, event)
            ]
            if lst:
                out.append(lst)
        return out

    def available_triggers(
        self, state: StateInput, context: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Triggers that have a transition from ``state``; with ``context``, only those whose
        guards pass for it."""
        snap = self.snapshot_for(state, context)
        if snap.status != "active":
            return []
        out: list[str] = []
        for trig in self.triggers:
            for lst in self._candidates(snap.configuration, trig):
                if context is None or any(
                    not isinstance(t.cond, GuardSet)
                    or t.cond.first_failure(snap.context, snap.configuration) is None
                    for t in lst
                ):
                    out.append(trig)
                    break
        return out

    def _check(self, snap: Snapshot, event: str, label: str, source: str) -> FSMError | None:
        """Decide, without stepping, whether ``event`` makes a transition (None) or not."""
        if event not in self._triggers and event not in self.model.timers:
            return UndefinedTriggerError(
                f"trigger {event!r} is not defined by machine {self.name!r}"
                f"{did_you_mean(event, self.triggers)}",
                current_state=source,
                trigger=label,
            )
        if snap.status != "active":
            return TerminalStateError(
                f"{source!r} is a terminal state: trigger {label!r} is not accepted",
                current_state=source,
                trigger=label,
            )
        candidates = self._candidates(snap.configuration, event)
        if not candidates:
            return InvalidTransitionError(
                f"no transition for trigger {label!r} from state {source!r}",
                current_state=source,
                trigger=label,
                available_triggers=[
                    t for t in self.triggers if self._candidates(snap.configuration, t)
                ],
            )
        first: tuple[Any, BaseException | None] | None = None
        for lst in candidates:
            for t in lst:
                if not isinstance(t.cond, GuardSet):
                    return None
                failure = t.cond.first_failure(snap.context, snap.configuration)
                if failure is None:
                    return None
                if first is None:
                    first = failure
        assert first is not None
        guard, exc = first
        if isinstance(exc, UnboundNameError):
            return UndefinedGuardError(
                f"guard {exc.name!r} is not bound: register it (bind_guards or @machine.guard)",
                current_state=source,
                trigger=label,
                guard_name=exc.name,
            )
        why = f" (it raised {exc!r})" if exc is not None else ""
        return GuardRejectedError(
            f"guard {guard.label!r} blocked trigger {label!r} in state {source!r}{why}",
            guard_name=guard.label,
            cause=exc,
            current_state=source,
            trigger=label,
        )

    def _is_no_op(self, error: FSMError) -> bool:
        """Is ``error`` a trigger this machine lets pass without moving (pystator's
        ``meta.strict_mode: false`` / ``reject_invalid_events: false``): an undefined trigger
        or no transition from the current state. Terminal states and guards still refuse."""
        return type(error) in (UndefinedTriggerError, InvalidTransitionError) and (
            not self._extras.error_policy.reject_invalid_events_effective()
        )

    def _decide(
        self, snap: Snapshot, event: str | EventData, now: float, payload: Any = None
    ) -> TransitionResult:
        """One trigger from ``snap``: the result, with the new snapshot when it moved (or
        when a delayed event was consumed, even without a transition)."""
        source = self.current_state_of(snap.configuration)
        if isinstance(event, EventData):
            ev = event
        elif isinstance(event, str) and event:
            if self._extras.event_normalizer == "lower" and event not in self.model.timers:
                event = event.lower()
            ev = EventData(event, payload, sendid=event if event in self.model.timers else None)
        else:
            err = UndefinedTriggerError(
                f"a trigger is a non-empty string, not {event!r}", current_state=source
            )
            return TransitionResult(
                False, source, None, str(event), error=err, metadata=err.to_metadata()
            )
        timer = self.model.timers.get(ev.name)
        label = timer[0] if timer is not None else ev.name
        error = self._check(snap, ev.name, label, source)
        if error is not None and (timer is None or snap.status != "active"):
            if self._is_no_op(error):
                return TransitionResult(
                    True,
                    source,
                    source,
                    label,
                    metadata={"no_op": True, "reason": "no_matching_transition"},
                    snapshot=snap,
                    active_states=self.active_states_of(snap.configuration),
                )
            return TransitionResult(
                False, source, None, label, error=error, metadata=error.to_metadata()
            )
        with collect_actions() as calls:
            step = self.chart.transition(snap, ev, now=now)
        new = step.snapshot
        if error is not None:  # a delayed event consumed without a transition
            return TransitionResult(
                False, source, None, label, error=error, metadata=error.to_metadata(), snapshot=new
            )
        exited: list[str] = []
        entered: list[str] = []
        for m in step.microsteps:
            exited += m.exited
            entered += m.entered
        scheduled = tuple(
            ScheduledTransition(
                e.event.name,
                self.model.timers.get(e.event.name, (e.event.name, ""))[0],
                self.model.timers.get(e.event.name, ("", ""))[1],
                e.due - now,
                e.due,
            )
            for e in step.effects
            if isinstance(e, ScheduleEffect)
        )
        cancelled = tuple(e.sendid for e in step.effects if isinstance(e, CancelEffect))
        metadata: dict[str, Any] = {
            "exited": exited,
            "entered": entered,
            "transitions": [label for m in step.microsteps for label in m.transitions],
        }
        if timer is not None:
            metadata["event"] = ev.name
        if step.errors:
            metadata["errors"] = [repr(e) for e in step.errors]
        return TransitionResult(
            True,
            source,
            self.current_state_of(new.configuration),
            label,
            actions_to_run=shown_calls(calls),
            metadata=metadata,
            snapshot=new,
            active_states=self.active_states_of(new.configuration),
            scheduled=scheduled,
            cancelled=cancelled,
        )

    def step(
        self,
        snap: Snapshot,
        event: str | EventData,
        now: float,
        payload: Any = None,
        entity_id: str | None = None,
    ) -> TransitionResult:
        """One trigger (or due delayed event) from the core snapshot ``snap`` at time
        ``now``, observed by the machine's observers: what a driver such as
        :class:`EntitySession` calls. ``process`` is this for a state given by name."""
        if not self._observers:
            return self._decide(snap, event, now, payload)
        name = event.name if isinstance(event, EventData) else str(event)
        timer = self.model.timers.get(name)
        tev = TransitionEvent(
            timer[0] if timer is not None else name,
            self.current_state_of(snap.configuration),
            snap.context,
            entity_id,
        )
        starts = [(o, o.start(tev)) for o in self._observers]
        result = self._decide(snap, event, now, payload)
        for o, started in starts:
            o.complete(tev, result, started)
        return result

    def process(
        self,
        state: StateInput,
        trigger: str | Event,
        context: Mapping[str, Any] | None = None,
        *,
        now: float = 0.0,
        raise_on_error: bool = False,
    ) -> TransitionResult:
        """Compute what ``trigger`` does from ``state`` with ``context``: pure, no side effects.

        ``state`` is a state name (a compound state stands for its initial leaf), a list of
        names (one per parallel region), a previous result, a snapshot (``result.snapshot``
        or ``EntitySession.snapshot()``; these keep history and delayed transitions).
        ``now`` (seconds) dates the delayed transitions started. Guards see ``context``;
        actions are returned in ``result.actions_to_run``, never run. A rejected trigger
        gives ``success=False`` and a typed ``error`` (raised instead with
        ``raise_on_error=True``). ``trigger`` may be an :class:`Event`: its payload is
        merged into ``context``.
        """
        if isinstance(trigger, Event):
            context = {**(context or {}), **trigger.payload}
            trigger = trigger.trigger
        try:
            snap = self.snapshot_for(state, context)
        except InvalidStateError as exc:
            result = TransitionResult(
                False,
                exc.current_state,
                None,
                str(trigger),
                error=exc,
                metadata={**exc.to_metadata(), "trigger": trigger},
            )
        else:
            result = self.step(snap, trigger, now)
        if raise_on_error and result.error is not None:
            raise result.error
        return result

    # -- entities --------------------------------------------------------------------------
    def create(
        self,
        context: Mapping[str, Any] | None = None,
        *,
        entity_id: str | None = None,
        clock: VirtualClock | RealClock | None = None,
        run_actions: bool = True,
        raise_on_error: bool = False,
        execute_actions: bool = False,
        initial_state: str | None = None,
        defer_unhandled: bool = False,
    ) -> EntitySession:
        """A new :class:`EntitySession` in the initial state, with ``context``.

        The initial state's ``on_enter`` actions run (after the state is set) when actions
        are bound and ``run_actions`` is true; ``execute_actions=True`` (pystator's switch)
        runs them, effects included, even with no actions bound, and each result's
        ``metadata["action_results"]`` then says what they did. ``initial_state`` starts the
        entity in that state (set, not entered: as a stored entity is loaded). ``clock``
        drives delayed transitions: a
        :class:`~statefleet.VirtualClock` by default (``session.advance``).
        """
        return EntitySession(
            self,
            context=context,
            entity_id=entity_id,
            clock=clock,
            run_actions=run_actions,
            raise_on_error=raise_on_error,
            execute_actions=execute_actions,
            initial_state=initial_state,
            defer_unhandled=defer_unhandled,
        )

    def create_from_snapshot(
        self, snapshot: Mapping[str, Any] | Snapshot, **options: Any
    ) -> EntitySession:
        """:meth:`EntitySession.from_snapshot` on this machine."""
        return EntitySession.from_snapshot(self, snapshot, **options)
