"""Events as the engine sees them, and SCXML event-descriptor matching."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["EventData", "descriptor_matches", "parse_descriptors"]


class EventData(msgspec.Struct, frozen=True, omit_defaults=True):
    """One event, as delivered to a chart (SCXML's ``_event``).

    ``type`` is ``"external"``, ``"internal"`` or ``"platform"``. ``sendid``, ``origin``,
    ``origintype`` and ``invokeid`` follow SCXML. ``error`` is the exception carried by an
    ``error.*`` event raised by the engine (never serialized: error events never outlive the
    macrostep that raised them). ``trace`` carries trace context across actors and restarts.
    """

    name: str
    data: Any = None
    type: str = "external"
    sendid: str | None = None
    origin: str | None = None
    origintype: str | None = None
    invokeid: str | None = None
    trace: dict[str, str] | None = None
    error: Any = msgspec.field(default=None)

    def __repr__(self) -> str:
        return f"EventData({self.name!r}, data={self.data!r})"


def parse_descriptors(spec: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Normalise an SCXML ``event`` attribute into a tuple of descriptors.

    ``"a b.*"`` -> ``("a", "b")``; a trailing ``.*`` or ``.`` is dropped (it means the same
    as the prefix); ``"*"`` stays ``"*"``.
    """
    if spec is None:
        return ()
    parts = spec.split() if isinstance(spec, str) else [p for s in spec for p in s.split()]
    out: list[str] = []
    for p in parts:
        if p != "*":
            if p.endswith(".*"):
                p = p[:-2]
            # ".*" (or ".") has an empty prefix: it matches every event, like "*"
            p = p.rstrip(".") or "*"
        if p and p not in out:
            out.append(p)
    return tuple(out)


def descriptor_matches(descriptors: tuple[str, ...], name: str) -> bool:
    """SCXML 3.12.1: a descriptor matches a name equal to it or starting with it plus ``.``."""
    for d in descriptors:
        if d in ("*", name):
            return True
        if name.startswith(d) and name[len(d)] == ".":
            return True
    return False
