"""Definition errors name the bad element by path."""

from __future__ import annotations

import pytest

from statefleet import ChartDefinitionError
from statefleet.core import ChartSpec, StateSpec, TransitionSpec, compile_chart
from tests.core._build import S, T, chart


def test_unknown_target_names_path_and_suggests() -> None:
    processing = S(
        "processing", S("step3", on=[T("FINISH", "complet")]), S("complete", kind="final")
    )
    with pytest.raises(ChartDefinitionError) as info:
        chart(processing)
    err = info.value
    assert "unknown target 'complet'" in str(err)
    assert "did you mean 'complete'" in str(err)
    assert err.path == "processing.step3.transitions[0]"


def test_duplicate_ids() -> None:
    with pytest.raises(ChartDefinitionError, match="duplicate state id 'a'"):
        chart(S("a"), S("b", S("a")))


def test_final_state_cannot_have_transitions_or_children() -> None:
    with pytest.raises(ChartDefinitionError, match="final state cannot have outgoing"):
        chart(S("z", kind="final", on=[T("e", "z")]))
    with pytest.raises(ChartDefinitionError, match="final state cannot have child"):
        chart(S("z", S("c"), kind="final"))


def test_history_must_be_inside_a_compound_state() -> None:
    with pytest.raises(ChartDefinitionError, match="history state must be the child"):
        chart(StateSpec("h", kind="history"), S("a"))


def test_bad_initial() -> None:
    with pytest.raises(ChartDefinitionError, match="unknown target 'nope'"):
        chart(S("a", S("a1"), initial="nope"))
    with pytest.raises(ChartDefinitionError, match="not a descendant"):
        chart(S("a", S("a1")), S("b"), S("c", S("c1"), initial="b"))
    with pytest.raises(ChartDefinitionError, match="parallel state has no initial"):
        chart(S("p", S("r1"), S("r2"), kind="parallel", initial="r1"))


def test_internal_transition_must_target_descendants() -> None:
    with pytest.raises(ChartDefinitionError, match="internal transition must target descendants"):
        chart(S("a", S("a1"), on=[T("e", "b", type="internal")]), S("b"))


def test_targets_that_cannot_be_active_together() -> None:
    with pytest.raises(ChartDefinitionError, match="not in parallel regions"):
        chart(S("a", on=[T("e", "b c")]), S("b"), S("c"))


def test_uncallable_callbacks() -> None:
    bad = S("a", on=[TransitionSpec(event=("e",), cond="not callable")])  # type: ignore[arg-type]
    with pytest.raises(ChartDefinitionError, match="not callable"):
        chart(bad)


def test_every_problem_is_reported() -> None:
    with pytest.raises(ChartDefinitionError) as info:
        chart(S("a", on=[T("e", "x"), T("f", "y")]))
    assert [m for _, m in info.value.errors] == ["unknown target 'x'", "unknown target 'y'"]


def test_empty_chart() -> None:
    with pytest.raises(ChartDefinitionError, match="at least one state"):
        compile_chart(ChartSpec("empty"))
