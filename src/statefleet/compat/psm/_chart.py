"""The chart classes: python-statemachine 3's ``StateChart`` (and its 2.x-style ``StateMachine``).

The class is compiled **once**, when it is created (``__init_subclass__``), into a
:class:`~statefleet.core.ChartSpec` and then a :class:`~statefleet.core.Chart` cached on the
class (``MyChart.chart``). Instances are sync :class:`~statefleet.core.Session` objects
(``StateChart`` subclasses ``Session``): ``send``, ``raise_``, triggers (``sm.start()``),
``configuration_values``, ``snapshot()`` and ``MyChart.restore(snapshot)``.
"""

from __future__ import annotations

import inspect
import uuid
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

import sniffio

from statefleet.compat.psm._callbacks import ARGS, Outcome, Provider, _Propagate, recording
from statefleet.compat.psm._compiler import _Compiler, _Unresolved
from statefleet.compat.psm._definition import Event, State, States, Transition, TransitionList
from statefleet.compat.psm._fields import Field, declare_fields
from statefleet.compat.psm.exceptions import (
    InvalidDefinition,
    StateMachineError,
    TransitionNotAllowed,
)
from statefleet.core import (
    ActorError,
    Chart,
    ChartDefinitionError,
    EventData,
    RealClock,
    Session,
    Snapshot,
    VirtualClock,
)

if TYPE_CHECKING:
    from statefleet.core._algorithm import Interpreter

#: no event data (read only): what an event method hands :meth:`StateChart._sf_send` with its
#: data already in the event
_NO_DATA: dict[str, Any] = {}

# -- the chart class ---------------------------------------------------------------------------


class _ChartAttr:
    """``MyChart.chart``: the compiled :class:`Chart` shared by every instance (an instance
    whose model or listeners define callbacks, or that was given ``start_value``, has a chart
    of its own with the same states, id and version)."""

    def __get__(self, instance: Any, owner: type[StateChart]) -> Chart:
        if instance is not None:
            own = getattr(instance, "_sf_ichart", None)
            if own is not None:
                return cast(Chart, own)
        chart = owner.__dict__.get("_sf_chart")
        if chart is None:
            chart = owner._sf_chart
        if chart is None:
            error = owner.__dict__.get("_sf_error")
            if error is not None:
                raise error
            raise InvalidDefinition("declares no states", path=owner.__name__)
        return chart

    def __set__(self, instance: Any, value: Any) -> None:
        # Session.__init__ assigns the chart; the instance already knows it
        pass


class _EventsAttr:
    """``Machine.events`` / ``sm.events``: every event the chart declares, in order."""

    def __get__(self, instance: Any, owner: type[StateChart]) -> list[Event]:
        return list(dict.fromkeys(owner._sf_events.values()))


class _StatesAttr:
    """``Machine.states``: the top-level states, in document order (a :class:`States`)."""

    def __get__(self, instance: Any, owner: type[StateChart]) -> States:
        return owner._sf_top


def _take(instance: Any, name: str, default: Any) -> Any:
    """Remove the instance attribute ``name`` and return it (``default`` if there is none).

    Instance attributes are read and written by name, never through ``__dict__``: on Python
    3.11 touching ``__dict__`` turns the instance's attribute storage into a real dict for
    good, and every ``self.x`` of the user's callbacks then costs ~20 ns more (a guarded
    counter event reads and writes its counter three times)."""
    value = getattr(instance, name, _ABSENT)
    if value is _ABSENT:
        return default
    delattr(instance, name)
    return value


_ABSENT: Any = object()


def _in_async_code() -> bool:
    """Is the caller running inside an event loop (asyncio or trio)?"""
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


def _is_record_listener(obj: Any) -> bool:
    """statefleet's listeners (``on_record`` or a plain function) vs python-statemachine's
    observers (objects whose methods are named like callbacks)."""
    return hasattr(obj, "on_record") or inspect.isroutine(obj)


class StateChart(Session):
    """Base class of class-DSL charts (python-statemachine 3's ``StateChart``).

    Subclasses declare states, events and callbacks in their class body; the class is
    compiled once into :attr:`chart`. An instance is a sync :class:`~statefleet.core.Session`
    entered into its initial configuration on creation (or into ``start_value``'s state).

    ``model``: an object whose methods and attributes are callbacks and guards too
    (``cond="is_paid"`` found on it, ``on_enter_paid`` run on it after the chart's own).
    ``listeners``: statefleet record listeners (``on_record`` or a function), and
    python-statemachine observers: any other object, whose callback-named methods
    (``on_enter_state``, ``after_transition``, ``on_enter_<state>``, ...) run like the
    chart's; the class attribute ``listeners = [...]`` adds observers to every instance (a
    class in it is instantiated per instance).

    ``catch_errors_as_events`` (default ``True``): an exception in a callback becomes the
    internal event ``error.execution`` (the exception injected as ``error``); ``False`` lets
    it propagate out of ``send`` (the configuration may then be half-made, as in
    python-statemachine's ``StateMachine``). ``allow_event_without_transition`` (default
    ``True``): ``False`` makes an event no transition takes raise ``TransitionNotAllowed``.
    ``validate_trap_states``, ``validate_disconnected_states`` and
    ``validate_final_reachability`` enable python-statemachine's definition checks (all on by
    default). ``chart_version`` is the version stamped in snapshots.

    ``configuration`` is the set of active state ids (as for every Session);
    ``configuration_values`` the set of their values (``State(value=...)``, default the id).
    """

    # No ``__slots__`` (nor has Session): on Python >= 3.12 an instance keeps its attributes
    # inline only if no class of its type has slots, and the user's callbacks read and write
    # their own attributes (``self.entries += 1``) on every event: ~108 -> ~56 ns each on
    # 3.13 (W3 class DSL 1,560 -> 1,287 ns an event)

    #: what :meth:`restore` / :meth:`for_entity` leave for ``__init__`` (snapshot, clock, start)
    _sf_restore: tuple[Snapshot | None, VirtualClock | RealClock | None, bool]

    catch_errors_as_events: ClassVar[bool] = True
    allow_event_without_transition: ClassVar[bool] = True
    validate_trap_states: ClassVar[bool] = True
    validate_disconnected_states: ClassVar[bool] = True
    validate_final_reachability: ClassVar[bool] = True
    chart_version: ClassVar[str] = "1"
    #: python-statemachine observers of every instance (objects, or classes to instantiate)
    listeners: ClassVar[list[Any]] = []

    #: python-statemachine's ``StateMachine.TransitionNotAllowed``
    TransitionNotAllowed = TransitionNotAllowed

    chart = _ChartAttr()
    events = _EventsAttr()
    states = _StatesAttr()

    _sf_chart: ClassVar[Chart | None] = None
    _sf_error: ClassVar[ChartDefinitionError | None] = None
    _sf_compiler: ClassVar[_Compiler | None] = None
    _sf_variants: ClassVar[dict[Any, Chart]] = {}
    _sf_events: ClassVar[dict[str, Event]] = {}
    #: each declared event without data, made once per class (an EventData is immutable)
    _sf_bare: ClassVar[dict[str, EventData]] = {}
    _sf_states: ClassVar[dict[str, State]] = {}
    _sf_top: ClassVar[States] = States()
    _sf_values: ClassVar[dict[str, Any] | None] = None
    #: the persisted attributes (annotated fields), by name
    _sf_fields: ClassVar[dict[str, Field]] = {}
    #: state value -> :class:`State`, every state of the chart
    states_map: ClassVar[dict[Any, State]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = declare_fields(cls, set(dir(StateChart)), (State, States, Event, TransitionList))
        cls._sf_fields = {**cls._sf_fields, **own}
        compiler = _Compiler(cls, StateChart)
        cls._sf_chart = None
        cls._sf_error = None
        cls._sf_variants = {}
        cls._sf_compiler = None
        if compiler.prepare():
            cls._sf_compiler = compiler
            try:
                cls._sf_chart = compiler.build()
            except _Unresolved as exc:
                # a name the model or a listener may define: python-statemachine checks it
                # when an instance is created, and so do we
                cls._sf_error = exc

    def __init__(
        self,
        model: Any = None,
        state_field: str = "state",
        start_value: Any = None,
        *,
        context: Mapping[str, Any] | None = None,
        clock: VirtualClock | RealClock | None = None,
        session_id: str | None = None,
        listeners: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        cls = type(self)
        #: python-statemachine hands the constructor's other keyword arguments to the
        #: callbacks of the initial entry (and its invocations) as event data
        self._sf_start_data: dict[str, Any] | None = kwargs or None
        records: list[Any] = []
        providers: tuple[Any, ...] = ()
        if model is not None or listeners or cls.listeners or start_value is not None:
            observers: list[Any] = []
            for entry in cls.listeners:
                observers.append(entry() if isinstance(entry, type) else entry)
            for obj in listeners:
                (records if _is_record_listener(obj) else observers).append(obj)
            providers = tuple(([model] if model is not None else []) + observers)
            chart = cls._instance_chart(providers, start_value)
            if chart is not cls._sf_chart:
                self._sf_ichart = chart
        else:
            chart = cls._sf_chart or cls.chart  # the class's (``cls.chart`` raises if none)
        self.model = model
        self._sf_tr: Transition | None = None
        self._sf_outcome: Outcome | None = None
        self._sf_providers = providers
        self._sf_collect: bool = bool(chart.meta.get("psm_outcome"))
        #: an event no transition takes raises TransitionNotAllowed (``StateMachine``)
        self._sf_strict = not cls.allow_event_without_transition
        self._sf_async: bool = bool(chart.meta.get("psm_async"))
        #: awaitables handed to an async caller (``await sm.send``), else ``None``
        self._sf_deferred: list[Any] | None = None
        if self._sf_async and _in_async_code():
            self._sf_deferred = []  # the initial entry's: activate_initial_state() awaits them
        #: psm keeps the current state value in ``model.<state_field>``
        self._sf_state_field: str | None = state_field if model is not None else None
        self._set_plain()
        restore = _take(self, "_sf_restore", None)
        pending: dict[str, Any] = _take(self, "_sf_pending", {})
        snapshot = None
        start = True
        if restore is not None:
            snapshot, r_clock, start = restore
            clock = r_clock if r_clock is not None else clock
        if pending:
            # fields assigned in ``__init__``: the initial datamodel (the caller's context wins)
            context = {**pending, **(context or {})}
        if snapshot is None and start and model is not None and start_value is None:
            # psm resumes a model whose state field holds a state value, without entry
            snapshot = self._resumed_from_model(chart, model, state_field, context, session_id)
        try:
            Session.__init__(
                self,
                chart,
                context=context,
                clock=clock,
                session_id=session_id,
                listeners=records,
                snapshot=snapshot,
                _start=start,
            )
        except _Propagate as p:
            raise p.exc from None
        if self._sf_deferred is not None:
            self._sf_initial = self._sf_deferred
            self._sf_deferred = None
        self._sync_model()
        if snapshot is not None and pending:
            # restored: the snapshot's values win; fields it does not know get their new value
            data = self._m.context
            for key, value in pending.items():
                data.setdefault(key, value)
        elif not start:
            self._sf_initial_context = dict(context or {})

    @classmethod
    def _resumed_from_model(
        cls,
        chart: Chart,
        model: Any,
        state_field: str,
        context: Mapping[str, Any] | None,
        session_id: str | None,
    ) -> Snapshot | None:
        value = getattr(model, state_field, None)
        if value is None or callable(value):
            return None
        state = cls.states_map.get(value)
        if state is None:
            raise InvalidDefinition(
                f"{type(model).__name__}.{state_field} is {value!r}, not the value of a state",
                path=cls.__name__,
            )
        active: set[str] = set()
        p = state.parent
        while p is not None:
            active.add(p.id)
            p = p.parent

        def enter(s: State) -> None:
            active.add(s.id)
            if s.parallel:
                for c in s.states:
                    enter(c)
            elif s.states:
                enter(next((c for c in s.states if c.initial), s.states[0]))

        enter(state)
        return Snapshot(
            chart_id=chart.id,
            chart_version=chart.version,
            configuration=tuple(i for i in chart.state_ids if i in active),
            context=dict(context or {}),
            session_id=session_id or uuid.uuid4().hex,
        )

    def _sync_model(self) -> None:
        """Write the current state value to ``model.<state_field>`` (python-statemachine's)."""
        field = self._sf_state_field
        if field is not None:
            try:
                setattr(self.model, field, self.current_state_value)
            except (AttributeError, TypeError):
                self._sf_state_field = None  # a model that cannot hold it (``object()``)

    @classmethod
    def _instance_chart(cls, providers: tuple[Any, ...], start_value: Any) -> Chart:
        compiler = cls._sf_compiler
        if compiler is None:
            return cls.chart  # raises: the class declares no states
        start = None
        if start_value is not None:
            st = cls.states_map.get(start_value)
            if st is None:
                raise InvalidDefinition(
                    f"start_value {start_value!r} is not the value of a state of {cls.__name__}",
                    path=cls.__name__,
                )
            start = st.id
        if not providers and start is None:
            return cls.chart
        shapes = tuple(Provider.of(p) for p in providers)
        key = (shapes, start)
        chart = cls._sf_variants.get(key)
        if chart is None:
            chart = cls._sf_variants[key] = compiler.variant(shapes, start)
        return chart

    @classmethod
    def restore(
        cls,
        snapshot: Snapshot,
        /,
        *args: Any,
        clock: VirtualClock | RealClock | None = None,
        **kwargs: Any,
    ) -> Self:
        """An instance resuming ``snapshot`` (configuration, history, context, timers).

        ``args``/``kwargs`` go to the class's ``__init__`` (which must call
        ``super().__init__()``); no entry callback runs.
        """
        inst = cls.__new__(cls)
        inst._sf_restore = (snapshot, clock, True)
        inst.__init__(*args, **kwargs)  # type: ignore[misc]
        return inst

    @classmethod
    def for_entity(cls, entity_id: str, snapshot: Snapshot | None = None, /, **kwargs: Any) -> Self:
        """The instance a driver runs for a durable entity, without running any callback.

        The hook of ``system.ref(MyChart, entity_id)``: with its stored ``snapshot`` it is
        :meth:`restore` (fields and configuration come back, no entry callback runs); with
        none it is a new instance that is **not started**: ``__init__`` ran (its field
        assignments are in :attr:`initial_context`), the driver binds the instance as the
        owner of its own interpreter and runs the initial step with that context, so entry
        callbacks and invocations run once, in the driver. ``kwargs`` go to ``__init__``;
        override this classmethod to derive constructor arguments from ``entity_id``.
        """
        if snapshot is not None:
            return cls.restore(snapshot, **kwargs)
        inst = cls.__new__(cls)
        inst._sf_restore = (None, kwargs.pop("clock", None), False)
        kwargs.setdefault("session_id", entity_id)
        inst.__init__(**kwargs)  # type: ignore[misc]
        return inst

    def bind(self, interpreter: Interpreter, actor: Any) -> None:
        """Be driven by ``actor`` (an actor runtime's handle) through ``interpreter``, its
        engine: callbacks run with this instance as ``self``, fields read and write the
        engine's datamodel, :meth:`send` / :meth:`raise_` go to the actor. Called by the
        runtime (again with a new engine after a restart); an instance is driven by one actor.

        Raises :class:`~statefleet.ActorError` if another actor already drives it.
        """
        current = getattr(self, "_sf_actor", None)
        if current is not None and current is not actor:
            raise ActorError(f"{self!r} is already driven by an actor ({current!r})")
        interpreter.owner = self
        self._m = interpreter
        self._sf_actor = actor
        self._sf_plain = self._sf_direct = False

    def _set_plain(self) -> None:
        """Decide ``_sf_plain`` (see :meth:`_is_plain`) and ``_sf_direct``: a plain instance
        with no results to collect and no model to keep the state in, whose event methods
        step the session themselves (see :meth:`_sf_trigger`)."""
        self._sf_plain = self._is_plain()
        self._sf_direct = self._sf_plain and not self._sf_collect and self._sf_state_field is None

    def _is_plain(self) -> bool:
        """Can an event method skip :meth:`send`'s dispatch (see :meth:`_sf_trigger`)? Not for
        an instance an actor drives, a chart with async callbacks (``await sm.send()``) or a
        class that overrides ``send``."""
        return (
            not self._sf_async
            and getattr(self, "_sf_actor", None) is None
            and type(self).send is StateChart.send
        )

    @property
    def initial_context(self) -> dict[str, Any]:
        """The datamodel an unstarted instance (:meth:`for_entity`) starts with."""
        return dict(getattr(self, "_sf_initial_context", {}))

    # -- events ------------------------------------------------------------------------------
    def send(
        self,
        event: str | EventData,
        /,
        *args: Any,
        delay: float | None = None,
        send_id: str | None = None,
        internal: bool | None = None,
        **data: Any,
    ) -> Any:
        """Send ``event`` with ``data`` as its payload (keyword arguments of the callbacks).

        Returns what python-statemachine returns: the results of the ``before`` and ``on``
        callbacks of the transition that took the event (``None`` if there were none, the
        value if one, a list otherwise); ``None`` for an event queued from inside a callback.
        A ``StateMachine`` (``allow_event_without_transition = False``) raises
        :class:`TransitionNotAllowed` when no transition took the event.

        ``delay`` is in milliseconds (python-statemachine's unit) and waits on the session's
        clock; ``send_id`` names a delayed send for :meth:`cancel_event`; ``internal=True``
        from inside a callback puts the event on the internal queue (like :meth:`raise_`).
        """
        if (
            type(event) is str
            and self._sf_plain
            and not self._busy
            and not (args or data or delay or internal)
            and send_id is None
        ):
            # the usual call, ``sm.send("go")``, goes the event method's way with the
            # event's shared payload-less EventData (~100-170 ns less than the general path)
            bare = self._sf_bare.get(event)
            if bare is not None:
                return self._sf_trigger(bare)
        if args:
            # python-statemachine's positional arguments: callbacks get them by position
            data[ARGS] = args
        actor = getattr(self, "_sf_actor", None)
        if actor is not None:  # an actor drives this instance: the event goes to its mailbox
            actor.send_nowait(event, **data)
            return None
        if delay or internal or send_id is not None:
            self._send_special(event, delay, send_id, internal, data)
            return None
        if self._sf_async and not self._busy and _in_async_code():
            # python-statemachine's async engine: ``await sm.send(...)``
            return self._send_async(event, data)
        outcome = self._sf_send(event, data)
        return outcome.value() if outcome is not None else None

    def _sf_trigger(self, event: EventData, /, *args: Any, **data: Any) -> Any:
        """An event method's call, as :meth:`send`: an event method (``sm.pay(amount=3)``)
        is a partial of this method with the event's payload-less :class:`EventData` (see
        ``_BoundEvent``). For a plain instance (no actor, async callbacks or ``send``
        override) with no model to update, it runs the step itself: one Python call before
        the engine instead of three (~15% of a plain event).

        The engine gets the bound event's own ``EventData`` when the call has no data and
        the instance is idle: an event queued from inside a callback is always a new one,
        so the outcome's identity test (see :meth:`_sf_send`) never mistakes it for the
        event being sent."""
        if self._sf_direct and not self._busy and not args and not data:
            # the usual call, tested first (a direct instance is a plain one)
            before = self._m.cfg
            try:
                # Session.send of a ready event, without its keyword dict and type dispatch
                self._send_event(event)
            except _Propagate as p:
                raise self._undone(p, before) from None
            return None
        if args or self._busy or not self._sf_plain:
            return self.send(event.name, *args, **data)
        outcome = self._sf_send(EventData(event.name, data) if data else event, _NO_DATA)
        return outcome.value() if outcome is not None else None

    def _sf_send(self, event: str | EventData, data: dict[str, Any]) -> Outcome | None:
        """Process ``event`` now; the :class:`Outcome` when the chart collects one."""
        before = self._m.cfg
        if self._busy or not self._sf_collect:
            try:
                Session.send(self, event, **data)
            except _Propagate as p:
                raise self._undone(p, before) from None
            if self._sf_state_field is not None and not self._busy:
                self._sync_model()
            return None
        ev = EventData(event, data or None) if type(event) is str and event else event
        outcome = Outcome(ev)
        self._sf_outcome = outcome
        try:
            Session.send(self, ev)
        except _Propagate as p:
            raise self._undone(p, before) from None
        finally:
            self._sf_outcome = None
            if self._sf_state_field is not None:
                self._sync_model()
        if not outcome.taken and self._sf_strict:
            name = ev.name if isinstance(ev, EventData) else str(ev)
            raise TransitionNotAllowed(self._sf_events.get(name) or Event(id=name), self._names())
        return outcome

    async def _send_async(self, event: str | EventData, data: dict[str, Any]) -> Any:
        await self.activate_initial_state()
        deferred: list[Any] = []
        self._sf_deferred = deferred
        try:
            outcome = self._sf_send(event, data)
            await self._drain(deferred, outcome)
        finally:
            self._sf_deferred = None
        return outcome.value() if outcome is not None else None

    async def _drain(self, deferred: list[Any], outcome: Outcome | None) -> None:
        """Await the async callbacks a macrostep handed over, in order (after its sync
        callbacks: statefleet's semantics); a failure is ``error.execution``."""
        while deferred:
            aw = deferred.pop(0)
            try:
                value = await aw
            except Exception as exc:
                if not type(self).catch_errors_as_events:
                    raise
                error = EventData("error.execution", {"error": str(exc)}, "platform", error=exc)
                self._sf_send(error, {})
                continue
            if outcome is not None:
                outcome.awaited[id(aw)] = value

    async def activate_initial_state(self) -> None:
        """Await the async callbacks of the initial entry (python-statemachine's; the first
        ``await sm.send(...)`` does it too). The configuration is entered already."""
        pending = _take(self, "_sf_initial", None)
        if pending:
            deferred: list[Any] = list(pending)
            self._sf_deferred = deferred
            try:
                await self._drain(deferred, None)
            finally:
                self._sf_deferred = None

    def _run_awaitable(self, aw: Any, label: str) -> None:
        # an async callback's awaitable, after the macrostep: in async code the caller of
        # ``send`` awaits it; otherwise it runs here (keeping its value for send's result)
        deferred = self._sf_deferred
        if deferred is not None:
            deferred.append(aw)
            return
        out = self._sf_outcome
        if out is not None:
            aw = recording(aw, out.awaited)
        Session._run_awaitable(self, aw, label)

    def _undone(self, p: _Propagate, before: Any) -> Exception:
        """A callback's exception left ``send`` (``catch_errors_as_events = False``, or an
        ``InvalidDefinition``): like python-statemachine, go back to the configuration the
        event found, drop what the aborted macrostep had queued internally; the exception
        to raise."""
        if not self._busy:
            m = self._m
            m.cfg = before
            if m.internal:
                m.internal = []
        return p.exc

    def _names(self) -> list[str]:
        states = self._sf_states
        return [states[i].name for i in self._m.cfg.ids if i in states]

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward, firing due delayed events in due-time order."""
        try:
            Session.advance(self, seconds)
        except _Propagate as p:
            raise p.exc from None
        finally:
            self._sync_model()

    def poll(self) -> int:
        """Fire every delayed event that is due now; return how many fired."""
        try:
            return Session.poll(self)
        except _Propagate as p:
            raise p.exc from None
        finally:
            self._sync_model()

    def _send_special(
        self,
        event: str | EventData,
        delay: float | None,
        send_id: str | None,
        internal: bool | None,
        data: dict[str, Any],
    ) -> None:
        name = event.name if isinstance(event, EventData) else event
        payload = data or None
        m = self._m
        if delay:
            if internal:
                raise ChartDefinitionError(
                    f"event {name!r} cannot be both delayed and internal", path=type(self).__name__
                )
            if not self._busy:
                m.now = self._clock.now()
            m.send(name, payload, delay=float(delay) / 1000.0, sendid=send_id)
            if not self._busy:
                self._apply_effects()
            return
        if internal and self._busy:
            m.raise_(name, payload)
            return
        if isinstance(event, EventData):
            Session.send(self, event)
        else:
            self.send(event, **data)

    def raise_(self, event: str, /, **data: Any) -> None:
        """Raise an internal event: processed within the current macrostep, before any
        external event (from outside a callback it is simply sent)."""
        if self._busy or getattr(self, "_sf_actor", None) is not None:
            self._m.raise_(event, data or None)
        else:
            self.send(event, **data)

    def bind_events_to(self, *targets: Any) -> None:
        """Give ``targets`` this machine's event methods (``user.signup()``); an attribute a
        target already has is left alone, with a warning (python-statemachine's)."""
        for event in type(self).events:
            trigger = getattr(self, event.id)
            for target in targets:
                if hasattr(target, event.id):
                    warnings.warn(
                        f"Attribute {event.id!r} already exists on {target!r}. Skipping binding.",
                        UserWarning,
                        stacklevel=2,
                    )
                    continue
                setattr(target, event.id, trigger)

    @property
    def active_listeners(self) -> list[Any]:
        """The python-statemachine observers of this instance (class-level ones first)."""
        model = self.model
        return [p for p in self._sf_providers if p is not model or model is None]

    def add_listener(self, *listeners: Any) -> Self:
        """Add listeners after creation (observers or record listeners).

        The instance continues from its current snapshot on a chart that calls the new
        observers' callbacks; nothing is entered or exited. Not while an event is being
        processed, nor for an instance an actor drives.
        """
        if self._busy or getattr(self, "_sf_actor", None) is not None:
            raise StateMachineError(
                "add_listener() needs an idle instance that no actor drives; give listeners"
                " when the instance is created"
            )
        records = [obj for obj in listeners if _is_record_listener(obj)]
        observers = tuple(obj for obj in listeners if not _is_record_listener(obj))
        providers = self._sf_providers + observers
        chart = type(self)._instance_chart(providers, None)
        snapshot = self.snapshot()
        data = self._m.context  # kept as is: the objects the instance's fields hold
        self._sf_providers = providers
        if chart is not type(self)._sf_chart:
            self._sf_ichart = chart
        self._sf_collect = bool(chart.meta.get("psm_outcome"))
        self._sf_async = bool(chart.meta.get("psm_async"))
        self._set_plain()
        Session.__init__(
            self,
            chart,
            clock=self._clock,
            listeners=[*self._listeners, *records],
            snapshot=snapshot,
        )
        self._m.context = data
        return self

    def cancel_event(self, send_id: str) -> None:
        """Cancel a delayed event sent with ``send_id`` (no-op if it already fired)."""
        self._m.cancel(send_id)
        if not self._busy:
            self._apply_effects()

    # -- inspection --------------------------------------------------------------------------
    @property
    def configuration_values(self) -> frozenset[Any]:
        """Values of the active states (``State(value=...)``, default: the state id)."""
        ids = self._m.cfg.id_set
        values = self._sf_values
        if values is None:
            return ids
        return frozenset(values.get(i, i) for i in ids)

    @property
    def current_state_value(self) -> Any:
        """The value of the only active state, or the set of values when several are."""
        vals = self.configuration_values
        if len(vals) == 1:
            return next(iter(vals))
        return vals

    @property
    def current_state(self) -> Any:
        """The only active :class:`State`, or the set of them when several are active."""
        states = self._sf_states
        active = [states[i] for i in self._m.cfg.ids]
        if len(active) == 1:
            return active[0]
        return frozenset(active)

    @property
    def is_terminated(self) -> bool:
        """True once a top-level final state was reached."""
        return not self._m.running

    @property
    def allowed_events(self) -> list[Event]:
        """Events with a transition from an active state (guards not evaluated)."""
        by_id = type(self)._sf_events
        out: dict[str, Event] = {}
        for node in self._m.cfg.ordered:
            for t in node.transitions:
                for d in t.descriptors:
                    e = by_id.get(d)
                    if e is not None:
                        out.setdefault(e.id, e)
        return list(out.values())

    def enabled_events(self) -> list[str]:
        """Events that would trigger a transition now (guards evaluated), as :class:`Event`."""
        by_id = type(self)._sf_events
        return [by_id.get(n) or Event(id=n) for n in Session.enabled_events(self)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(configuration={list(self._m.cfg.ids)!r})"


class StateMachine(StateChart):
    """python-statemachine's 2.x-style class: an exception in a callback propagates out of
    ``send`` (``catch_errors_as_events = False``) and an event no transition takes raises
    :class:`TransitionNotAllowed` (``allow_event_without_transition = False``)."""

    catch_errors_as_events: ClassVar[bool] = False
    allow_event_without_transition: ClassVar[bool] = False
