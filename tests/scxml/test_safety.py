"""Safe mode: a document from an untrusted source cannot reach the filesystem, imports or
interpreter internals; what needs more is refused when the document is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from statefleet import ChartDefinitionError, from_scxml
from tests.scxml._util import PASS_FAIL, doc, run, verdict

UNSAFE = [
    "__import__('os').system('echo pwned')",
    "open('/etc/passwd').read()",
    "().__class__.__bases__[0].__subclasses__()",
    "_event.__class__",
    "(lambda: 0).__globals__",
    "'{0.__class__}'.format(1)",
    "getattr(_event, 'name')",
    "eval('1 + 1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "vars()",
    "type(1)",
    "breakpoint()",
    "[g.gi_frame for g in [(x for x in [])]]",
    "(y := 1)",
    "f'{_event.__class__}'",
    "(lambda __x: __x)(1)",
    "_sf_pow(2, 3)",
]


@pytest.mark.parametrize("expr", UNSAFE)
def test_unsafe_expressions_are_refused_at_load_with_the_element_and_line(expr: str) -> None:
    text = doc(
        '<datamodel><data id="x" expr="0"/></datamodel>\n'
        f'<state id="a">\n<onentry>\n<log expr="{_attr(expr)}"/>\n</onentry>\n</state>'
    )
    with pytest.raises(ChartDefinitionError, match="unsafe expression") as info:
        from_scxml(text)
    assert info.value.line == 5
    assert "expr of <log>" in str(info.value) and "trusted=True" in str(info.value)


@pytest.mark.parametrize(
    "element",
    [
        '<transition cond="open(\'f\')" target="a"/>',
        '<onentry><assign location="x.__class__" expr="1"/></onentry>',
        '<onentry><send event="e"><param name="p" expr="__import__(\'os\')"/></send></onentry>',
        '<onentry><foreach array="[1]" item="__builtins__"/></onentry>',
    ],
)
def test_every_expression_attribute_is_checked(element: str) -> None:
    text = doc(
        f'<datamodel><data id="x" expr="0"/></datamodel>\n<state id="a">\n{element}\n</state>'
    )
    with pytest.raises(ChartDefinitionError, match="unsafe expression") as info:
        from_scxml(text)
    assert info.value.line == 4


def test_script_is_refused_in_safe_mode_naming_the_element_and_line() -> None:
    text = doc('<state id="a">\n<onentry>\n<script>x = 1</script>\n</onentry>\n</state>')
    with pytest.raises(ChartDefinitionError, match="<script>") as info:
        from_scxml(text)
    assert info.value.line == 4 and "onentry/script" in info.value.path
    assert "trusted=True" in str(info.value)


def test_script_src_is_refused_in_safe_mode_without_reading_the_file(tmp_path: Path) -> None:
    text = doc('<script src="file:does-not-exist.py"/><state id="a"/>')
    with pytest.raises(ChartDefinitionError, match="<script>"):
        from_scxml(text, base_dir=tmp_path)


def test_an_invoked_document_is_held_to_the_same_rules(tmp_path: Path) -> None:
    (tmp_path / "child.scxml").write_text(doc("<script>import os</script><final id='f'/>"))
    text = doc('<state id="a"><invoke src="file:child.scxml"/></state>')
    with pytest.raises(ChartDefinitionError, match="<script>"):
        from_scxml(text, base_dir=tmp_path)
    assert from_scxml(text, base_dir=tmp_path, trusted=True) is not None


def test_hasattr_cannot_probe_private_attributes() -> None:
    text = doc(
        '<state id="a"><transition cond="not hasattr(_event, \'__class__\')'
        ' and hasattr(_event, \'name\')" target="pass"/></state>'
        '<state id="b"/>' + PASS_FAIL,
        initial="a",
    )
    # _event is None before the first event: hasattr(None, 'name') is False
    assert verdict(run(text)) == "a"
    text = doc(
        '<state id="a"><onentry><raise event="e"/></onentry>'
        '<transition event="e" cond="not hasattr(_event, \'__class__\')'
        ' and hasattr(_event, \'name\')" target="pass"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"


def test_trusted_mode_allows_what_safe_mode_refuses() -> None:
    text = doc(
        '<datamodel><data id="x" expr="0"/></datamodel><state id="a"><onentry>'
        '<assign location="x" expr="__import__(\'math\').floor(2.5)"/></onentry>'
        '<transition cond="x == 2" target="pass"/></state>' + PASS_FAIL
    )
    with pytest.raises(ChartDefinitionError):
        from_scxml(text)
    assert verdict(run(text, trusted=True)) == "pass"


def _attr(expr: str) -> str:
    return expr.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
