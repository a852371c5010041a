"""SCXML conformance beyond the W3C suite's Python rendering: ``_event.origintype`` of events
from the SCXML Event I/O Processor is the processor's URI (SCXML 5.10.1, C.1), and text that is
neither XML nor JSON in ``<data>``, ``<data src>`` files and ``<send><content>`` becomes a
space-normalized string (the W3C IRP's tests 558 and 562)."""

from __future__ import annotations

from pathlib import Path

from statefleet.core import decode_snapshot, encode_snapshot
from tests.scxml._util import PASS_FAIL, doc, run, verdict

URI = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"


def test_origintype_of_scxml_processor_events_is_the_processor_uri() -> None:
    text = doc(
        '<datamodel><data id="t"/><data id="u"/></datamodel>'
        '<state id="a"><onentry><send event="e1"/>'
        '<send event="e2" type="scxml" targetexpr="\'#_scxml_\' + _sessionid"/></onentry>'
        '<transition event="e1" target="b"><assign location="t" expr="_event.origintype"/>'
        "</transition></state>"
        '<state id="b"><transition event="e2" target="c">'
        '<assign location="u" expr="str(_event.origintype)"/></transition></state>'
        '<state id="c"><transition cond="t == \'http://www.w3.org/TR/scxml/#SCXMLEventProcessor\''
        ' and u == t" target="pass"/><transition target="fail"/></state>' + PASS_FAIL
    )
    session = run(text)
    assert verdict(session) == "pass"
    assert str(session.context["t"]) == URI and session.context["u"] == URI
    assert type(session.context["u"]) is str
    # stored in the datamodel, it snapshots as the URI
    restored = decode_snapshot(encode_snapshot(session.snapshot()))
    assert restored.context["t"] == URI and type(restored.context["t"]) is str


def test_an_invoked_child_and_its_parent_see_the_uri_and_can_answer_with_it() -> None:
    text = doc(
        '<datamodel><data id="t"/></datamodel><state id="a">'
        '<invoke id="kid"><content><scxml version="1.0" '
        'xmlns="http://www.w3.org/2005/07/scxml">'
        '<state id="c"><onentry><send event="hello" target="#_parent"/></onentry>'
        '<transition event="reply" cond="_event.origintype == \'http://www.w3.org/TR/scxml/'
        '#SCXMLEventProcessor\'" target="ok"/></state>'
        '<final id="ok"/></scxml></content></invoke>'
        '<transition event="hello"><assign location="t" expr="_event.origintype"/>'
        '<send event="reply" targetexpr="_event.origin" typeexpr="_event.origintype"/>'
        "</transition>"
        '<transition event="done.invoke.kid" target="pass"/></state>' + PASS_FAIL
    )
    session = run(text)
    assert verdict(session) == "pass" and str(session.context["t"]) == URI


def test_text_data_is_space_normalized(tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text("\n   this  is\t a\n\n  string \n")
    text = doc(
        "<datamodel>"
        '<data id="inline">\n   this  is\n\t a   string\n</data>'
        '<data id="file" src="file:text.txt"/>'
        '<data id="json">\n  {"a":   "x  y"}\n</data>'
        '<data id="got"/>'
        "</datamodel>"
        '<state id="a"><onentry><send event="e"><content>\n  this   is\n  a string  '
        "</content></send></onentry>"
        '<transition event="e" target="b"><assign location="got" expr="_event.data"/>'
        '</transition></state><state id="b"/>'
    )
    context = run(text, base_dir=tmp_path).context
    assert context["inline"] == "this is a string"
    assert context["file"] == "this is a string"
    assert context["got"] == "this is a string"
    assert context["json"] == {"a": "x  y"}  # JSON is data, not text: left as it is
