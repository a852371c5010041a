"""The logging and metrics-summary listeners."""

from __future__ import annotations

import logging

import pytest

from statefleet.core import AfterSpec, TransitionSpec
from statefleet.telemetry import LoggingListener, MetricsListener
from tests.core._build import S, T, chart


def test_metrics_listener_counts_transitions_success_rate_and_dwell() -> None:
    metrics = MetricsListener(seed=1)
    c = chart(
        S("pending", on=[T("ack", "open")]),
        S(
            "open",
            on=[T("fill", "filled", cond=lambda ctx: ctx.event.data["qty"] > 0)],
            after=[AfterSpec(10.0, TransitionSpec(target=("expired",)))],
        ),
        S("filled"),
        S("expired"),
    )
    s = c.start(listeners=[metrics])
    s.send("ack")
    s.advance(4)
    s.send("fill", qty=0)  # guard rejects: no transition
    s.send("fill", qty=5)
    summary = metrics.summary()
    assert summary["transitions"] == 3  # initial entry, ack, fill
    assert summary["events"] == {"ack": 1, "fill": 2}
    assert summary["success_rate"] == pytest.approx(2 / 3)
    assert summary["dwell"]["open"] == {"count": 1, "avg_s": 4.0, "total_s": 4.0}
    assert summary["duration"]["p95_ms"] >= summary["duration"]["avg_ms"] * 0 >= 0
    assert metrics.get_summary()["macrosteps"] == 4


def test_logging_listener_emits_structured_records(caplog: pytest.LogCaptureFixture) -> None:
    c = chart(S("a", on=[T("go", "b", actions=(lambda ctx: 1 / 0,))]), S("b"), id="logged")
    with caplog.at_level(logging.INFO, logger="statefleet.trace"):
        c.start(listeners=[LoggingListener()]).send("go")
    steps = [r for r in caplog.records if getattr(r, "statefleet_record", "") == "MacrostepRecord"]
    go = steps[-1]
    assert go.statefleet_event == "go"  # type: ignore[attr-defined]
    assert go.statefleet_configuration_after == ["b"]  # type: ignore[attr-defined]
    failed = [r for r in caplog.records if getattr(r, "statefleet_record", "") == "ActionFailed"]
    assert failed and failed[0].levelno == logging.WARNING
    assert "division by zero" in failed[0].statefleet_error  # type: ignore[attr-defined]


def test_a_failing_listener_never_breaks_the_chart(caplog: pytest.LogCaptureFixture) -> None:
    def broken(record: object) -> None:
        raise RuntimeError("listener bug")

    c = chart(S("a", on=[T("go", "b")]), S("b"))
    with caplog.at_level(logging.ERROR, logger="statefleet"):
        s = c.start(listeners=[broken])
        s.send("go")
    assert s.configuration == {"b"}
    assert "listener bug" in caplog.text
