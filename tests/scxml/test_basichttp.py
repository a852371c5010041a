"""The Basic HTTP Event I/O Processor: a real server on 127.0.0.1, real POSTs."""

from __future__ import annotations

import json
import socket
from urllib.error import HTTPError
from urllib.request import ProxyHandler, Request, build_opener

import pytest

from statefleet import from_scxml
from statefleet.formats.basichttp import HTTP_PROCESSOR, OWN_SERVER, processor
from tests.scxml._util import PASS_FAIL, doc, run, verdict

OPENER = build_opener(ProxyHandler({}))

LISTENER = doc(
    """
    <datamodel><data id="where"/><data id="got" expr="None"/></datamodel>
    <state id="listening">
      <onentry><assign location="where" expr="_ioprocessors['basichttp']['location']"/></onentry>
      <transition event="*" target="heard">
        <assign location="got" expr="[_event.name, _event.data, _event.origintype,
            _event.raw.search('POST') == 0]"/>
      </transition>
    </state>
    <state id="heard"/>
    """
)


def _post(url: str, body: bytes, content_type: str) -> int:
    request = Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with OPENER.open(request, timeout=5) as response:
        return int(response.status)


def test_an_external_client_posts_an_event_with_parameters() -> None:
    session = from_scxml(LISTENER).start()
    url = session.context["where"]
    assert url.startswith("http://127.0.0.1:") and session.session_id in url
    body = b"_scxmleventname=order.placed&qty=3&sku=A%20B"
    assert _post(url, body, "application/x-www-form-urlencoded") == 200
    assert session.active_leaves == ("listening",)  # queued until pumped, on our thread
    assert processor().pump() == 1
    assert session.context["got"] == [
        "order.placed",
        {"qty": 3, "sku": "A B"},
        HTTP_PROCESSOR,
        True,
    ]


def test_a_json_body_without_an_event_name_is_an_http_post_event() -> None:
    session = from_scxml(LISTENER).start()
    assert _post(session.context["where"], b'{"a": [1, 2]}', "application/json") == 200
    processor().pump()
    assert session.context["got"][:2] == ["HTTP.POST", {"a": [1, 2]}]


def test_an_unknown_session_gets_404() -> None:
    session = from_scxml(LISTENER).start()
    url = session.context["where"].replace(session.session_id, "nobody")
    with pytest.raises(HTTPError) as info:
        _post(url, b"_scxmleventname=x", "application/x-www-form-urlencoded")
    assert info.value.code == 404
    info.value.close()


def test_two_sessions_talk_over_http_with_params_and_content() -> None:
    receiver = from_scxml(
        doc(
            """
            <datamodel><data id="where"/><data id="got" expr="[]"/></datamodel>
            <state id="r">
              <onentry><assign location="where" expr="_ioprocessors['basichttp'].location"/>
              </onentry>
              <transition event="*">
                <assign location="got" expr="got + [[_event.name, _event.data]]"/>
              </transition>
            </state>
            """
        )
    ).start()
    sender = from_scxml(
        doc(
            """
            <datamodel><data id="to"/><data id="n" expr="7"/></datamodel>
            <state id="s">
              <transition event="go">
                <send event="params" targetexpr="to" namelist="n"
                      type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor">
                  <param name="label" expr="'a b=c'"/>
                </send>
                <send event="body" targetexpr="to" type="basichttp">
                  <content>{"k": "v"}</content>
                </send>
              </transition>
            </state>
            """
        ),
        allow_http=[OWN_SERVER],  # safe mode sends nowhere the caller did not grant
    ).start(context={})
    sender.context["to"] = receiver.context["where"]
    sender.send("go")  # each POST is pumped as soon as it is answered
    assert receiver.context["got"] == [
        ["params", {"n": 7, "label": "a b=c"}],
        ["body", {"k": "v"}],
    ]


def test_an_unreachable_http_target_raises_error_communication() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = doc(
        f"""
        <state id="a">
          <onentry><send event="e" target="http://127.0.0.1:{port}/x" type="basichttp"/></onentry>
          <transition event="error.communication" target="pass"/>
          <transition event="*" target="fail"/>
        </state>
        """
        + PASS_FAIL
    )
    assert verdict(run(text, allow_http=[f"http://127.0.0.1:{port}"])) == "pass"


def test_a_basic_http_send_without_target_raises_error_communication_at_once() -> None:
    text = doc(
        '<state id="a"><onentry><send event="first"/><send event="e" type="basichttp"/>'
        '</onentry><transition event="error.communication" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass"


def test_the_processor_serves_json_decoding_only_for_json_looking_values() -> None:
    session = from_scxml(LISTENER).start()
    body = "_scxmleventname=e&" + "&".join(
        f"{k}={v}" for k, v in {"n": "12", "s": "hello", "l": json.dumps([1])}.items()
    )
    _post(session.context["where"], body.encode(), "application/x-www-form-urlencoded")
    processor().pump()
    assert session.context["got"][1] == {"n": 12, "s": "hello", "l": [1]}
