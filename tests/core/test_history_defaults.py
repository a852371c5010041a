"""A history state without a default transition means its parent's default entry; a
compound state whose initial is its own history resumes where it was, and the first time
starts at its first child (it used to recurse forever at start())."""

from __future__ import annotations

import pytest

from statefleet import ChartDefinitionError
from statefleet.core import StateSpec
from tests.core._build import S, T, chart


@pytest.mark.parametrize("kind", ["deep", "shallow"])
def test_a_compound_state_whose_initial_is_its_own_history_starts_at_its_first_child(
    kind: str,
) -> None:
    c = chart(
        S(
            "player",
            StateSpec("h", kind="history", history=kind),
            S("stopped", on=[T("play", "playing")]),
            S("playing", S("track1", on=[T("skip", "track2")]), S("track2")),
            initial="h",
            on=[T("power", "off")],
        ),
        S("off", on=[T("power", "player")]),
    )
    s = c.start()
    assert s.configuration == {"player", "stopped"}
    s.send("play")
    s.send("skip")
    s.send("power")
    assert s.configuration == {"off"}
    s.send("power")  # back through the parent's initial: the history
    if kind == "deep":
        assert s.configuration == {"player", "playing", "track2"}
    else:
        assert s.configuration == {"player", "playing", "track1"}


def test_a_history_without_default_follows_a_sibling_history_with_one() -> None:
    c = chart(
        S(
            "p",
            StateSpec("h", kind="history"),
            StateSpec("h2", kind="history", transitions=[T(None, "b")]),
            S("a"),
            S("b"),
            initial="h2",
        ),
        S("q", on=[T("back", "h")]),
        initial="q",
    )
    s = c.start()
    s.send("back")
    assert s.configuration == {"p", "b"}  # h -> p's initial h2 -> h2's default b


def test_a_top_level_initial_targeting_a_nested_history_without_default() -> None:
    c = chart(
        S("p", StateSpec("h", kind="history", history="deep"), S("a"), S("b"), initial="h"),
        initial="h",
    )
    assert c.start().configuration == {"p", "a"}


def test_history_defaults_that_lead_back_to_themselves_are_a_definition_error() -> None:
    with pytest.raises(ChartDefinitionError, match="leads back to it") as err:
        chart(
            S(
                "p",
                StateSpec("h1", kind="history", transitions=[T(None, "h2")]),
                StateSpec("h2", kind="history", transitions=[T(None, "h1")]),
                S("a"),
                initial="h1",
            )
        )
    assert err.value.path.startswith("p.h1")
