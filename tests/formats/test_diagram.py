"""Diagrams: structure drawn as such, active configuration highlighted, svg via Graphviz."""

from __future__ import annotations

import shutil

import pytest

from statefleet import StatefleetError
from statefleet.core import StateSpec
from statefleet.formats._diagram import to_dot, to_mermaid, to_svg
from tests.core._build import S, T, chart


def _chart():  # type: ignore[no-untyped-def]
    return chart(
        S("idle", on=[T("go", "work")]),
        S(
            "work",
            StateSpec("h", kind="history", history="deep"),
            S(
                "p",
                S("r1", S("a", on=[T("x", "b")]), S("b", kind="final")),
                S("r2", S("c")),
                kind="parallel",
            ),
            on=[T("stop", "idle", cond=lambda ctx: True)],
        ),
        S("end", kind="final"),
    )


def test_mermaid_draws_structure_and_highlights_active_leaves() -> None:
    c = _chart()
    s = c.start()
    s.send("go")
    text = to_mermaid(c, s.snapshot())
    assert text.startswith("stateDiagram-v2\n")
    assert 'state "work" as s_work_2 {' in text
    assert "            --\n" in text  # parallel regions separated
    assert 'state "H*" as s_h_3' in text
    assert "s_end_10 --> [*]" in text  # final
    assert "s_idle_1 --> s_work_2 : go" in text
    assert "s_work_2 --> s_idle_1 : stop [guard]" in text
    assert "class s_a_6 active" in text and "class s_c_9 active" in text
    assert "class s_idle_1 active" not in text


def test_dot_draws_clusters_finals_history_and_active_states() -> None:
    c = _chart()
    s = c.start()
    text = to_dot(c, s.snapshot())
    assert "subgraph cluster_s_work_2 {" in text
    assert 'label="p (parallel)"' in text
    assert 's_b_7 [label="b", peripheries=2];' in text  # final: a double border
    assert 's_h_3 [shape=circle, label="H*"];' in text
    assert 's_idle_1 [label="idle", fillcolor="#ffd966"];' in text
    assert "lhead=cluster_s_work_2" in text


def test_snapshot_of_another_chart_is_refused() -> None:
    other = chart(S("x"), id="other")
    with pytest.raises(StatefleetError):
        to_mermaid(_chart(), other.start().snapshot())


def test_svg_without_graphviz_explains_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(StatefleetError, match="apt-get install graphviz"):
        to_svg(_chart())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed here")
def test_svg_with_graphviz() -> None:
    assert "<svg" in to_svg(_chart())
