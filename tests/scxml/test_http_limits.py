"""Basic HTTP limits: where a document may send (safe mode: this process's own server unless
the caller allows more) and what the receiving server accepts (a valid, bounded
Content-Length; a bounded number of workers). Real servers on 127.0.0.1, real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from statefleet import ChartDefinitionError, from_scxml
from statefleet.core import decode_snapshot, encode_snapshot
from statefleet.formats.basichttp import (
    MAX_BODY_BYTES,
    MAX_WORKERS,
    OWN_SERVER,
    BasicHTTPProcessor,
    processor,
)
from tests.scxml._util import PASS_FAIL, doc, run, verdict


class _Recorder(HTTPServer):
    """A target server on 127.0.0.1 that records the paths POSTed to it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.paths.append(self.path)
                if self.path.startswith("/redirect"):
                    self.send_response(307)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def target() -> Iterator[_Recorder]:
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _sender(url: str) -> str:
    return doc(
        f'<state id="a"><onentry><send event="leak" target="{url}" type="basichttp">'
        '<param name="secret" expr="\'s3cret\'"/></send><send event="done" delay="1s"/>'
        '</onentry><transition event="error.communication" target="fail"/>'
        '<transition event="done" target="pass"/></state>' + PASS_FAIL
    )


# -- outbound ------------------------------------------------------------------------------------


def test_safe_mode_sends_nothing_to_a_target_the_caller_did_not_allow(target: _Recorder) -> None:
    assert verdict(run(_sender(f"{target.origin}/hook"))) == "fail"  # error.communication
    assert target.paths == []


def test_an_allowed_origin_or_url_receives_the_send(target: _Recorder) -> None:
    assert verdict(run(_sender(f"{target.origin}/hook"), allow_http=[target.origin])) == "pass"
    assert verdict(run(_sender(f"{target.origin}/x?y=1"), allow_http=[target.origin])) == "pass"
    exact = [f"{target.origin}/hook"]
    assert verdict(run(_sender(f"{target.origin}/hook"), allow_http=exact)) == "pass"
    assert verdict(run(_sender(f"{target.origin}/other"), allow_http=exact)) == "fail"
    # the allowlist names hosts, not spellings: userinfo does not smuggle another host in
    sneaky = f"http://127.0.0.1:{target.server_address[1]}@127.0.0.2:1/x"
    assert verdict(run(_sender(sneaky), allow_http=[target.origin])) == "fail"
    assert target.paths == ["/hook", "/x?y=1", "/hook"]


def test_safe_mode_reaches_other_sessions_over_http_only_when_granted() -> None:
    # This process's own Basic HTTP server (other sessions' addresses) is a target like any
    # other: refused unless the caller grants OWN_SERVER.
    receiver = from_scxml(
        doc(
            '<datamodel><data id="where"/><data id="got" expr="0"/></datamodel><state id="r">'
            '<onentry><assign location="where" expr="_ioprocessors[\'basichttp\'].location"/>'
            '</onentry><transition event="ping"><assign location="got" expr="got + 1"/>'
            "</transition></state>"
        )
    ).start()
    where = receiver.context["where"]
    assert verdict(run(_sender(where))) == "fail"  # error.communication, nothing sent
    assert receiver.context["got"] == 0
    ping = _sender(where).replace('event="leak"', 'event="ping"')
    assert verdict(run(ping, allow_http=[OWN_SERVER])) == "pass"
    assert receiver.context["got"] == 1


def test_a_computed_target_is_checked_when_sent(target: _Recorder) -> None:
    text = doc(
        f'<datamodel><data id="to" expr="\'{target.origin}/a\'"/></datamodel>'
        '<state id="a"><onentry><send event="e" targetexpr="to" type="basichttp"/>'
        "</onentry>"
        '<transition event="error.communication" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(text)) == "pass" and target.paths == []


def test_a_redirect_is_not_followed(target: _Recorder) -> None:
    session = run(_sender(f"{target.origin}/redirect"), allow_http=[f"{target.origin}/redirect"])
    assert verdict(session) == "fail"  # a 307 is not a 2xx: error.communication
    assert target.paths == ["/redirect"]


def test_trusted_documents_send_anywhere_unless_given_an_allowlist(target: _Recorder) -> None:
    assert verdict(run(_sender(f"{target.origin}/t"), trusted=True)) == "pass"
    assert verdict(run(_sender(f"{target.origin}/t"), trusted=True, allow_http=[])) == "fail"
    assert target.paths == ["/t"]


@pytest.mark.parametrize("entries", [["ftp://host"], ["http://"], "http://a.example"])
def test_an_invalid_allowlist_is_a_definition_error(entries: Any) -> None:
    with pytest.raises(ChartDefinitionError, match="allow_http"):
        from_scxml(_sender("http://a.example/x"), allow_http=entries)


# -- the receiving server ------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[BasicHTTPProcessor]:
    proc = BasicHTTPProcessor()
    assert proc.base_url  # starts the server
    try:
        yield proc
    finally:
        proc.close()


def _raw(proc: BasicHTTPProcessor, request: bytes) -> str:
    """Send raw bytes, return the status line of the answer."""
    host, port = proc.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        return s.makefile("rb").readline().decode("latin-1").strip()


_HEAD = b"POST /scxml/nobody/basichttp HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"", "411"),
        (b"Transfer-Encoding: chunked\r\n", "411"),
        (b"Content-Length: abc\r\n", "400"),
        (b"Content-Length: -5\r\n", "400"),
        (b"Content-Length: 1\r\nContent-Length: 2\r\n", "400"),
        (f"Content-Length: {MAX_BODY_BYTES + 1}\r\n".encode(), "413"),
        (b"Content-Length: 99999999999999999999\r\n", "413"),
    ],
)
def test_the_server_validates_content_length_before_reading(
    server: BasicHTTPProcessor, headers: bytes, status: str
) -> None:
    # no body follows: the server answers without waiting for one
    assert _raw(server, _HEAD + headers + b"\r\n").split()[1] == status
    # and it still reads a valid request
    body = b"_scxmleventname=e"
    line = _raw(server, _HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert line.split()[1] == "404"  # read, parsed, and no such session


def test_the_server_bounds_its_workers(server: BasicHTTPProcessor) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    stalled = [socket.create_connection((host, int(port)), timeout=10) for _ in range(MAX_WORKERS)]
    try:
        for s in stalled:  # each holds a worker: its request line never ends
            s.sendall(b"POST /scxml/x/basichttp HTTP/1.1\r\n")
        # one more connection is answered 503 at once instead of getting a new thread
        assert _raw(server, _HEAD + b"Content-Length: 0\r\n\r\n").split()[1] == "503"
    finally:
        for s in stalled:
            s.close()


# -- the raw message -----------------------------------------------------------------------------


def test_raw_search_refuses_patterns_that_backtrack_exponentially() -> None:
    session = from_scxml(
        doc(
            '<datamodel><data id="where"/><data id="raw"/><data id="hit"/></datamodel>'
            '<state id="listening"><onentry>'
            '<assign location="where" expr="_ioprocessors[\'basichttp\'].location"/>'
            '</onentry><transition event="ping" target="heard">'
            '<assign location="raw" expr="_event.raw"/>'
            '<assign location="hit" expr="_event.raw.search(\'POST\')"/>'
            '<assign location="hit" expr="_event.raw.search(\'(a+)+$\')"/>'
            '</transition></state><state id="heard">'
            '<transition event="error.execution" target="refused"/></state>'
            '<state id="refused"/>'
        )
    ).start()
    body = b"_scxmleventname=ping&x=" + b"a" * 5000 + b"!"
    host, port = session.context["where"].removeprefix("http://").split("/")[0].split(":")
    path = "/" + session.context["where"].split("/", 3)[3]
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        assert s.makefile("rb").readline().split()[1] == b"200"
    processor().pump()
    assert session.active_leaves == ("refused",)
    assert session.context["hit"] == 0  # the first search ran; the second was refused
    # the raw message kept in the datamodel is a plain string: snapshots encode it
    raw = decode_snapshot(encode_snapshot(session.snapshot())).context["raw"]
    assert type(raw) is str and raw.startswith("POST")
