"""The request and response bodies of the HTTP API (msgspec Structs: validated on the way
in, and the OpenAPI schema is generated from them)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from statefleet.persistence import JournalEntry

__all__ = [
    "Accepted",
    "ActorDetail",
    "ActorPage",
    "ActorSummary",
    "AskResponse",
    "EntityEventRequest",
    "EntityEventResponse",
    "EventName",
    "EventRequest",
    "HistoryResponse",
    "MachineCreate",
    "MachineInfo",
    "MachineList",
    "ProcessRequest",
    "ProcessResponse",
    "TimerInfo",
    "ValidateRequest",
    "ValidateResponse",
]

#: an event (trigger) name: 1 to 200 characters
EventName = Annotated[str, Meta(min_length=1, max_length=200)]
#: a chart (machine) id or version
ChartName = Annotated[str, Meta(min_length=1, max_length=200)]


# -- pystator-compatible ------------------------------------------------------------------
class ValidateRequest(msgspec.Struct, kw_only=True):
    """``POST /api/v1/validate``: a pystator machine config (the parsed YAML/JSON)."""

    config: dict[str, Any]


class ValidateResponse(msgspec.Struct, kw_only=True):
    """Whether the config is a valid machine, and what is wrong with it."""

    valid: bool
    errors: list[str]


class ProcessRequest(msgspec.Struct, kw_only=True):
    """``POST /api/v1/process``: one stateless transition of a machine config."""

    config: dict[str, Any]
    current_state: Annotated[str, Meta(min_length=1, max_length=200)]
    trigger: EventName
    context: dict[str, Any] = msgspec.field(default_factory=dict)


class ProcessResponse(msgspec.Struct, kw_only=True):
    """The transition's outcome: ``success`` false (still 200) when no transition was
    taken, ``error`` then names why (``invalid_transition``, ``guard_rejected``, ...) and
    ``metadata`` gives the details."""

    success: bool
    source_state: str | None
    target_state: str | None
    trigger: str
    actions: list[str]
    error: str | None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class MachineInfo(msgspec.Struct, kw_only=True):
    """A registered machine (chart)."""

    name: str
    version: str
    states: list[str]
    triggers: list[str]


class MachineList(msgspec.Struct, kw_only=True):
    """``GET /api/v1/machines``."""

    machines: list[MachineInfo]
    total: int


class MachineCreate(msgspec.Struct, kw_only=True):
    """``POST /api/v1/machines``: register a pystator machine config with the system."""

    config: dict[str, Any]


class EntityEventRequest(msgspec.Struct, kw_only=True):
    """``POST /api/v1/entities/{id}/events``: pystator's entity event body.
    ``machine_name`` is needed to create an entity; for a stored one it must match."""

    trigger: EventName
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    machine_name: ChartName | None = None
    machine_version: ChartName | None = None


class EntityEventResponse(msgspec.Struct, kw_only=True):
    """The entity's transition, persisted: its state before and after."""

    entity_id: str
    machine_name: str
    machine_version: str
    trigger: str
    success: bool
    source_state: str | None
    target_state: str | None
    error: str | None
    context: dict[str, Any]


# -- actors -------------------------------------------------------------------------------
class ActorSummary(msgspec.Struct, kw_only=True):
    """One stored actor in a listing."""

    id: str
    chart_id: str
    chart_version: str
    version: int
    status: str
    configuration: list[str]


class ActorPage(msgspec.Struct, kw_only=True):
    """A page of actors; pass ``next_cursor`` as ``cursor`` for the next (``null``: done)."""

    items: list[ActorSummary]
    next_cursor: str | None


class TimerInfo(msgspec.Struct, kw_only=True):
    """A pending delayed event of an actor."""

    sendid: str
    event: str
    due: float
    target: str | None


class ActorDetail(ActorSummary, kw_only=True):
    """``GET /api/v1/actors/{id}``: the stored actor, its timers and enabled events."""

    context: dict[str, Any]
    timers: list[TimerInfo]
    enabled_events: list[str]
    snapshot: dict[str, Any]


class EventRequest(msgspec.Struct, kw_only=True):
    """An event for an actor; ``chart`` (a registered chart id) creates the actor when it
    does not exist (without it, an unknown actor is a 404)."""

    event: EventName
    data: Any = None
    chart: ChartName | None = None


class Accepted(msgspec.Struct, kw_only=True):
    """``202``: the event is durably in the actor's inbox."""

    actor_id: str
    event: str
    accepted: bool = True


class AskResponse(msgspec.Struct, kw_only=True):
    """The actor after the event's macrostep was committed."""

    actor_id: str
    handled: bool
    configuration: list[str]
    snapshot: dict[str, Any]


class HistoryResponse(msgspec.Struct, kw_only=True):
    """An actor's journal, oldest first."""

    actor_id: str
    items: list[JournalEntry]
