"""Recording what is sent to an entity, to replay it: pystator's ``EventRecorder``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from statefleet.compat.pystator._model import ModelError

if TYPE_CHECKING:
    from statefleet.compat.pystator._machine import StateMachine
    from statefleet.compat.pystator._results import TransitionResult
    from statefleet.compat.pystator._session import EntitySession

__all__ = ["EventRecorder", "RecordedEvent"]


@dataclass(frozen=True)
class RecordedEvent:
    """One trigger sent: its ``payload`` and the session clock's time (``timestamp``)."""

    trigger: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_dict` reads it back)."""
        return {"trigger": self.trigger, "payload": dict(self.payload), "timestamp": self.timestamp}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordedEvent:
        """The event of a :meth:`to_dict` dict; :class:`ModelError` if it is not one."""
        trigger, payload = data.get("trigger"), data.get("payload") or {}
        stamp = data.get("timestamp", 0.0)
        if not isinstance(trigger, str) or not trigger or not isinstance(payload, Mapping):
            raise ModelError(
                f"a recorded event has a trigger and a payload mapping, got {dict(data)!r}",
                path="RecordedEvent",
            )
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise ModelError(f"a timestamp is a number, got {stamp!r}", path="RecordedEvent")
        return cls(trigger, dict(payload), float(stamp))


class EventRecorder:
    """Sends through ``session`` and records each trigger, to replay them on another
    session (a test, a debugging run): ``recorder = session.record()``."""

    def __init__(self, session: EntitySession) -> None:
        self._session = session
        self._events: list[RecordedEvent] = []
        self._initial_context = dict(session.context)
        self._initial_state = session.current_state

    @property
    def instance(self) -> EntitySession:
        """The session recorded."""
        return self._session

    @property
    def events(self) -> list[RecordedEvent]:
        """The triggers sent, in order."""
        return list(self._events)

    def send(self, trigger: str, /, **payload: Any) -> TransitionResult:
        """Record ``trigger`` and send it to the session."""
        self._events.append(RecordedEvent(trigger, dict(payload), self._session.now))
        return self._session.send(trigger, **payload)

    def replay(self, target: StateMachine | EntitySession) -> EntitySession:
        """Send every recorded trigger again: into ``target`` when it is a session, else into
        a new session of the machine ``target``, started where the recording started."""
        from statefleet.compat.pystator._session import EntitySession

        if isinstance(target, EntitySession):
            session = target
        else:
            session = target.create(
                context=dict(self._initial_context), initial_state=self._initial_state
            )
        for e in self._events:
            session.send(e.trigger, **e.payload)
        return session

    def to_dict(self) -> dict[str, Any]:
        """The recording as a JSON-ready dict."""
        return {
            "initial_state": self._initial_state,
            "initial_context": dict(self._initial_context),
            "events": [e.to_dict() for e in self._events],
        }
