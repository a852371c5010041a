"""Telemetry: OpenTelemetry spans and metrics, structured logging, a metrics summary.

Telemetry observes the records drivers publish (see :mod:`statefleet.core` records); it never
instruments the engine. Pass listeners to ``chart.start(listeners=[...])`` or to the
``ActorSystem``.
"""

from statefleet.telemetry import attributes
from statefleet.telemetry._listeners import LoggingListener, MetricsListener
from statefleet.telemetry._otel import OpenTelemetry

__all__ = ["LoggingListener", "MetricsListener", "OpenTelemetry", "attributes"]
