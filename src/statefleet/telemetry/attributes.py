"""Span, event and metric attribute names used by statefleet's telemetry (one place).

See ``docs/telemetry.md`` for what each one carries.
"""

from __future__ import annotations

__all__ = [
    "ACTOR_ID",
    "CHART_ID",
    "CHART_VERSION",
    "CONFIG_AFTER",
    "CONFIG_BEFORE",
    "ERROR_COUNT",
    "EVENT_NAME",
    "EVENT_ORIGIN",
    "EVENT_SENDID",
    "INVOKE_ID",
    "INVOKE_KIND",
    "INVOKE_STATE",
    "METRIC_ACTIVE_ACTORS",
    "METRIC_COMMIT_BATCH",
    "METRIC_COMMIT_LATENCY",
    "METRIC_ERRORS",
    "METRIC_EVENTS",
    "METRIC_MACROSTEP_DURATION",
    "METRIC_MAILBOX_DEPTH",
    "METRIC_RESTARTS",
    "MICROSTEPS",
    "PARENT_ID",
    "RESTART_ATTEMPT",
    "RESTART_DELAY",
    "SNAPSHOT_VERSION",
    "SPAN_COMMIT",
    "SPAN_INVOKE",
    "SPAN_MACROSTEP",
    "SPAN_RESTART",
    "SPAN_SPAWN",
    "TRANSITION_ENTERED",
    "TRANSITION_EVENT",
    "TRANSITION_EXITED",
    "TRANSITION_LABELS",
]

# span names (the macrostep span is named "statefleet.macrostep <chart id>")
SPAN_MACROSTEP = "statefleet.macrostep"
SPAN_SPAWN = "statefleet.spawn"
SPAN_INVOKE = "statefleet.invoke"
SPAN_COMMIT = "statefleet.commit"
SPAN_RESTART = "statefleet.restart"
TRANSITION_EVENT = "statefleet.transition"

# attributes
ACTOR_ID = "statefleet.actor.id"
PARENT_ID = "statefleet.actor.parent"
CHART_ID = "statefleet.chart.id"
CHART_VERSION = "statefleet.chart.version"
EVENT_NAME = "statefleet.event.name"
EVENT_ORIGIN = "statefleet.event.origin"
EVENT_SENDID = "statefleet.event.sendid"
CONFIG_BEFORE = "statefleet.configuration.before"
CONFIG_AFTER = "statefleet.configuration.after"
MICROSTEPS = "statefleet.microsteps"
SNAPSHOT_VERSION = "statefleet.snapshot.version"
ERROR_COUNT = "statefleet.errors"
TRANSITION_LABELS = "statefleet.transition.labels"
TRANSITION_EXITED = "statefleet.transition.exited"
TRANSITION_ENTERED = "statefleet.transition.entered"
INVOKE_ID = "statefleet.invoke.id"
INVOKE_STATE = "statefleet.invoke.state"
INVOKE_KIND = "statefleet.invoke.kind"
RESTART_ATTEMPT = "statefleet.restart.attempt"
RESTART_DELAY = "statefleet.restart.delay"

# metrics
METRIC_EVENTS = "statefleet.events"
METRIC_MACROSTEP_DURATION = "statefleet.macrostep.duration"
METRIC_MAILBOX_DEPTH = "statefleet.mailbox.depth"
METRIC_ACTIVE_ACTORS = "statefleet.actors.active"
METRIC_RESTARTS = "statefleet.restarts"
METRIC_ERRORS = "statefleet.errors"
METRIC_COMMIT_LATENCY = "statefleet.commit.latency"
METRIC_COMMIT_BATCH = "statefleet.commit.batch_size"
