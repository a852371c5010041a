"""The SCXML reader: documents in, charts out; clear errors for bad documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from statefleet import ChartDefinitionError, from_scxml
from tests.scxml._util import PASS_FAIL, doc, run, verdict

# -- bad documents ------------------------------------------------------------------------------


def test_malformed_xml_names_the_line() -> None:
    text = doc('<state id="a">\n<transition target="b">\n</state>')
    with pytest.raises(ChartDefinitionError, match="malformed XML") as info:
        from_scxml(text)
    assert info.value.line == 4


def test_an_unknown_target_names_the_target_the_element_and_its_line() -> None:
    text = doc('<state id="a">\n  <transition event="go" target="bb"/>\n</state>\n<state id="b"/>')
    with pytest.raises(ChartDefinitionError) as info:
        from_scxml(text)
    err = info.value
    assert "unknown target 'bb'" in str(err) and "did you mean 'b'" in str(err)
    assert err.line == 3 and "state[a]/transition" in err.path


def test_the_root_must_be_scxml() -> None:
    with pytest.raises(ChartDefinitionError, match="must be <scxml>"):
        from_scxml('<state id="a"/>')


def test_an_unknown_element_is_an_error_with_its_line() -> None:
    text = doc('<state id="a">\n<onentry>\n<frobnicate/>\n</onentry>\n</state>')
    with pytest.raises(ChartDefinitionError, match="frobnicate") as info:
        from_scxml(text)
    assert info.value.line == 4


def test_entity_expansion_is_refused() -> None:
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE scxml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<scxml xmlns="http://www.w3.org/2005/07/scxml"><state id="&b;"/></scxml>'
    )
    with pytest.raises(ChartDefinitionError, match="refused XML"):
        from_scxml(text)


def test_conflicting_attributes_are_errors() -> None:
    text = doc('<state id="a"><onentry><send event="x" eventexpr="\'y\'"/></onentry></state>')
    with pytest.raises(ChartDefinitionError, match="event and eventexpr"):
        from_scxml(text)


def test_a_bad_static_delay_is_an_error() -> None:
    text = doc('<state id="a"><onentry><send event="x" delay="soon"/></onentry></state>')
    with pytest.raises(ChartDefinitionError, match="invalid delay 'soon'"):
        from_scxml(text)


def test_a_missing_document_is_an_error() -> None:
    with pytest.raises(ChartDefinitionError, match="cannot read SCXML document"):
        from_scxml(Path("/nonexistent/chart.scxml"))


def test_a_missing_invoked_document_is_an_error_naming_the_invoke(tmp_path: Path) -> None:
    main = tmp_path / "main.scxml"
    main.write_text(doc('<state id="a">\n<invoke src="file:child.scxml"/>\n</state>'))
    with pytest.raises(ChartDefinitionError, match="cannot read") as info:
        from_scxml(main, base_dir=tmp_path)
    assert info.value.line == 3


# -- structure and data -------------------------------------------------------------------------


def test_states_parallel_initial_and_history() -> None:
    text = doc(
        """
        <state id="s">
          <initial><transition target="p"><raise event="init"/></transition></initial>
          <parallel id="p">
            <state id="r1">
              <transition event="init" target="r1b"/><state id="r1a"/><state id="r1b"/>
            </state>
            <state id="r2"/>
            <transition event="out" target="o"/>
          </parallel>
          <history id="h" type="deep"><transition target="p"/></history>
        </state>
        <state id="o"><transition event="back" target="h"/></state>
        """,
        initial="s",
    )
    s = run(text)
    assert set(s.active_leaves) == {"r1b", "r2"}
    s.send("out")
    assert s.active_leaves == ("o",)
    s.send("back")
    assert set(s.active_leaves) == {"r1b", "r2"}


def test_the_chart_is_named_after_the_document(tmp_path: Path) -> None:
    path = tmp_path / "orders.scxml"
    path.write_text(doc('<final id="f"/>'))
    assert from_scxml(path).name == "orders"
    assert from_scxml(doc('<final id="f"/>', name="shop")).name == "shop"


def test_data_from_expr_inline_json_inline_xml_and_a_src_file(tmp_path: Path) -> None:
    (tmp_path / "items.json").write_text('{"sku": [1, 2]}')
    text = doc(
        """
        <datamodel>
          <data id="n" expr="40 + 2"/>
          <data id="inline">[1, 2, 3]</data>
          <data id="xml"><books xmlns=""><book title="t1"/></books></data>
          <data id="file" src="file:items.json"/>
          <data id="empty"/>
        </datamodel>
        <state id="a"/>
        """
    )
    s = run(text, base_dir=tmp_path)
    ctx = s.context
    assert ctx["n"] == 42 and ctx["inline"] == [1, 2, 3] and ctx["file"] == {"sku": [1, 2]}
    assert ctx["xml"].findall("book")[0].get("title") == "t1"
    assert ctx["empty"] is None


def test_sessions_never_share_mutable_initial_data() -> None:
    text = doc(
        '<datamodel><data id="items">[1]</data></datamodel>'
        '<state id="a"><transition event="add"><assign location="items[0]" expr="99"/>'
        "</transition></state>"
    )
    chart = from_scxml(text)
    one, two = chart.start(), chart.start()
    one.send("add")
    assert one.context["items"] == [99] and two.context["items"] == [1]


def test_late_binding_initializes_a_state_s_data_on_first_entry() -> None:
    text = doc(
        """
        <state id="a">
          <transition cond="v == 7" target="fail"/>
          <transition target="b"/>
        </state>
        <state id="b">
          <datamodel><data id="v" expr="7"/></datamodel>
          <transition cond="v == 7" target="pass"/>
        </state>
        """
        + PASS_FAIL,
        binding="late",
    )
    # in "a", v is not bound yet: its cond raises error.execution and counts as false
    assert verdict(run(text)) == "pass"
    assert verdict(run(text.replace('binding="late"', 'binding="early"'))) == "fail"


def test_foreach_if_and_assign() -> None:
    text = doc(
        """
        <datamodel><data id="total" expr="0"/><data id="odd" expr="[]"/></datamodel>
        <state id="a">
          <onentry>
            <foreach array="[1, 2, 3, 4]" item="x" index="i">
              <if cond="x % 2 == 0">
                <assign location="total" expr="total + x"/>
              <elseif cond="x == 3"/>
                <assign location="odd" expr="odd + [x * 10]"/>
              <else/>
                <assign location="odd" expr="odd + [x]"/>
              </if>
            </foreach>
          </onentry>
          <transition cond="total == 6 and odd == [1, 30] and x == 4 and i == 3" target="pass"/>
          <transition target="fail"/>
        </state>
        """
        + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"


# -- expressions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cond",
    [
        "sorted({'b': 1, 'a': 2}.keys()) == ['a', 'b']",
        "[n * n for n in range(4) if n % 2] == [1, 9]",
        "(lambda v: v + 1)(1) == 2",
        "'abc'.upper().startswith('AB')",
        "In('a') and not In('pass')",
        "true &amp;&amp; !false &amp;&amp; null === None",
        "len({x for x in 'aab'}) == 2 and max(1, 2) == 2",
        "f'{1 + 1}' == '2'",
        "[1, 2] instanceof Array &amp;&amp; !({} instanceof Array)",
        "[v + n for v in [1, 2]] == [11, 12] and (lambda: n * 2)() == 20",
    ],
)
@pytest.mark.parametrize("trusted", [False, True])
def test_expressions_see_the_datamodel_everywhere(cond: str, trusted: bool) -> None:
    text = doc(
        '<datamodel><data id="n" expr="10"/></datamodel>'
        f'<state id="a"><transition cond="{cond}" target="pass"/></state>' + PASS_FAIL
    )
    assert verdict(run(text, trusted=trusted)) == "pass"


def test_a_syntax_error_raises_error_execution_when_evaluated_not_when_loaded() -> None:
    text = doc(
        '<state id="a"><onentry><log expr="1 = 1"/></onentry>'
        '<transition event="error.execution" target="pass"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"


def test_huge_powers_fail_with_error_execution_instead_of_hanging() -> None:
    text = doc(
        '<datamodel><data id="big" expr="0"/></datamodel>'
        '<state id="a"><onentry><assign location="big" expr="10 ** 10 ** 10"/></onentry>'
        '<transition event="error.execution" target="pass"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"


def test_assigning_an_undeclared_variable_or_a_system_variable_raises_error_execution() -> None:
    for location in ("undeclared", "_sessionid", "_event"):
        text = doc(
            f'<state id="a"><onentry><assign location="{location}" expr="1"/></onentry>'
            '<transition event="error.execution" target="pass"/>'
            '<transition event="*" target="fail"/></state>' + PASS_FAIL
        )
        assert verdict(run(text)) == "pass", location


def test_trusted_mode_runs_scripts_and_full_python(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text("def double(v):\n    return v * 2\n")
    text = doc(
        """
        <datamodel><data id="n" expr="3"/></datamodel>
        <script src="lib.py"/>
        <script>
            import math
            n = int(math.sqrt(16)) + n
        </script>
        <state id="a"><transition cond="double(n) == 14" target="pass"/></state>
        """
        + PASS_FAIL
    )
    assert verdict(run(text, trusted=True, base_dir=tmp_path)) == "pass"


# -- events and system variables ----------------------------------------------------------------


def test_event_fields_and_system_variables() -> None:
    text = doc(
        """
        <datamodel><data id="seen" expr="None"/></datamodel>
        <state id="a">
          <onentry><send event="hello" id="s1"><param name="k" expr="5"/></send></onentry>
          <transition event="hello" target="b">
            <assign location="seen" expr="[_event.name, _event.type, _event.sendid,
                _event.origintype, _event.data.k, _event.data['k'], _event.origin,
                _name, _ioprocessors['scxml'].location == '#_scxml_' + _sessionid]"/>
          </transition>
        </state>
        <state id="b"/>
        """,
        name="machine",
    )
    s = run(text)
    assert s.context["seen"] == [
        "hello",
        "external",
        "s1",
        "scxml",
        5,
        5,
        f"#_scxml_{s.session_id}",
        "machine",
        True,
    ]


def test_a_send_without_id_leaves_the_event_sendid_blank_but_fills_idlocation() -> None:
    text = doc(
        """
        <datamodel><data id="sid"/><data id="got" expr="'unset'"/></datamodel>
        <state id="a">
          <onentry><send event="e" idlocation="sid"/></onentry>
          <transition event="e" target="b">
            <assign location="got" expr="_event.sendid"/>
          </transition>
        </state>
        <state id="b"/>
        """
    )
    s = run(text)
    assert s.context["got"] is None and s.context["sid"]


def test_an_invalid_target_raises_error_execution_carrying_the_sendid() -> None:
    text = doc(
        """
        <datamodel><data id="sid"/><data id="err"/></datamodel>
        <state id="a">
          <onentry><send event="e" target="not a target" idlocation="sid"/></onentry>
          <transition event="error.execution" target="b">
            <assign location="err" expr="_event.sendid"/>
          </transition>
        </state>
        <state id="b"/>
        """
    )
    s = run(text)
    assert s.context["err"] == s.context["sid"] is not None


def test_an_unknown_session_raises_error_communication_before_later_internal_events() -> None:
    text = doc(
        '<state id="a"><onentry><send event="e" target="#_scxml_nobody"/><raise event="next"/>'
        '</onentry><transition event="error.communication" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"


def test_delayed_sends_and_cancel_on_the_virtual_clock() -> None:
    text = doc(
        """
        <state id="a">
          <onentry>
            <send event="late" delay="2s"/>
            <send event="cancelled" id="c" delayexpr="'500ms'"/>
            <cancel sendidexpr="'c'"/>
          </onentry>
          <transition event="late" target="pass"/>
          <transition event="*" target="fail"/>
        </state>
        """
        + PASS_FAIL
    )
    s = run(text)
    assert verdict(s) == "pass" and s.clock.now() == 2.0


# -- invoke -------------------------------------------------------------------------------------


def test_invoke_a_file_relative_to_the_parent_with_params_donedata_and_finalize(
    tmp_path: Path,
) -> None:
    (tmp_path / "child.scxml").write_text(
        doc(
            """
            <datamodel><data id="x" expr="0"/></datamodel>
            <state id="c"><onentry><send target="#_parent" event="hi"/></onentry>
              <transition target="end"/></state>
            <final id="end"><donedata><param name="twice" expr="x * 2"/></donedata></final>
            """
        )
    )
    parent = tmp_path / "sub" / "parent.scxml"
    parent.parent.mkdir()
    parent.write_text(
        doc(
            """
            <datamodel><data id="x" expr="21"/><data id="hi" expr="0"/><data id="r"/></datamodel>
            <state id="a">
              <invoke id="kid" src="file:../child.scxml" namelist="x">
                <param name="unknown" expr="1"/>
                <finalize><assign location="hi" expr="hi + 1"/></finalize>
              </invoke>
              <transition event="done.invoke.kid" target="b">
                <assign location="r" expr="_event.data['twice']"/>
              </transition>
            </state>
            <state id="b"/>
            """
        )
    )
    # '..' leaves the document's folder: a trusted document may (safe mode refuses it)
    s = run(str(parent), trusted=True)
    assert s.active_leaves == ("b",)
    # finalize ran for both events from the child: "hi" and done.invoke.kid
    assert s.context["r"] == 42 and s.context["hi"] == 2


def test_an_invoked_document_with_a_dead_transition_still_runs() -> None:
    # W3C test 240 invokes a document whose fallback transition names a missing state
    text = doc(
        """
        <state id="a">
          <invoke><content><scxml version="1.0">
            <state id="c">
              <transition cond="True" target="end"/>
              <transition target="nowhere"/>
            </state>
            <final id="end"/>
          </scxml></content></invoke>
          <transition event="done.invoke" target="pass"/>
        </state>
        """
        + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"
