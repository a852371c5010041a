"""The SCXML Basic HTTP Event I/O Processor (SCXML Appendix C.2) for sync sessions.

A session that needs it (its document reads ``_ioprocessors['basichttp']`` or sends with
``type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"``) starts one process-wide HTTP
server on ``127.0.0.1`` (a free port, in a daemon thread) and gets an address of its own,
``http://127.0.0.1:<port>/scxml/<sessionid>/basichttp``.

*Receiving*: a POST to that address becomes an external event: its name is the
``_scxmleventname`` parameter (query string or form body), else ``HTTP.POST``; the other form
parameters become ``_event.data`` (values that parse as JSON are decoded), a body that is not a
form becomes the data itself (JSON, XML or text); ``_event.raw`` holds the raw request; the
response is ``200`` once the event is queued, ``404`` for an unknown session. Requests arrive on
the server thread, so events wait in an inbox until :meth:`BasicHTTPProcessor.pump` hands them
to their sessions on the caller's thread (the W3C runner pumps; with a real clock, call
``statefleet.formats.basichttp.processor().pump()`` from your loop).

*Sending*: a Basic HTTP ``<send>`` is a POST with ``application/x-www-form-urlencoded``
parameters: ``_scxmleventname`` (the event name), the namelist and ``<param>`` values; with
``<content>`` the percent-encoded content is the body and the event name goes in the query
string. The processor is installed as the sending session's ``router``; after the POST it
pumps, so an event a session sends to itself is queued before anything it sends later. A target
that does not answer with a 2xx gives ``error.communication``; redirects are not followed.

*Limits*: which targets a document may send to is an :class:`Allowlist` (safe mode: nowhere
unless the caller allows targets; :data:`OWN_SERVER` allows this process's own server). The
server reads a request only with a valid ``Content-Length`` of at most :data:`MAX_BODY_BYTES`
(411, 400 or 413 otherwise, the body unread), runs at most :data:`MAX_WORKERS` requests at once
(503 beyond) and gives a client :data:`REQUEST_TIMEOUT` seconds per read.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import URLError
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit
from urllib.request import HTTPRedirectHandler, ProxyHandler, Request, build_opener

from statefleet.core import ActionContext, EventData
from statefleet.formats._scxml_expr import HTTP_PROCESSOR, attach_raw, parse_value_text

__all__ = [
    "HTTP_PROCESSOR",
    "MAX_BODY_BYTES",
    "MAX_WORKERS",
    "OWN_SERVER",
    "REQUEST_TIMEOUT",
    "Allowlist",
    "BasicHTTPProcessor",
    "processor",
]

_EVENT_PARAM = "_scxmleventname"
_ORIGIN_HEADER = "X-SCXML-Origin"
_TIMEOUT = 5.0
#: the largest request body the server reads (64 KiB)
MAX_BODY_BYTES = 64 * 1024
#: requests the server handles at once; more get 503 right away
MAX_WORKERS = 8
#: seconds a client may take for each read of its request
REQUEST_TIMEOUT = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL; ValueError for anything else."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL with a host")
    port = parts.port  # ValueError for a malformed port
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


#: An ``allow_http`` entry that allows this process's own Basic HTTP server (other sessions).
OWN_SERVER = "own-server"


class Allowlist:
    """The Basic HTTP targets one document may send to.

    ``entries`` are origins (``https://api.example.com``, ``http://127.0.0.1:8080``: any path
    there) or full URLs (``https://hooks.example.com/scxml``: that URL only, query included).
    The entry :data:`OWN_SERVER` allows this process's own Basic HTTP server (the addresses of
    other sessions of the process), whose port is only known once it runs. ``None`` means
    *everything* when the document is trusted, and *nothing* in safe mode. An invalid entry
    raises ``ValueError``.
    """

    __slots__ = ("_exact", "_origins", "_own", "everything")

    def __init__(self, entries: Iterable[str] | None, *, trusted: bool) -> None:
        #: no restriction at all (a trusted document, no entries given)
        self.everything = entries is None and trusted
        self._origins: set[tuple[str, str, int]] = set()
        self._exact: set[tuple[tuple[str, str, int], str, str]] = set()
        self._own = False
        if isinstance(entries, str):
            raise ValueError("allow_http takes a list of URLs or origins, not one string")
        for entry in entries or ():
            if not isinstance(entry, str):
                raise ValueError(f"allow_http entries are strings, not {type(entry).__name__}")
            if entry == OWN_SERVER:
                self._own = True
                continue
            origin = _origin(entry)
            parts = urlsplit(entry)
            if parts.path in ("", "/") and not parts.query:
                self._origins.add(origin)
            else:
                self._exact.add((origin, parts.path, parts.query))

    def allows(self, url: str) -> bool:
        """Whether a send to ``url`` may leave."""
        if self.everything:
            return True
        try:
            origin = _origin(url)
        except ValueError:
            return False
        if origin in self._origins or (self._own and _PROCESSOR.serves(origin)):
            return True
        parts = urlsplit(url)
        return (origin, parts.path, parts.query) in self._exact


class _NoRedirect(HTTPRedirectHandler):
    """A POST is never re-sent elsewhere: a redirect answers as the non-2xx it is."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class BasicHTTPProcessor:
    """One HTTP server on 127.0.0.1 shared by every session of the process that needs it.

    Sessions register lazily (:meth:`location`); :meth:`pump` delivers received events on the
    calling thread; :meth:`close` stops the server (it restarts on the next registration).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._lock = threading.RLock()  # weakref callbacks may run under it (GC)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sessions: dict[str, weakref.ref[Any]] = {}
        self._inbox: queue.SimpleQueue[tuple[weakref.ref[Any], EventData, str]] = (
            queue.SimpleQueue()
        )
        # never send loopback through a proxy; never follow a redirect to another target
        self._opener = build_opener(ProxyHandler({}), _NoRedirect())

    # -- the server -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, starting the server if needed."""
        with self._lock:
            server = self._server
            if server is None:
                server = self._start()
        return f"http://{self.host}:{server.server_address[1]}"

    def serves(self, origin: tuple[str, str, int]) -> bool:
        """Whether ``(scheme, host, port)`` is this processor's running server."""
        server = self._server
        return server is not None and origin == ("http", self.host, server.server_address[1])

    def _start(self) -> ThreadingHTTPServer:
        server = _BoundedServer((self.host, 0), _make_handler(self))
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="statefleet-basichttp",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return server

    def close(self) -> None:
        """Stop the server and forget every registered session."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._sessions.clear()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    # -- sessions ---------------------------------------------------------------------------
    def location(self, session_id: str, owner: Any) -> str:
        """Register ``owner`` (an object with ``send(EventData)``, e.g. a Session) under
        ``session_id`` and return its Basic HTTP address."""
        base = self.base_url
        with self._lock:
            ref = self._sessions.get(session_id)
            if ref is None or ref() is not owner:
                self._sessions[session_id] = weakref.ref(owner, self._forget(session_id))
        return f"{base}/scxml/{quote(session_id, safe='')}/basichttp"

    def _forget(self, session_id: str) -> Callable[[weakref.ref[Any]], None]:
        def forget(ref: weakref.ref[Any]) -> None:
            with self._lock:
                if self._sessions.get(session_id) is ref:
                    del self._sessions[session_id]

        return forget

    def _lookup(self, session_id: str) -> weakref.ref[Any] | None:
        with self._lock:
            return self._sessions.get(session_id)

    def install(self, owner: Any, session_id: str) -> None:
        """Make this processor ``owner``'s router for ``http(s)://`` targets (keeping any
        router it already had for other targets)."""
        current = getattr(owner, "router", None)
        if getattr(current, "basichttp", None) is self:
            return
        previous = current
        origin_ref = weakref.ref(owner)

        def router(target: str, event: EventData) -> bool:
            if target.startswith(("http://", "https://")):
                sender = origin_ref()
                origin = self.location(session_id, sender) if sender is not None else None
                ok = self.post(target, event, origin=origin)
                self.pump()
                return ok
            return bool(previous(target, event)) if previous is not None else False

        router.basichttp = self  # type: ignore[attr-defined]
        try:
            owner.router = router
        except AttributeError:
            raise TypeError(
                f"Basic HTTP needs a driver with a send router (a sync Session);"
                f" {type(owner).__name__} has none"
            ) from None

    def pump(self) -> int:
        """Deliver every received event to its session (on this thread); return how many."""
        n = 0
        while True:
            try:
                ref, event, raw = self._inbox.get_nowait()
            except queue.Empty:
                return n
            owner = ref()
            if owner is None:
                continue
            attach_raw(event, raw)
            owner.send(event)
            n += 1

    @property
    def pending(self) -> bool:
        """Whether received events wait for :meth:`pump`."""
        return not self._inbox.empty()

    # -- sending ----------------------------------------------------------------------------
    def post(self, target: str, event: EventData, *, origin: str | None = None) -> bool:
        """POST ``event`` to ``target``; True when it answered 2xx."""
        name = event.name
        data = event.data
        url = target
        if data is None or isinstance(data, Mapping):
            pairs: list[tuple[str, str]] = [(_EVENT_PARAM, name)] if name else []
            for k, v in (data or {}).items():
                pairs.append((str(k), _encode_value(v)))
            body = urlencode(pairs, quote_via=quote)
        else:
            body = quote(_content_text(data), safe="")
            if name:
                sep = "&" if urlsplit(target).query else "?"
                url = f"{target}{sep}{urlencode({_EVENT_PARAM: name}, quote_via=quote)}"
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if origin:
            headers[_ORIGIN_HEADER] = origin
        request = Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=_TIMEOUT) as response:
                response.read()
                return 200 <= int(response.status) < 300
        except (URLError, OSError, ValueError):
            return False

    # -- receiving (server thread) ----------------------------------------------------------
    def _receive(self, handler: BaseHTTPRequestHandler, body: bytes) -> int:
        parts = urlsplit(handler.path)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 3 or segments[0] != "scxml" or segments[2] != "basichttp":
            return 404
        ref = self._lookup(unquote_plus(segments[1]))
        if ref is None or ref() is None:
            return 404
        params = parse_qsl(parts.query, keep_blank_values=True)
        ctype = handler.headers.get_content_type()
        charset = handler.headers.get_content_charset() or "utf-8"
        text = body.decode(charset, errors="replace")
        content: Any = None
        if ctype == "application/x-www-form-urlencoded":
            if "=" in text:
                params += parse_qsl(text, keep_blank_values=True)
            elif text:
                content = parse_value_text(unquote_plus(text), normalize=False)
        elif ctype == "application/json":
            try:
                content = json.loads(text)
            except ValueError:
                return 400
        elif text:
            content = parse_value_text(text, normalize=False)
        name = "HTTP." + handler.command
        values: dict[str, Any] = {}
        for k, v in params:
            if k == _EVENT_PARAM:
                name = v
            else:
                values[k] = _decode_value(v)
        data: Any = values if values else content
        event = EventData(
            name,
            data,
            "external",
            origin=handler.headers.get(_ORIGIN_HEADER),
            origintype=HTTP_PROCESSOR,
        )
        raw = f"{handler.requestline}\r\n{handler.headers}{text}"
        self._inbox.put((ref, event, raw))
        return 200


def _encode_value(value: Any) -> str:
    """A parameter value: strings as they are (unless they would read back as JSON)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value)
    if isinstance(value, ET.Element):
        return ET.tostring(value, encoding="unicode")
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _decode_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _content_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, ET.Element):
        return ET.tostring(value, encoding="unicode")
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


class _BoundedServer(ThreadingHTTPServer):
    """A threading server with at most :data:`MAX_WORKERS` requests in flight: one more is
    answered 503 on the accepting thread and closed, never queued in a new thread."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.workers = threading.BoundedSemaphore(MAX_WORKERS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.workers.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.workers.release()


def _content_length(handler: BaseHTTPRequestHandler) -> int:
    """The request's body length, or an HTTP status (negative) when it cannot be read."""
    if handler.headers.get("Transfer-Encoding") is not None:
        return -411  # chunked bodies are not read: say how long it is
    values = handler.headers.get_all("Content-Length") or []
    if not values:
        return -411
    if len(set(values)) != 1 or not values[0].strip().isdigit():
        return -400
    length = int(values[0])
    if length > MAX_BODY_BYTES:
        return -413
    return length


def _make_handler(proc: BasicHTTPProcessor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "statefleet-basichttp"
        timeout = REQUEST_TIMEOUT  # a client that stalls does not hold a worker for long

        def do_POST(self) -> None:
            length = _content_length(self)
            if length < 0:
                self.close_connection = True
                self._answer(-length)
                return
            try:
                body = self.rfile.read(length) if length else b""
            except OSError:  # TimeoutError included
                self.close_connection = True
                return
            if len(body) != length:  # the client went away early
                self.close_connection = True
                return
            try:
                status = proc._receive(self, body)
            except Exception:  # never let a bad request kill the server thread
                status = 500
            self._answer(status)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the session records what it receives

    return Handler


_PROCESSOR = BasicHTTPProcessor()


def processor() -> BasicHTTPProcessor:
    """The process-wide Basic HTTP processor."""
    return _PROCESSOR


def location(ctx: ActionContext) -> str:
    """The Basic HTTP address of the session running ``ctx`` (starts the server)."""
    owner = ctx.owner
    _PROCESSOR.install(owner, ctx.session_id)
    return _PROCESSOR.location(ctx.session_id, owner)


def prepare(ctx: ActionContext) -> None:
    """Install the processor as the router of the session running ``ctx`` (before a send)."""
    _PROCESSOR.install(ctx.owner, ctx.session_id)
