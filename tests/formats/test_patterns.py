"""Patterns from untrusted charts: the ones whose backtracking can explode are named, the
linear ones pass (shared by pystator's ``matches`` and SCXML's ``_event.raw.search``)."""

from __future__ import annotations

import pytest

from statefleet.formats._patterns import backtracking_risk


@pytest.mark.parametrize(
    ("pattern", "risk"),
    [
        ("(a+)+$", "a repeat inside a repeated group"),
        ("(x*)*", "a repeat inside a repeated group"),
        ("(?:a{2,})+", "a repeat inside a repeated group"),
        ("(?=(a+)+)b", "a repeat inside a repeated group"),
        ("(a|ab)*c", "a repeated alternation whose branches can start alike"),
        ("(\\w+|\\d)+", "a repeated alternation whose branches can start alike"),
        ("(x)\\1", "a backreference"),
    ],
)
def test_explosive_patterns_are_named(pattern: str, risk: str) -> None:
    assert backtracking_risk(pattern) == risk


@pytest.mark.parametrize(
    "pattern",
    ["^ORD-[0-9]{4,10}$", "(get|put)+", "(ab|ac)+", "(a|b)*", "^[a-z]+@[a-z]+\\.com$", "POST"],
)
def test_linear_patterns_pass(pattern: str) -> None:
    assert backtracking_risk(pattern) is None
