"""Request-to-actor trace propagation: a W3C ``traceparent`` (and ``tracestate``) header of
the request becomes the trace context of the event it sends, so the actor's macrostep span
is a child of the caller's span (through the durable inbox too)."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["trace_context"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACESTATE_MAX = 512


def trace_context(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The trace context to give an event (``EventData(trace=...)``) from request
    ``headers``: ``traceparent`` when it is well formed (W3C Trace Context, not all-zero
    ids), with ``tracestate`` when present and short; ``None`` otherwise."""
    parent = headers.get("traceparent")
    if not parent:
        return None
    parent = parent.strip().lower()
    if not _TRACEPARENT.fullmatch(parent):
        return None
    _, trace_id, span_id, _ = parent.split("-")
    if trace_id == "0" * 32 or span_id == "0" * 16 or parent.startswith("ff-"):
        return None
    out = {"traceparent": parent}
    state = headers.get("tracestate")
    if state and len(state) <= _TRACESTATE_MAX and state.isprintable():
        out["tracestate"] = state
    return out
