"""hsm's events with a kind and an id: ``hsm.Event(name, data, kind=..., id=...)``.

hsm tells events apart by kind (``EventKind``, ``ChangeEventKind`` for attribute changes,
``CallEventKind`` for operation calls, ``ErrorEventKind``, ``TimeEventKind``,
``CompletionEventKind``), kinds made with ``MakeKind(*bases)`` and compared with
``IsKind(kind, *bases)``. Under ``hsm.start`` the events behaviours receive carry the kind
their name implies (see :func:`kind_of`); an event's ``id`` is kept on the object a program
builds, not through the engine.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from statefleet.formats._builder import Event as _BuilderEvent

__all__ = [
    "CallEventKind",
    "ChangeEventKind",
    "CompletionEventKind",
    "ElementKind",
    "ErrorEventKind",
    "Event",
    "EventKind",
    "TimeEventKind",
    "is_kind",
    "kind_of",
    "make_kind",
]

_next = itertools.count(1)
#: each kind's bases, itself included (kinds are made once, at import or by a program)
_bases: dict[int, frozenset[int]] = {}


def make_kind(*bases: int) -> int:
    """A new kind deriving from ``bases`` (hsm's ``MakeKind``)."""
    kind = next(_next)
    inherited: set[int] = {kind}
    for base in bases:
        inherited |= _bases.get(base, {base})
    _bases[kind] = frozenset(inherited)
    return kind


def is_kind(kind: int, *bases: int) -> bool:
    """True if ``kind`` is one of ``bases`` or derives from one (hsm's ``IsKind``)."""
    mine = _bases.get(kind, frozenset({kind}))
    return any(base in mine for base in bases)


ElementKind = make_kind()
EventKind = make_kind(ElementKind)
CompletionEventKind = make_kind(EventKind)
ChangeEventKind = make_kind(EventKind)
CallEventKind = make_kind(EventKind)
TimeEventKind = make_kind(EventKind)
ErrorEventKind = make_kind(CompletionEventKind)


@dataclass(frozen=True, slots=True)
class Event(_BuilderEvent):
    """An event: ``Event("inc")``, ``Event("order", data={"id": 7})`` (hsm's ``hsm.Event``),
    with hsm's ``kind`` and ``id``; ``Kind``/``ID`` and ``WithData``/``WithDataAndID`` as hsm
    spells them."""

    kind: int = EventKind
    id: str = ""

    @property
    def Kind(self) -> int:
        """The event's kind."""
        return self.kind

    @property
    def ID(self) -> str:
        """The event's id (``""`` if none was given)."""
        return self.id

    def with_data(self, data: Any) -> Event:
        """A copy carrying ``data`` (hsm's ``WithData``)."""
        return Event(self.name, data, self.error, self.kind, self.id)

    def with_data_and_id(self, data: Any, id: str) -> Event:
        """A copy carrying ``data`` and ``id`` (hsm's ``WithDataAndID``)."""
        return Event(self.name, data, self.error, self.kind, id)

    WithData = with_data
    WithDataAndID = with_data_and_id


def kind_of(name: str, machine: str) -> int:
    """The kind hsm gives an event named ``name`` in machine ``machine``."""
    if name == "error" or name.startswith("error."):
        return ErrorEventKind
    if name.startswith(f"/{machine}/"):
        return CallEventKind if name.endswith(".call") else ChangeEventKind
    if name.startswith("done."):
        return CompletionEventKind
    if name.startswith("$after."):  # the core's timer events (after, every, at)
        return TimeEventKind
    return EventKind


def with_kind(event: _BuilderEvent, machine: str) -> Event:
    """``event`` as an :class:`Event` with the kind its name implies."""
    if isinstance(event, Event):
        return event
    return Event(event.name, event.data, event.error, kind_of(event.name, machine))
