"""Every reader answers bad input with a typed error naming what is wrong and where.

Files that are not UTF-8, strings that are neither a file nor text, input nested or
repeated past the limits, and definitions of one dialect handed to another dialect's reader.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statefleet import ChartDefinitionError, from_dict, from_json, from_yaml, hsm, load

ORDER = {
    "id": "order",
    "initial": "cart",
    "states": {"cart": {"on": {"CHECKOUT": "paid"}}, "paid": {"type": "final"}},
}
PYSTATOR = {
    "meta": {"machine_name": "signup"},
    "states": [{"name": "registered", "type": "initial"}, {"name": "confirmed"}],
    "transitions": [{"trigger": "confirm", "source": "registered", "dest": "confirmed"}],
}


def error_of(fn: Callable[[], Any]) -> ChartDefinitionError:
    with pytest.raises(ChartDefinitionError) as info:
        fn()
    return info.value


# -- files and text -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "reader"),
    [("m.json", from_json), ("m.yaml", from_yaml), ("m.json", load), ("m.yml", load)],
)
def test_a_file_that_is_not_utf8_names_the_byte_and_line(
    tmp_path: Path, name: str, reader: Callable[[Any], Any]
) -> None:
    path = tmp_path / name
    path.write_bytes(b'{"id": "m",\n "states": {"caf\xe9": {}}}')
    err = error_of(lambda: reader(path))
    assert "not UTF-8" in str(err) and "0xe9" in str(err)
    assert err.line == 2
    assert str(path) in str(err)


def test_bytes_that_are_not_utf8() -> None:
    assert "not UTF-8" in str(error_of(lambda: from_json(b"\xff\xfe{}")))
    assert "not UTF-8" in str(error_of(lambda: from_yaml(b"states: \xff")))


def test_a_utf8_bom_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ORDER).encode())
    assert from_json(path).id == "order"


def test_json_text_with_a_nul_byte_is_text_not_a_path() -> None:
    err = error_of(lambda: from_json('{"id": "a\x00b", "states": {}}'))
    assert "JSON syntax error" in str(err) and "control character" in str(err)
    err = error_of(lambda: from_json("order\x00.json"))
    assert "JSON" in str(err)


def test_a_string_that_is_neither_a_file_nor_json_says_so() -> None:
    assert "no such file: 'orders.jsn'" in str(error_of(lambda: from_json("orders.jsn")))
    assert "No such file" in str(error_of(lambda: from_json("missing.json")))
    assert "no such file: 'orders.yml.bak'" in str(error_of(lambda: from_yaml("orders.yml.bak")))


def test_a_path_with_a_nul_byte_is_a_definition_error() -> None:
    class Weird(os.PathLike[str]):
        def __fspath__(self) -> str:
            return "order\x00.json"

    assert "cannot read" in str(error_of(lambda: from_json(Weird())))
    assert "no such file" in str(error_of(lambda: load("order\x00.json")))


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "chart.json"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    assert "not a regular file" in str(error_of(lambda: from_json(fifo)))
    assert "not a regular file" in str(error_of(lambda: from_yaml(tmp_path)))
    folder = tmp_path / "charts.json"
    folder.mkdir()
    assert "not a regular file" in str(error_of(lambda: load(folder)))  # was "no such file"


def test_a_device_is_not_read_to_the_end() -> None:
    # /dev/zero never ends: reading it would run out of memory
    assert "not a regular file" in str(error_of(lambda: from_yaml(Path("/dev/zero"))))


def test_text_over_the_size_limit_says_the_limit(tmp_path: Path) -> None:
    big = '{"id": "m", "x": "' + "a" * 16 * 1024 * 1024 + '"}'
    assert "limit of 16777216 bytes" in str(error_of(lambda: from_json(big)))
    # PyYAML is pure Python (about 300 KB a second): YAML stops at 2 MiB
    text = "meta:\n  description: " + "a" * 2 * 1024 * 1024 + "\n"
    assert "limit of 2097152 bytes" in str(error_of(lambda: from_yaml(text)))
    path = tmp_path / "big.yaml"
    path.write_text(text)
    assert "limit of 2097152 bytes" in str(error_of(lambda: from_yaml(path)))


def test_huge_integer_literals_are_definition_errors() -> None:
    assert "JSON" in str(error_of(lambda: from_json('{"version": ' + "9" * 5000 + "}")))
    assert "YAML" in str(error_of(lambda: from_yaml("meta:\n  version: " + "9" * 5000 + "\n")))


# -- nesting and size ---------------------------------------------------------------------------
def test_deeply_nested_json_and_yaml_say_the_limit() -> None:
    for text in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 5000 + "1" + "}" * 5000):
        assert "limit of 256 levels" in str(error_of(lambda text=text: from_json(text)))
    yaml_text = "states:\n" + "".join("  " * i + "- \n" for i in range(1, 400))
    err = error_of(lambda: from_yaml(yaml_text))
    assert "limit of 256 levels" in str(err) and err.line is not None
    assert "limit of 256" in str(error_of(lambda: from_yaml("[" * 100_000)))


def _nested(levels: int) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for _ in range(levels):
        config = {"initial": "a", "states": {"a": config}}
    return config


def test_deeply_nested_dicts_name_the_path() -> None:
    err = error_of(lambda: from_dict(_nested(5000)))
    assert "limit of 256 levels" in str(err)
    assert err.path.startswith("states.a.states.a")
    assert from_dict(_nested(60)).id == "(machine)"  # a deep but sane chart still reads


def test_a_config_that_contains_itself() -> None:
    config: dict[str, Any] = {"id": "m", "states": {}}
    config["states"]["a"] = config
    assert "contains itself" in str(error_of(lambda: from_dict(config)))
    loop: list[Any] = []
    loop.append(loop)
    assert "contains itself" in str(error_of(lambda: from_yaml({"states": loop})))


def test_yaml_aliases_cannot_multiply_the_input() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    text = "\n".join(lines) + "\nmeta:\n  description: *a7\nstates: []\n"
    err = error_of(lambda: from_yaml(text))
    assert "limit of 1000000 values" in str(err)


def test_a_long_parent_chain_in_yaml() -> None:
    n = 3000
    states: list[dict[str, Any]] = [{"name": "s0", "type": "initial", "initial_child": "s1"}]
    for i in range(1, n):
        state: dict[str, Any] = {"name": f"s{i}", "parent": f"s{i - 1}"}
        if i < n - 1:
            state["initial_child"] = f"s{i + 1}"
        states.append(state)
    err = error_of(lambda: from_yaml({"states": states, "transitions": []}))
    assert "limit of 256 ancestors" in str(err) and err.path.endswith(".parent")


def test_deeply_nested_builder_states() -> None:
    tree = functools.reduce(lambda inner, i: hsm.state(f"s{i}", inner), range(3000), hsm.final("x"))
    err = error_of(lambda: hsm.define("deep", tree))
    assert "limit of 256 levels" in str(err)


def test_non_finite_delays() -> None:
    config = {"id": "m", "states": {"a": {"after": {"d": "a"}}}}
    for delay in (float("nan"), float("inf"), "1" + "0" * 400):
        err = error_of(lambda delay=delay: from_dict(config, delays={"d": delay}))
        assert "states.a.after" in err.path
    text = '{"id": "m", "states": {"a": {"after": [{"delay": NaN, "target": "a"}]}}}'
    assert "invalid delay" in str(error_of(lambda: from_json(text)))


# -- one dialect handed to another reader ---------------------------------------------------------
def test_a_pystator_dict_given_to_from_dict_points_to_from_yaml() -> None:
    err = error_of(lambda: from_dict(PYSTATOR))
    assert "looks like a pystator config" in str(err) and "from_yaml" in str(err)
    assert "unknown key" not in str(err)
    assert from_yaml(PYSTATOR).id == "signup"


def test_a_pystator_json_file_points_to_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "signup.json"
    path.write_text(json.dumps(PYSTATOR))
    assert "from_yaml" in str(error_of(lambda: load(path)))
    assert from_yaml(path).id == "signup"


def test_an_xstate_config_given_to_from_yaml_points_to_from_dict(tmp_path: Path) -> None:
    err = error_of(lambda: from_yaml(ORDER))
    assert "looks like an XState config" in str(err) and "from_dict" in str(err)
    path = tmp_path / "order.yaml"
    path.write_text(json.dumps(ORDER))
    assert "from_json" in str(error_of(lambda: from_yaml(path)))


def test_text_given_to_from_dict_points_to_the_text_readers() -> None:
    err = error_of(lambda: from_dict(json.dumps(ORDER)))  # type: ignore[arg-type]
    assert "from_json" in str(err) and "load" in str(err)


def test_scxml_given_to_the_json_and_yaml_readers_points_to_from_scxml() -> None:
    doc = '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="a"/></scxml>'
    assert "from_scxml" in str(error_of(lambda: from_json(doc)))
    assert "from_scxml" in str(error_of(lambda: from_yaml(doc)))


def test_inline_guard_expressions_are_bounded() -> None:
    def machine(expr: str) -> dict[str, Any]:
        return {
            "states": [{"name": "a", "type": "initial"}, {"name": "b"}],
            "transitions": [
                {"trigger": "go", "source": "a", "dest": "b", "guards": [{"expr": expr}]}
            ],
        }

    # each of these raised MemoryError or RecursionError while parsing
    for expr in ("-" * 100_000 + "1", "not " * 100_000 + "x", "a.b" + ".c" * 200_000):
        err = error_of(lambda expr=expr: from_yaml(machine(expr)))
        assert "invalid guard expression" in str(err) and "limit of" in str(err)
        assert len(str(err)) < 300  # the expression is clipped in the message
    err = error_of(lambda: from_yaml(machine("x" + " + x" * 200)))
    assert "limit of 50 levels" in str(err)


def test_builder_values_too_large_to_show_or_convert() -> None:
    huge = 10**5000  # repr() of it raises ValueError; float() of it OverflowError
    for el in (
        hsm.state("a", hsm.transition(hsm.after(huge), hsm.target("a"))),
        hsm.state("a", hsm.transition(hsm.every(-(10**400)), hsm.target("a"))),
        hsm.state("a", hsm.transition(hsm.on(huge), hsm.target("a"))),
        hsm.state(huge),  # type: ignore[arg-type]
    ):
        err = error_of(lambda el=el: hsm.define("m", el))
        assert len(str(err)) < 300


def test_integers_too_large_to_print() -> None:
    # str() of an int with more than 4300 digits raises ValueError: every message naming it did
    huge = 10**5000
    for config in ({"id": huge}, {"states": {"a": {"on": {huge: "a"}}}}, {"context": {"n": huge}}):
        err = error_of(lambda config=config: from_dict(config))
        assert "limit of 4096 bits" in str(err)
    err = error_of(lambda: from_dict({"context": {"a": [1, -huge]}}))
    assert err.path == "context.a[1]"
    err = error_of(lambda: from_yaml({"states": [{"name": huge}], "transitions": []}))
    assert err.path == "states[0].name" and "limit of 4096 bits" in str(err)


def test_root_transitions_copied_onto_many_states_are_bounded() -> None:
    # each root transition is copied onto each top-level state: 400 x 400 took 48 s to read
    n = 400
    config = {
        "id": "m",
        "initial": "s0",
        "on": {f"R{j}": f"s{j}" for j in range(n)},
        "states": {f"s{i}": {} for i in range(n)},
    }
    err = error_of(lambda: from_dict(config))
    assert "make 160000 transitions: over the limit of 100000" in str(err) and err.path == "on"
    config["on"] = {f"R{j}": f"s{j}" for j in range(200)}
    assert len(from_dict(config).transitions) > 200 * n


def test_more_cross_format_hints(tmp_path: Path) -> None:
    path = tmp_path / "signup.json"
    path.write_text("meta:\n  machine_name: signup\nstates:\n  - name: a\n")
    err = error_of(lambda: load(path))
    assert "looks like YAML" in str(err) and "from_yaml" in str(err)
    assert "already a compiled Chart" in str(error_of(lambda: from_dict(from_dict(ORDER))))  # type: ignore[arg-type]
    err = error_of(lambda: hsm.define(ORDER))  # type: ignore[arg-type]
    assert "not a config dict" in str(err) and "from_dict" in str(err)


def test_a_tampered_pystator_snapshot_is_an_invalid_state() -> None:
    from statefleet.formats.pystator import EntitySession, InvalidStateError, StateMachine

    machine = StateMachine.from_yaml(PYSTATOR)
    entity = machine.create()
    entity.send("confirm")
    stored = json.loads(json.dumps(entity.snapshot()))
    empty = json.loads(json.dumps(stored))
    empty["core"]["configuration"] = []  # done with nothing active: send raised IndexError
    empty["core"]["status"] = "done"
    with pytest.raises(InvalidStateError, match="no active state"):
        EntitySession.from_snapshot(machine, empty)
    for now in (10**400, float("nan"), -1.0, "soon"):
        with pytest.raises(InvalidStateError, match="'now'"):
            EntitySession.from_snapshot(machine, {**stored, "now": now})
    assert EntitySession.from_snapshot(machine, stored).current_state == "confirmed"
