"""Deciding a span's sampling before starting it, where that is exact.

A span the sampler drops records nothing, yet the SDK's ``start_span`` still costs several
microseconds for it (contexts, the sampler's result objects, a span context). For the
samplers whose decision is known from the trace id and the parent's flags alone (the SDK's
``ALWAYS_ON``/``ALWAYS_OFF``, ``TraceIdRatioBased`` and ``ParentBased`` made of those), the
listener decides itself: a dropped span becomes an :class:`Unsampled` span (its trace id, the
parent's or one from the provider's id generator, a span id made when first needed, the
unsampled flag), which propagates a valid context so that what the step sends stays in the
same trace and unsampled. Any other sampler, a sampled decision and anything unusual in the
incoming context (a ``tracestate``, a future ``traceparent`` version) go through the SDK.

For a root span the shortcut draws the trace id itself; when that id is sampled, the SDK must
start the span with that very id (or the sampling rate would be the rate squared), so the
tracer's id generator is wrapped once in a :class:`_PresetIds` that hands the SDK the id drawn
(per thread). If the SDK is seen not to use it, the root shortcut turns itself off.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

__all__ = ["Shortcut", "Unsampled", "parse_traceparent", "shortcut_for"]

#: the ``traceparent`` this module parses itself (version 00, nothing after the flags); any
#: other form goes through the SDK's propagator
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

#: a decision known from the trace id alone: True = sampled (or recorded), False = dropped
Decide = Callable[[int], bool]


def parse_traceparent(trace: dict[str, str]) -> tuple[int, int] | None:
    """``(trace id, trace flags)`` of the W3C context ``trace`` carries, when this module can
    read it exactly as the SDK's propagator would (a version-00 ``traceparent`` with non-zero
    ids and no ``tracestate``); None otherwise (the caller uses the propagator)."""
    header = trace.get("traceparent")
    if type(header) is not str or "tracestate" in trace:
        return None
    m = _TRACEPARENT.fullmatch(header)
    if m is None:
        return None
    tid, sid, flags = m.groups()
    if tid == _ZERO_TRACE or sid == _ZERO_SPAN:
        return None
    return int(tid, 16), int(flags, 16)


class Unsampled(NonRecordingSpan):
    """A span the sampler drops, decided without the SDK: it records nothing, and carries a
    valid unsampled context (trace id, span id made when first needed, flags)."""

    # made on first use (class defaults until then)
    _span_id = 0
    _sc: SpanContext | None = None
    _headers: dict[str, str] | None = None

    def __init__(self, ids: Any, trace_id: int, flags: int) -> None:
        # NonRecordingSpan's context is built only when somebody asks for it
        self._ids = ids
        self._trace_id = trace_id
        self._flags = flags

    @property
    def trace_id(self) -> int:
        """The trace id (the parent's, or drawn for a root)."""
        return self._trace_id

    @property
    def flags(self) -> int:
        """The W3C trace flags (never the sampled bit)."""
        return self._flags

    def _span(self) -> int:
        sid = self._span_id
        if not sid:
            sid = self._span_id = self._ids.generate_span_id()
        return sid

    def get_span_context(self) -> SpanContext:
        """The span's context (not remote, not sampled), built on first use."""
        sc = self._sc
        if sc is None:
            sc = self._sc = SpanContext(
                self._trace_id, self._span(), is_remote=False, trace_flags=TraceFlags(self._flags)
            )
        return sc

    def headers(self) -> dict[str, str]:
        """The W3C ``traceparent`` of this span (formatted on first use)."""
        h = self._headers
        if h is None:
            tp = f"00-{self._trace_id:032x}-{self._span():016x}-{self._flags:02x}"
            h = self._headers = {"traceparent": tp}
        return h

    def __repr__(self) -> str:
        return f"Unsampled(trace_id={self._trace_id:032x})"


class _PresetIds:
    """The tracer's id generator, handing out a trace id drawn in advance (per thread) once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._local = threading.local()
        #: a new trace id from the wrapped generator (not preset)
        self.draw: Callable[[], int] = inner.generate_trace_id

    def preset(self, trace_id: int | None) -> None:
        """The next ``generate_trace_id()`` in this thread returns ``trace_id`` (None: the
        wrapped generator's)."""
        self._local.next = trace_id

    def generate_trace_id(self) -> int:
        """The preset id, once; otherwise the wrapped generator's."""
        local = self._local
        tid: int | None = getattr(local, "next", None)
        if tid is not None:
            local.next = None
            return tid
        return int(self.inner.generate_trace_id())

    def generate_span_id(self) -> int:
        """The wrapped generator's span id."""
        return int(self.inner.generate_span_id())

    def is_trace_id_random(self) -> bool:
        """As the wrapped generator says (older SDKs have no such method: False)."""
        fn = getattr(self.inner, "is_trace_id_random", None)
        return bool(fn()) if fn is not None else False


class Shortcut:
    """What the listener may decide without the SDK for one SDK tracer (see the module doc).

    ``root`` decides a root span from the trace id it draws; ``child[(remote, sampled)]``
    decides a child of a parent that is remote or local, sampled or not, from the parent's
    trace id. None where the SDK must be asked.
    """

    def __init__(
        self,
        ids: _PresetIds,
        root: Decide | None,
        child: dict[tuple[bool, bool], Decide | None],
        random_flag: int | None,
    ) -> None:
        self.ids = ids
        self.root = root
        self.child = child
        #: the W3C random-trace-id flag, in SDKs that set it (None: they do not)
        self._random = random_flag
        self._root_flags = (
            random_flag if random_flag is not None and ids.is_trace_id_random() else 0
        )

    def drops(self, remote: bool, trace_id: int, parent_flags: int) -> bool:
        """Is a child of a (``remote`` or local) parent with ``trace_id`` and
        ``parent_flags`` certainly dropped?"""
        decide = self.child[(remote, bool(parent_flags & 1))]
        return decide is not None and not decide(trace_id)

    def drops_child(self, remote: bool, trace_id: int, parent_flags: int) -> Unsampled | None:
        """The dropped span of a child of a parent with ``trace_id`` and ``parent_flags``
        (flags as the SDK sets them), or None if the sampler keeps it or must be asked."""
        if not self.drops(remote, trace_id, parent_flags):
            return None
        rnd = self._random
        return Unsampled(self.ids, trace_id, parent_flags & rnd if rnd is not None else 0)

    def start_root(self, start: Callable[..., Any], *args: Any) -> Any:
        """A root span: an :class:`Unsampled` span if the root sampler drops it, else
        ``start(*args)`` (the SDK), which gets the trace id the decision was made on."""
        assert self.root is not None
        ids = self.ids
        tid = ids.draw()
        if not self.root(tid):
            return Unsampled(ids, tid, self._root_flags)
        ids.preset(tid)
        try:
            span = start(*args)
        finally:
            ids.preset(None)
        if span.get_span_context().trace_id != tid:  # pragma: no cover - an SDK we do not know
            self.root = None
        return span


def _never(trace_id: int) -> bool:
    return False


def _decider(sampler: Any, sampling: Any) -> Decide | None:
    """A decision function for the SDK's own samplers that may drop a span and decide from
    the trace id alone (exact types only: a subclass may decide otherwise); None for the
    others, and for one that keeps every span (the SDK starts it anyway)."""
    if type(sampler) is sampling.StaticSampler:
        # only DROP describes itself so; ALWAYS_ON (or RECORD_ONLY) keeps every span
        return _never if sampler.get_description() == "AlwaysOffSampler" else None
    if type(sampler) is sampling.TraceIdRatioBased:
        bound = int(sampler.bound)
        limit = int(sampling.TraceIdRatioBased.TRACE_ID_LIMIT)
        return lambda tid: (tid & limit) < bound
    return None


#: where the SDK's ``ParentBased`` keeps its delegates, per (remote, sampled) parent
_DELEGATES = {
    (True, True): "_remote_parent_sampled",
    (True, False): "_remote_parent_not_sampled",
    (False, True): "_local_parent_sampled",
    (False, False): "_local_parent_not_sampled",
}


def shortcut_for(tracer: Any) -> Shortcut | None:
    """The :class:`Shortcut` for ``tracer``, or None when it is not an SDK tracer with a
    sampler whose decisions are known (or the SDK counts its own spans: every span must then
    go through it)."""
    sdk = sys.modules.get("opentelemetry.sdk.trace")
    if sdk is None or type(tracer) is not getattr(sdk, "Tracer", None):
        return None
    if os.environ.get("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "").strip().lower() == "true":
        return None
    sampling = getattr(sdk, "sampling", None)
    sampler = getattr(tracer, "sampler", None)
    ids = getattr(tracer, "id_generator", None)
    if sampling is None or sampler is None or ids is None:
        return None
    if type(sampler) is sampling.ParentBased:
        # the delegates are read where the SDK keeps them; anything else: asked
        root_s = getattr(sampler, "_root", None)
        root = _decider(root_s, sampling) if root_s is not None else None
        child: dict[tuple[bool, bool], Decide | None] = {}
        for key, attr in _DELEGATES.items():
            d = getattr(sampler, attr, None)
            child[key] = _decider(d, sampling) if d is not None else None
    else:
        # a sampler that ignores the parent decides a child from the trace id it keeps
        root = _decider(sampler, sampling)
        child = dict.fromkeys(_DELEGATES, root)
    if root is None and not any(child.values()):
        return None
    if not isinstance(ids, _PresetIds):
        ids = tracer.id_generator = _PresetIds(ids)
    # SDKs that set the W3C random-trace-id flag ask their id generator whether ids are random
    random_flag = (
        getattr(TraceFlags, "RANDOM_TRACE_ID", None)
        if hasattr(getattr(sdk, "IdGenerator", None), "is_trace_id_random")
        else None
    )
    return Shortcut(ids, root, child, random_flag)
