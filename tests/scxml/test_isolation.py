"""A document cannot change state shared with the other documents of the process: the helpers
every safe-mode document sees (``instanceof`` types, builtins, guards) are read-only, and
assigning through a system variable is ``error.execution``."""

from __future__ import annotations

import pytest

from tests.scxml._util import PASS_FAIL, doc, run, verdict

INSTANCEOF = doc(
    '<state id="a"><transition cond="[1] instanceof Array and not (1 instanceof Array)'
    ' and {} instanceof Object" target="pass"/><transition target="fail"/></state>' + PASS_FAIL
)


@pytest.mark.parametrize(
    ("location", "expr"),
    [
        ("_sf_js.Array.types", "(int,)"),
        ("_sf_js.Array", "_sf_js.Object"),
        ("list.append", "1"),
        ("str.upper", "1"),
        ("isinstance.x", "1"),
        ("sum.x", "1"),
        ("hasattr.x", "1"),
        ("range.x", "1"),
        ("_event.name", "'forged'"),
        ("_event.data.x", "1"),
        ("_ioprocessors.scxml", "1"),
    ],
)
def test_shared_helpers_and_system_variables_cannot_be_changed(location: str, expr: str) -> None:
    attacker = doc(
        f'<state id="a"><onentry><raise event="go"/></onentry>'
        f'<transition event="go" target="b"><assign location="{location}" expr="{expr}"/>'
        "</transition></state>"
        '<state id="b"><transition event="error.execution" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(attacker)) == "pass", f"{location} was assigned"
    if location.startswith(("_sf_js", "_event", "_ioprocessors")):
        # shared or read-only in trusted mode too (a trusted document's own builtins are its
        # business: it runs full Python)
        assert verdict(run(attacker, trusted=True)) == "pass", f"{location} was assigned"
    # and every other document still sees the helpers as they were
    assert verdict(run(INSTANCEOF)) == "pass"
    assert verdict(run(INSTANCEOF, trusted=True)) == "pass"


def test_a_document_keeps_its_own_objects_assignable_but_not_the_shared_ones() -> None:
    shared = doc(
        '<state id="a"><onentry><assign location="_sf_js.Array.types" expr="(int,)"/>'
        '</onentry><transition event="error.execution" target="pass"/></state>' + PASS_FAIL
    )
    assert verdict(run(shared)) == "pass"
    text = doc(
        '<datamodel><data id="d" expr="{\'a\': {\'b\': 1}}"/><data id="l" expr="[0, 0]"/>'
        '</datamodel><state id="a"><onentry><assign location="d[\'a\'][\'b\']" expr="2"/>'
        '<assign location="d[\'c\']" expr="3"/><assign location="l[1]" expr="4"/></onentry>'
        "<transition cond=\"d == {'a': {'b': 2}, 'c': 3} and l == [0, 4]\" target=\"pass\"/>"
        '<transition target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"
