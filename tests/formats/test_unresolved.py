"""Reading a chart without its implementations (``resolve=False``): structure is checked and
the chart can be drawn, names are shown not bound, and running one is a typed error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statefleet import ChartDefinitionError, from_dict, from_json, from_yaml, load
from statefleet.cli import main
from statefleet.formats._diagram import to_mermaid
from statefleet.formats._resolve import UnboundNameError

CONFIG: dict[str, Any] = {
    "id": "order",
    "initial": "idle",
    "states": {
        "idle": {
            "entry": "remember",
            "on": {"GO": {"target": "busy", "guard": "isReady", "actions": ["log"]}},
        },
        "busy": {
            "invoke": {"src": "ship", "onDone": "done", "onError": "failed"},
            "after": {"patience": "failed"},
        },
        "done": {"type": "final"},
        "failed": {"type": "final"},
    },
}


def test_by_default_every_name_must_be_bound() -> None:
    with pytest.raises(ChartDefinitionError) as info:
        from_dict(CONFIG)
    paths = [p for p, _ in info.value.errors]
    assert "states.idle.entry[0]" in paths
    assert "states.idle.on.GO.guard" in paths
    assert "states.busy.invoke.src" in paths
    assert "states.busy.after.patience" in paths


def test_unresolved_names_are_shown_in_the_diagram() -> None:
    chart = from_dict(CONFIG, resolve=False)
    text = to_mermaid(chart)
    assert ": GO [isReady]" in text
    assert "s_order_busy_2 --> s_order_failed_4 : after" in text
    assert ": done.invoke.order.busy" in text


def test_structure_is_still_checked_when_names_are_left_unbound() -> None:
    bad = {**CONFIG, "states": {**CONFIG["states"], "idle": {"on": {"GO": "bussy"}}}}
    with pytest.raises(ChartDefinitionError, match="did you mean 'busy'"):
        from_dict(bad, resolve=False)


def test_names_that_are_given_are_bound_and_the_rest_raise_when_run() -> None:
    seen: list[str] = []
    chart = from_dict(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {"entry": ["hello", "remember"], "on": {"error.execution": "failed"}},
                "failed": {},
            },
        },
        actions={"hello": lambda: seen.append("hello")},
        resolve=False,
    )
    session = chart.start()
    assert seen == ["hello"]
    # the unbound action ran as executable content: its error is the SCXML error event
    assert session.configuration == frozenset({"m.failed"})


def test_running_an_unbound_name_is_a_typed_error_naming_it() -> None:
    caught: list[Any] = []
    chart = from_dict(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "entry": "remember",
                    "on": {"error.execution": {"target": "b", "actions": "catch"}},
                },
                "b": {},
            },
        },
        actions={"catch": lambda context, event: caught.append(event.error)},
        resolve=False,
    )
    chart.start()
    (error,) = caught
    assert isinstance(error, UnboundNameError) and isinstance(error, ChartDefinitionError)
    assert "action 'remember' is not bound" in str(error)
    assert error.path == "states.a.entry[0]"


def test_load_passes_resolve_to_the_json_reader(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(CONFIG), encoding="utf-8")
    with pytest.raises(ChartDefinitionError, match="unknown action 'remember'"):
        load(path)
    assert load(path, resolve=False).id == "order"
    assert from_json(path, resolve=False).id == "order"


def test_cli_validate_and_diagram_need_no_implementations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(CONFIG), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    # remember, isReady, log, ship, patience: shown, not resolved
    assert out.startswith("ok ") and "5 name(s) not bound (--check-bindings)" in out
    assert main(["diagram", str(path)]) == 0
    assert ": GO [isReady]" in capsys.readouterr().out
    # asked to, validate checks the bindings: a JSON file alone has none
    assert main(["validate", "--check-bindings", str(path)]) == 1
    out = capsys.readouterr().out
    assert "states.idle.entry[0]: unknown action 'remember'" in out
    assert main(["diagram", "--check-bindings", str(path)]) == 1


def test_an_unbound_name_is_the_same_typed_error_in_every_reader() -> None:
    yaml_chart = from_yaml(
        "meta: {machine_name: m}\n"
        "states: [{name: a, type: initial}, {name: b, type: stable}]\n"
        "transitions: [{trigger: go, source: a, dest: b, actions: [remember]}]\n"
    )
    (yaml_error,) = yaml_chart.transition(yaml_chart.initial().snapshot, "go").errors
    json_chart = from_dict(
        {
            "initial": "a",
            "states": {"a": {"on": {"go": {"target": "b", "actions": "remember"}}}, "b": {}},
        },
        resolve=False,
    )
    (json_error,) = json_chart.transition(json_chart.initial().snapshot, "go").errors
    for error in (yaml_error, json_error):
        assert isinstance(error, UnboundNameError) and isinstance(error, ChartDefinitionError)
        assert (error.kind, error.name) == ("action", "remember")
