"""Seed 002, step 7: lifecycle hooks, structured logging and metrics."""

import logging
import sys
from pathlib import Path

from statefleet.formats.pystator import (
    LoggingHook,
    MetricsCollector,
    StateMachine,
    TransitionObserver,
)

HERE = Path(__file__).parent
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s")

machine = StateMachine.from_yaml(HERE / "order_fsm.yaml")

observer = TransitionObserver()
observer.add_hook(LoggingHook())  # structured logging

metrics = MetricsCollector()
observer.add_hook(metrics)
# Attach the observer to the machine: every process() (and every session send) is observed
machine.add_observer(observer)

machine.process("pending", "exchange_ack", {})
machine.process("open", "fill", {"fill_qty": 100, "order_qty": 100})

summary = metrics.get_summary()
print(summary["success_rate"])  # 1.0
print(sorted(summary["duration"]))  # ['avg_ms', 'max_ms', 'min_ms', 'p95_ms']
print(summary["total_transitions"], summary["by_transition"])

# A rejected trigger is counted too
machine.process("pending", "fill", {})
summary = metrics.get_summary()
print(round(summary["success_rate"], 2), summary["errors_by_code"])
