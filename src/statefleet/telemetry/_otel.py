"""OpenTelemetry listener: spans and metrics from inspection records.

Only ``opentelemetry-api`` is imported; the application chooses the SDK and exporters. The
library never sets a global provider: pass providers explicitly or the global ones are used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context, get_current
from opentelemetry.metrics import Observation
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    Status,
    StatusCode,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from statefleet.core import (
    ActionFailed,
    ActorEscalated,
    ActorRestarted,
    ActorSpawned,
    ActorStopped,
    EventData,
    InvocationCancelled,
    InvocationDone,
    InvocationFailed,
    InvocationStarted,
    MacrostepRecord,
    Record,
    SnapshotCommitted,
)
from statefleet.telemetry import attributes as A
from statefleet.telemetry._sampling import Unsampled, parse_traceparent, shortcut_for

__all__ = ["OpenTelemetry"]

_VERSION = "0.1.0"
_PROPAGATOR = TraceContextTextMapPropagator()


#: the records :meth:`OpenTelemetry.on_record` handles (its ``record_types``)
_HANDLED: tuple[type, ...] = (
    MacrostepRecord,
    ActorSpawned,
    ActorStopped,
    ActorRestarted,
    ActorEscalated,
    ActionFailed,
    InvocationStarted,
    InvocationDone,
    InvocationFailed,
    InvocationCancelled,
    SnapshotCommitted,
)


def _is_noop(provided: Any) -> bool:
    """A no-op tracer or meter, directly or behind the API's proxy with no SDK installed."""
    if isinstance(provided, trace.NoOpTracer | metrics.NoOpMeter):
        return True
    real = getattr(provided, "_real_tracer", getattr(provided, "_real_meter", provided))
    return real is None and type(provided).__name__ in ("ProxyTracer", "_ProxyMeter")


def _headers(sc: SpanContext) -> dict[str, str] | None:
    """W3C trace headers for ``sc`` (what the propagator writes, without building a
    context for it: this runs for every macrostep, sampled or not)."""
    if not sc.is_valid:
        return None
    headers = {"traceparent": f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"}
    if sc.trace_state:
        headers["tracestate"] = sc.trace_state.to_header()
    return headers


def _span_headers(span: Span) -> dict[str, str] | None:
    """W3C trace headers of ``span``."""
    if type(span) is Unsampled:
        return span.headers()
    return _headers(span.get_span_context())


def _ns(seconds_ago: float) -> int:
    return time.time_ns() - int(seconds_ago * 1e9)


class OpenTelemetry:
    """A listener turning statefleet records into OpenTelemetry spans and metrics.

    - one span per macrostep, named ``statefleet.macrostep <chart id>``, with the actor, chart,
      event, configuration before/after, microstep count and snapshot version as attributes,
      and one ``statefleet.transition`` span event per microstep; errors are recorded on the
      span with status ERROR;
    - spans for spawn, invocations (linked to the invoking macrostep rather than parented, so a
      long invocation holds no trace open), commits and restarts;
    - metrics: events processed, macrostep duration, active actors, restarts, errors, commit
      latency and batch size.

    Trace context crosses actors: drivers ask :meth:`trace_headers` for the W3C
    ``traceparent`` of an actor's last macrostep and stamp it on the events it sends, so the
    receiving macrostep's span is a child of the sender's (also after a restart, as the headers
    are stored with delayed events).
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer("statefleet", _VERSION, tracer_provider=tracer_provider)
        meter = metrics.get_meter("statefleet", _VERSION, meter_provider=meter_provider)
        #: events processed per (chart, event name): counted here, reported at collection
        #: (an observable counter), so a macrostep costs a dict increment, not a measurement
        self._counts: dict[tuple[str, str], int] = {}
        meter.create_observable_counter(
            A.METRIC_EVENTS,
            callbacks=[self._event_counts],
            unit="{event}",
            description="events processed (macrosteps)",
        )
        self._chart_labels: dict[str, dict[str, str]] = {}
        self._duration = meter.create_histogram(
            A.METRIC_MACROSTEP_DURATION, unit="s", description="macrostep duration"
        )
        self._active = meter.create_up_down_counter(
            A.METRIC_ACTIVE_ACTORS, unit="{actor}", description="running actors"
        )
        self._restarts = meter.create_counter(A.METRIC_RESTARTS, unit="{restart}")
        self._errors = meter.create_counter(A.METRIC_ERRORS, unit="{error}")
        self._commit_latency = meter.create_histogram(A.METRIC_COMMIT_LATENCY, unit="s")
        self._commit_batch = meter.create_histogram(A.METRIC_COMMIT_BATCH, unit="{snapshot}")
        self._meter = meter
        self._observed: list[Any] = []
        #: the span of each actor's last published macrostep (ended: its context only)
        self._last: dict[str, Span] = {}
        #: macrostep spans begun and not yet published (their step is being committed)
        self._open: dict[str, Span] = {}
        #: sampling decided without the SDK, where that is exact (None: always the SDK)
        self._fast = shortcut_for(self._tracer)
        #: the span context of each running invocation, for the step taking its result
        self._invoke_links: dict[tuple[str, str], SpanContext] = {}
        #: the chart of each running actor (the active gauge goes down with its labels)
        self._charts: dict[str, str] = {}
        self._invocations: dict[tuple[str, str], Span] = {}
        #: the records this listener wants: those :meth:`on_record` turns into spans and
        #: metrics (drivers build no ``EventReceived`` for it). With a no-op tracer and meter
        #: (no SDK configured when the listener is created) it wants none, so drivers build
        #: no records for it and telemetry costs nothing.
        self.record_types: tuple[type, ...] | None = (
            () if _is_noop(self._tracer) and _is_noop(meter) else _HANDLED
        )
        #: with a no-op meter, the runtime asks whether a step's record is wanted (one behind
        #: the API's proxy may get a real meter later: it counts); with a meter, always
        self.wants_macrostep: Callable[[str], bool] | None = (
            self._wants_macrostep if isinstance(meter, metrics.NoOpMeter) else None
        )

    def observe(self, system: Any) -> None:
        """Report ``system``'s mailbox depth (events waiting, summed per chart) as the
        observable gauge ``statefleet.mailbox.depth``, read at each metric collection."""
        first = not self._observed
        self._observed.append(system)
        if first:
            self._meter.create_observable_gauge(
                A.METRIC_MAILBOX_DEPTH,
                callbacks=[self._mailbox_depth],
                unit="{event}",
                description="events waiting in actor mailboxes",
            )

    def _mailbox_depth(self, options: Any) -> list[Observation]:
        depth: dict[str, int] = {}
        for system in self._observed:
            for ref in system.actors:
                n = ref.mailbox_size
                if n:
                    depth[ref.chart.id] = depth.get(ref.chart.id, 0) + n
        return [Observation(v, {A.CHART_ID: k}) for k, v in sorted(depth.items())]

    # -- propagation ------------------------------------------------------------------------
    def trace_headers(self, actor: str) -> dict[str, str] | None:
        """W3C trace headers of ``actor``'s last macrostep span (for events it sends)."""
        span = self._last.get(actor)
        return _span_headers(span) if span is not None else None

    def caller_trace(self) -> dict[str, str] | None:
        """The W3C trace headers of the caller's current span (``send``, ``ask`` and
        ``send_nowait`` called inside an application span): the runtime stamps them on the
        event, which carries them through the mailbox and the durable inbox, so the
        macrostep it causes is a child of the caller's span."""
        current = get_current()
        if not current:  # an empty context (the usual case outside any span): no span
            return None
        sc = trace.get_current_span(current).get_span_context()
        return _headers(sc) if sc.is_valid else None

    def begin_macrostep(
        self, actor: str, event: EventData | None
    ) -> Callable[[], dict[str, str] | None]:
        """A macrostep of ``actor`` begins: start its span (a child of the trace context the
        event carries) and return a function giving its W3C trace headers, which the runtime
        calls when the step sends or schedules events, to stamp them before it commits them.

        Where the configured sampler's decision is known without the SDK (see
        :mod:`statefleet.telemetry._sampling`), a span it drops is not started at all: the
        step gets an unsampled context in the same trace, and nothing else is built for it.

        The span ends when the step's :class:`~statefleet.core.MacrostepRecord` is
        published, after the commit; a step that is never committed (a crash) never ends its
        span, so it is never exported."""
        links: list[Link] = []
        trace_ctx: dict[str, str] | None = None
        if event is not None:
            trace_ctx = event.trace
            iid = event.invokeid
            if iid is not None and event.name.startswith(("done.invoke.", "error.invoke.")):
                # the step taking an invocation's result is linked to its invoke span
                sc = self._invoke_links.pop((actor, iid), None)
                if sc is not None:
                    links.append(Link(sc))
        span = self._open[actor] = (
            self._start_step(trace_ctx, links, None)
            if trace_ctx
            else self._start(A.SPAN_MACROSTEP, None, None, links)
        )
        if type(span) is Unsampled:
            return span.headers
        return lambda: _span_headers(span)

    def _start_step(
        self, trace_ctx: dict[str, str] | None, links: list[Link], start_time: int | None
    ) -> Span:
        """A macrostep span: a child of the context ``trace_ctx`` carries, else of the current
        span (a root if none); decided without the SDK where that is exact (an
        :class:`Unsampled` span when dropped)."""
        fast = self._fast
        parent: Context | None = None
        if trace_ctx:
            known = parse_traceparent(trace_ctx) if fast is not None else None
            if known is not None:
                assert fast is not None
                dropped = fast.drops_child(True, known[0], known[1])
                if dropped is not None:
                    return dropped
            ctx = _PROPAGATOR.extract(trace_ctx)
            if trace.get_current_span(ctx).get_span_context().is_valid:
                parent = ctx
        return self._start(A.SPAN_MACROSTEP, parent, None, links, start_time)

    def _wants_macrostep(self, actor: str) -> bool:
        """Does this listener (with no meter) need the record of the macrostep ``actor``
        just began? Not when its span is not recorded: nothing would be made of it (the
        runtime then builds none). Its span stays the parent of the step's commit."""
        span = self._open.get(actor)
        if span is None or (type(span) is not Unsampled and span.is_recording()):
            return True
        self._last[actor] = span
        return False

    # -- records ----------------------------------------------------------------------------
    def on_record(self, record: Record) -> None:
        """Turn one record into spans and metric points."""
        if isinstance(record, MacrostepRecord):
            self._macrostep(record)
        elif isinstance(record, ActorSpawned):
            self._active.add(1, {A.CHART_ID: record.chart_id})
            self._charts[record.actor] = record.chart_id

            def spawned() -> dict[str, Any]:
                attrs: dict[str, Any] = {
                    A.ACTOR_ID: record.actor,
                    A.CHART_ID: record.chart_id,
                    A.CHART_VERSION: record.chart_version,
                }
                if record.parent:
                    attrs[A.PARENT_ID] = record.parent
                return attrs

            self._start(A.SPAN_SPAWN, None, spawned).end()
        elif isinstance(record, ActorStopped):
            chart_id = self._charts.pop(record.actor, None)
            if chart_id is not None:
                self._active.add(-1, {A.CHART_ID: chart_id})
            self._last.pop(record.actor, None)
            self._open.pop(record.actor, None)
        elif isinstance(record, ActorRestarted):
            self._restarts.add(1)
            span = self._start(
                A.SPAN_RESTART,
                None,
                lambda: {
                    A.ACTOR_ID: record.actor,
                    A.RESTART_ATTEMPT: record.attempt,
                    A.RESTART_DELAY: record.delay,
                    A.SNAPSHOT_VERSION: record.from_version,
                },
            )
            span.set_status(Status(StatusCode.ERROR, record.error))
            span.end()
        elif isinstance(record, ActorEscalated | ActionFailed):
            self._errors.add(1, {"kind": type(record).__name__})
        elif isinstance(record, InvocationStarted):
            links = []
            last = self._last.get(record.actor)
            if last is not None and last.get_span_context().is_valid:
                links.append(Link(last.get_span_context()))
            inv_span = self._invocations[(record.actor, record.invokeid)] = self._start(
                A.SPAN_INVOKE,
                Context(),
                lambda: {
                    A.ACTOR_ID: record.actor,
                    A.INVOKE_ID: record.invokeid,
                    A.INVOKE_STATE: record.state,
                    A.INVOKE_KIND: record.kind,
                },
                links=links,
            )
            sc = inv_span.get_span_context()
            if sc.is_valid:
                self._invoke_links[(record.actor, record.invokeid)] = sc
        elif isinstance(record, InvocationDone | InvocationFailed | InvocationCancelled):
            inv = self._invocations.pop((record.actor, record.invokeid), None)
            if inv is not None:
                if isinstance(record, InvocationFailed):
                    inv.set_status(Status(StatusCode.ERROR, record.error))
                elif isinstance(record, InvocationCancelled):
                    inv.set_attribute("statefleet.invoke.cancelled", True)
                    self._invoke_links.pop((record.actor, record.invokeid), None)
                inv.end()
        elif isinstance(record, SnapshotCommitted):
            self._commit_latency.record(record.latency)
            self._commit_batch.record(record.batch_size)
            step = self._open.get(record.actor)
            # the commit of a macrostep is a child of its span (published before it ends)
            ctx = trace.set_span_in_context(step) if step is not None else None
            span = self._start(A.SPAN_COMMIT, ctx, None, start_time=_ns(record.latency))
            if span.is_recording():
                span.set_attribute(A.ACTOR_ID, record.actor)
                span.set_attribute(A.SNAPSHOT_VERSION, record.version)
            span.end()

    def _start(
        self,
        name: str,
        context: Context | None,
        attributes: Callable[[], dict[str, Any]] | None,
        links: list[Link] | None = None,
        start_time: int | None = None,
    ) -> Span:
        """A span ``name``, a child of ``context`` (None: the current one); decided without
        the SDK where that is exact, an :class:`Unsampled` span when dropped (``attributes()``
        is called only for a span the SDK starts)."""
        fast = self._fast
        if fast is not None:
            if context is None:
                context = get_current()
            parent = trace.get_current_span(context) if context else INVALID_SPAN
            if type(parent) is Unsampled:
                dropped = fast.drops_child(False, parent.trace_id, parent.flags)
                if dropped is not None:
                    return dropped
            else:
                sc = parent.get_span_context()
                if not sc.is_valid:
                    if fast.root is not None:
                        return fast.start_root(  # type: ignore[no-any-return]
                            self._sdk_span, name, context, attributes, links, start_time
                        )
                elif not sc.trace_state:
                    dropped = fast.drops_child(sc.is_remote, sc.trace_id, sc.trace_flags)
                    if dropped is not None:
                        return dropped
        return self._sdk_span(name, context, attributes, links, start_time)

    def _sdk_span(
        self,
        name: str,
        context: Context | None,
        attributes: Callable[[], dict[str, Any]] | None,
        links: list[Link] | None,
        start_time: int | None,
    ) -> Span:
        return self._tracer.start_span(
            name,
            context=context,
            links=links,
            attributes=attributes() if attributes is not None else None,
            start_time=start_time,
        )

    def _macrostep(self, r: MacrostepRecord) -> None:
        ev = r.event
        event_name = ev.name if ev is not None else "(start)"
        span = self._open.pop(r.actor, None)
        if span is None:  # a driver that does not begin its macrosteps (the sync Session)
            start = time.time_ns() - int(r.duration * 1e9)
            span = self._start_step(ev.trace if ev is not None else None, [], start)
        if type(span) is Unsampled:  # dropped: nothing to describe or end
            self._last[r.actor] = span
        elif span.is_recording():
            # attributes and events only for a span something records (a sampler that drops
            # it gets a non-recording span: nothing is built for it)
            span.update_name(f"{A.SPAN_MACROSTEP} {r.chart_id}")
            attrs: dict[str, Any] = {
                A.ACTOR_ID: r.actor,
                A.CHART_ID: r.chart_id,
                A.CHART_VERSION: r.chart_version,
                A.EVENT_NAME: event_name,
                A.CONFIG_BEFORE: list(r.configuration_before),
                A.CONFIG_AFTER: list(r.configuration_after),
                A.MICROSTEPS: len(r.microsteps),
                A.SNAPSHOT_VERSION: r.version,
            }
            if ev is not None:
                if ev.origin:
                    attrs[A.EVENT_ORIGIN] = ev.origin
                if ev.sendid:
                    attrs[A.EVENT_SENDID] = ev.sendid
            span.set_attributes(attrs)
            for m in r.microsteps:
                span.add_event(
                    A.TRANSITION_EVENT,
                    {
                        A.TRANSITION_LABELS: list(m.transitions),
                        A.TRANSITION_EXITED: list(m.exited),
                        A.TRANSITION_ENTERED: list(m.entered),
                    },
                )
            for err in r.errors:
                exc = err if isinstance(err, BaseException) else RuntimeError(str(err))
                span.record_exception(exc)
            if r.errors:
                span.set_status(Status(StatusCode.ERROR, str(r.errors[0])))
                span.set_attribute(A.ERROR_COUNT, len(r.errors))
            span.end()
            # an ended span keeps its attributes: remember its context only
            self._last[r.actor] = NonRecordingSpan(span.get_span_context())
        else:
            span.end()
            self._last[r.actor] = span
        key = (r.chart_id, event_name)
        self._counts[key] = self._counts.get(key, 0) + 1
        labels = self._chart_labels.get(r.chart_id)
        if labels is None:
            labels = self._chart_labels[r.chart_id] = {A.CHART_ID: r.chart_id}
        self._duration.record(r.duration, labels)

    def _event_counts(self, options: Any) -> list[Observation]:
        return [
            Observation(n, {A.CHART_ID: chart_id, A.EVENT_NAME: event})
            for (chart_id, event), n in sorted(self._counts.items())
        ]
