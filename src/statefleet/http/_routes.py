"""The route handlers: HTTP in, :class:`~statefleet.http._api.Api` calls, JSON out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from statefleet.compat.pystator import StateMachine
from statefleet.core import Chart, RecordsDropped, Snapshot
from statefleet.http._api import Api, builtins, event, leaves, machine_info
from statefleet.http._models import (
    Accepted,
    ActorDetail,
    ActorPage,
    AskResponse,
    EntityEventRequest,
    EntityEventResponse,
    EventRequest,
    HistoryResponse,
    MachineCreate,
    MachineInfo,
    MachineList,
    ProcessRequest,
    ProcessResponse,
    ValidateRequest,
    ValidateResponse,
)
from statefleet.http._problems import ApiError
from statefleet.http._trace import trace_context

__all__ = ["ROUTES"]

ActorId = Annotated[str, Parameter(min_length=1, max_length=200, description="the actor id")]
Name = Annotated[str | None, Parameter(max_length=200)]


def _api(state: State) -> Api:
    api: Api = state.statefleet
    return api


# -- pystator-compatible ------------------------------------------------------------------
@post("/api/v1/validate", status_code=HTTP_200_OK, tags=["pystator"])
async def validate(data: JSONBody[ValidateRequest]) -> ValidateResponse:
    """Check a pystator machine config: ``valid`` and the errors found."""
    errors = StateMachine.validate_config(data.config)
    return ValidateResponse(valid=not errors, errors=errors)


@post("/api/v1/process", status_code=HTTP_200_OK, tags=["pystator"])
async def process(data: JSONBody[ProcessRequest]) -> ProcessResponse:
    """One stateless transition (nothing is stored): a rejected guard or an undefined
    transition is ``success: false`` with the error, still ``200``."""
    machine = StateMachine.from_dict(data.config)
    result = machine.process(data.current_state, data.trigger, data.context)
    return ProcessResponse(
        success=result.success,
        source_state=result.source_state,
        target_state=result.target_state,
        trigger=result.trigger,
        actions=result.action_names,
        error=None if result.success else str(result.metadata.get("reason", "error")),
        metadata=builtins(result.metadata) if not result.success else {},
    )


@get("/api/v1/machines", tags=["pystator"])
async def machines(state: State) -> MachineList:
    """The registered machines (charts): those the system was given and those registered
    through ``POST /api/v1/machines``."""
    api = _api(state)
    charts = {(c.id, c.version): c for c in api.system.charts.values()}
    charts.update(api.machines)
    out = [machine_info(c) for _, c in sorted(charts.items())]
    return MachineList(machines=out, total=len(out))


@post("/api/v1/machines", status_code=HTTP_201_CREATED, tags=["pystator"])
async def create_machine(state: State, data: JSONBody[MachineCreate]) -> MachineInfo:
    """Register a pystator machine config (in this process: it is not stored)."""
    api = _api(state)
    api.check_writable()
    machine = StateMachine.from_dict(data.config)
    api.register(machine.chart)
    return machine_info(machine.chart)


@post("/api/v1/entities/{entity_id:str}/events", status_code=HTTP_200_OK, tags=["pystator"])
async def entity_event(
    state: State,
    request: Request[Any, Any, Any],
    entity_id: ActorId,
    data: JSONBody[EntityEventRequest],
) -> EntityEventResponse:
    """Send ``trigger`` to the entity (created at the machine's initial state when it does
    not exist and ``machine_name`` is given); the new state is persisted with its history
    before the answer."""
    api = _api(state)
    api.check_writable()
    chart, record = await api.target(entity_id, data.machine_name)
    if data.machine_version is not None:
        running = record.snapshot.chart_version if record is not None else chart.version
        if running != data.machine_version:
            raise ApiError(
                409,
                "MachineVersionMismatch",
                f"entity {entity_id!r} runs {chart.id!r} version {running!r},"
                f" not {data.machine_version!r}",
            )
    if record is not None and record.status != "active":
        return _entity_reply(
            entity_id, chart, data.trigger, record.snapshot, None, "terminal_state"
        )
    ref = api.system.ref(chart, entity_id)
    if record is None:
        await ref.activate()  # created at its initial state (and stored) first
        before = await ref.read()
    else:
        before = record.snapshot
    reply = await ref.try_ask(event(data.trigger, data.context, trace_context(request.headers)))
    if not reply.handled:
        return _entity_reply(entity_id, chart, data.trigger, before, None, "invalid_transition")
    return _entity_reply(entity_id, chart, data.trigger, before, reply.snapshot, None)


def _entity_reply(
    entity_id: str,
    chart: Chart,
    trigger: str,
    before: Snapshot,
    after: Snapshot | None,
    error: str | None,
) -> EntityEventResponse:
    """pystator's answer: the state before, the state after (``None`` when no transition
    was taken, then ``error`` says why) and the entity's context."""
    now = after if after is not None else before
    return EntityEventResponse(
        entity_id=entity_id,
        machine_name=chart.id,
        machine_version=now.chart_version,
        trigger=trigger,
        success=after is not None,
        source_state=_state_name(chart, before),
        target_state=_state_name(chart, after) if after is not None else None,
        error=error,
        context=builtins(now.context),
    )


def _state_name(chart: Chart, snap: Snapshot) -> str | None:
    """A pystator state name: the active leaf state (several, comma-separated, in parallel
    regions)."""
    return ",".join(leaves(chart, snap.configuration)) or None


# -- actors -------------------------------------------------------------------------------
@get("/api/v1/actors", tags=["actors"])
async def list_actors(
    state: State,
    chart: Name = None,
    state_: Annotated[str | None, QueryParameter(name="state", max_length=200)] = None,
    status: Name = None,
    cursor: Annotated[str, Parameter(max_length=200)] = "",
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
) -> ActorPage:
    """Stored actors in id order, filtered by ``chart``, active ``state`` and ``status``;
    paged: pass ``next_cursor`` back as ``cursor``."""
    items, nxt = await _api(state).listing(
        chart=chart, state=state_, status=status, cursor=cursor, limit=limit
    )
    return ActorPage(items=items, next_cursor=nxt)


@get("/api/v1/actors/{actor_id:str}", tags=["actors"])
async def get_actor(state: State, actor_id: ActorId) -> ActorDetail:
    """The stored actor: snapshot, status, pending timers and the events enabled now
    (``404`` for an unknown id; nothing is created or activated)."""
    return await _api(state).detail(actor_id)


@post("/api/v1/actors/{actor_id:str}/events", status_code=HTTP_202_ACCEPTED, tags=["actors"])
async def send_event(
    state: State, request: Request[Any, Any, Any], actor_id: ActorId, data: JSONBody[EventRequest]
) -> Accepted:
    """Send an event: ``202`` once it is durably in the actor's inbox."""
    api = _api(state)
    api.check_writable()
    chart, record = await api.target(actor_id, data.chart)
    api.check_active(actor_id, record)
    await api.system.ref(chart, actor_id).send(
        event(data.event, data.data, trace_context(request.headers))
    )
    return Accepted(actor_id=actor_id, event=data.event)


@post("/api/v1/actors/{actor_id:str}/ask", status_code=HTTP_200_OK, tags=["actors"])
async def ask(
    state: State, request: Request[Any, Any, Any], actor_id: ActorId, data: JSONBody[EventRequest]
) -> AskResponse:
    """Send an event and answer once its macrostep is committed, with the new snapshot;
    ``409`` when no transition takes it (nothing changes)."""
    api = _api(state)
    api.check_writable()
    chart, record = await api.target(actor_id, data.chart)
    api.check_active(actor_id, record)
    ref = api.system.ref(chart, actor_id)
    reply = await ref.try_ask(event(data.event, data.data, trace_context(request.headers)))
    if not reply.handled:
        raise ApiError(
            409,
            "EventNotEnabled",
            f"no transition of actor {actor_id!r} takes {data.event!r} in"
            f" {', '.join(reply.snapshot.configuration) or 'its configuration'}",
            extra={"enabled_events": await ref.enabled_events()},
        )
    return AskResponse(
        actor_id=actor_id,
        handled=True,
        configuration=list(reply.snapshot.configuration),
        snapshot=builtins(reply.snapshot),
    )


@get("/api/v1/actors/{actor_id:str}/history", tags=["actors"])
async def history(
    state: State,
    actor_id: ActorId,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Parameter(ge=0, le=2**62)] = None,
) -> HistoryResponse:
    """The actor's journal of committed macrosteps, oldest first (the last ``limit``, with
    a version below ``before`` to page back); ``404`` for an unknown actor."""
    api = _api(state)
    items = await api.store.history(actor_id, limit=limit, before=before)
    if not items:
        await api.record(actor_id)  # 404 unless it exists
    return HistoryResponse(actor_id=actor_id, items=items)


@get("/api/v1/stream", tags=["actors"])
async def stream(
    state: State,
    actor: Name = None,
    limit: Annotated[int | None, Parameter(ge=1, le=1_000_000)] = None,
    buffer: Annotated[int, Parameter(ge=1, le=65536)] = 1024,
) -> ServerSentEvent:
    """The records the system publishes (Server-Sent Events, ``event:`` the record type,
    ``data:`` the record as JSON), from now on; first a ``ready`` event. A slow client never
    slows the actors: past ``buffer`` records it loses some and gets a ``RecordsDropped``
    saying how many. ``actor`` keeps one actor's records; ``limit`` ends the stream after
    that many."""
    system = _api(state).system

    async def records() -> AsyncIterator[ServerSentEventMessage]:
        async with system.inspect(buffer) as inspection:
            yield ServerSentEventMessage(event="ready", data="{}")
            n = 0
            async for r in inspection:
                if actor is not None and r.actor != actor and type(r) is not RecordsDropped:
                    continue
                data = msgspec.json.encode(r, enc_hook=repr).decode()
                yield ServerSentEventMessage(event=type(r).__name__, data=data)
                n += 1
                if limit is not None and n >= limit:
                    return

    return ServerSentEvent(records())


ROUTES = [
    validate,
    process,
    machines,
    create_machine,
    entity_event,
    list_actors,
    get_actor,
    send_event,
    ask,
    history,
    stream,
]
