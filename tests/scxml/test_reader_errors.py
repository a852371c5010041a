"""Whatever the input, the SCXML reader raises ChartDefinitionError: never UnicodeDecodeError,
RecursionError, MemoryError or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from statefleet import ChartDefinitionError, from_scxml
from statefleet.formats._scxml import MAX_NESTING
from tests.scxml._util import NS, doc, run


def _nested(tag: str, depth: int, inner: str = "") -> str:
    return f"<{tag}>" * depth + inner + f"</{tag}>" * depth


def test_a_file_that_is_not_utf8_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.scxml"
    path.write_bytes(doc('<state id="caf\xe9"/>').encode("latin-1"))
    with pytest.raises(ChartDefinitionError, match="malformed XML"):
        from_scxml(path)
    # declared in its XML declaration, the same bytes are a valid document
    path.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        + doc('<state id="caf\xe9"/>').encode("latin-1")
    )
    assert from_scxml(path).start().active_leaves == ("caf\xe9",)


def test_an_unknown_declared_encoding_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.scxml"
    path.write_text('<?xml version="1.0" encoding="U-F-8"?>\n' + doc('<state id="a"/>'))
    with pytest.raises(ChartDefinitionError, match="unknown encoding"):
        from_scxml(path)


def test_utf16_and_a_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "u16.scxml"
    path.write_bytes(doc('<state id="a"/>').encode("utf-16"))
    assert from_scxml(path).name == "u16"
    path.write_bytes(b"\xef\xbb\xbf" + doc('<state id="a"/>').encode())
    assert from_scxml(path).name == "u16"


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 5_000, 100_000])
def test_deeply_nested_states_are_a_definition_error(depth: int) -> None:
    text = f'<scxml {NS} version="1.0">' + _nested("state", depth) + "</scxml>"
    with pytest.raises(ChartDefinitionError, match=f"more than {MAX_NESTING} levels deep"):
        from_scxml(text)


def test_deeply_nested_executable_content_is_a_definition_error() -> None:
    body = _nested('if cond="True"', 3_000).replace('</if cond="True">', "</if>")
    text = doc(f'<state id="a"><onentry>{body}</onentry></state>')
    with pytest.raises(ChartDefinitionError, match="levels deep"):
        from_scxml(text)


def test_nesting_within_the_limit_compiles_and_runs_and_beyond_it_does_not() -> None:
    with pytest.raises(ChartDefinitionError, match="levels deep"):
        from_scxml(doc(_nested('state id="x"', MAX_NESTING).replace('</state id="x">', "</state>")))
    depth = MAX_NESTING - 5
    inner = '<state id="leaf"/>'
    states = "".join(f'<state id="s{i}">' for i in range(depth)) + inner + "</state>" * depth
    session = run(doc(states))
    assert session.active_leaves == ("leaf",)


def test_an_invoked_document_is_held_to_the_same_limit() -> None:
    child = f'<scxml {NS} version="1.0">' + _nested("state", MAX_NESTING + 1) + "</scxml>"
    text = doc(f'<state id="a"><invoke><content>{child}</content></invoke></state>')
    with pytest.raises(ChartDefinitionError, match="levels deep"):
        from_scxml(text)


@pytest.mark.parametrize(
    "bad",
    [
        doc('<state id="\ud800"/>'),  # a lone surrogate cannot be encoded
        "chart\x00.scxml",
        "/dev/zero",
        "/",
        "x" * 5000,
        doc("<state id='a'/>").replace("</scxml>", ""),
        doc('<state id="a"/>') + "\x00",
    ],
)
def test_bad_text_or_paths_are_definition_errors(bad: str) -> None:
    with pytest.raises(ChartDefinitionError):
        from_scxml(bad)
