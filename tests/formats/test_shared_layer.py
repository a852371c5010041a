"""What every reader shares (formats/_resolve.py): one duration parser."""

from __future__ import annotations

import pytest

from statefleet import ChartDefinitionError, from_dict, from_scxml, from_yaml


@pytest.mark.parametrize("after", [".inf", "1" + "0" * 400, "1" + "0" * 400 + "s"])
def test_an_endless_delay_is_a_definition_error_not_a_timer_due_at_infinity(after: str) -> None:
    # it used to load and schedule a timer due at inf, which no snapshot check accepts
    with pytest.raises(ChartDefinitionError, match="must be finite") as info:
        from_yaml(
            "meta: {machine_name: m}\n"
            "states: [{name: a, type: initial}, {name: b, type: stable}]\n"
            f"transitions: [{{source: a, dest: b, after: {after}}}]\n"
        )
    assert info.value.path == "transitions[0].after"


def test_an_xstate_delay_too_large_for_a_float_is_a_definition_error() -> None:
    # it used to escape as OverflowError
    config = {"id": "m", "initial": "a", "states": {"a": {"after": {10**400: "b"}}, "b": {}}}
    with pytest.raises(ChartDefinitionError, match="expected milliseconds >= 0"):
        from_dict(config)


def test_an_endless_scxml_send_delay_is_refused() -> None:
    # it used to load and schedule the event at infinity
    delay = "1" + "0" * 400 + "s"
    with pytest.raises(ChartDefinitionError, match="invalid delay") as info:
        from_scxml(
            '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">'
            f'<state id="a"><onentry><send event="t" delay="{delay}"/></onentry>'
            '<transition event="t" target="b"/></state><final id="b"/></scxml>'
        )
    assert info.value.path == "scxml/state[a]/onentry/send"
