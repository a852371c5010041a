"""Helpers for SCXML reader tests: wrap a body in an ``<scxml>`` document and run it."""

from __future__ import annotations

from typing import Any

from statefleet import Session, VirtualClock, from_scxml

NS = 'xmlns="http://www.w3.org/2005/07/scxml"'


def doc(body: str, **attrs: str) -> str:
    """An SCXML document around ``body`` (attributes of ``<scxml>`` as keywords)."""
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f'<scxml {NS} version="1.0"{extra}>\n{body}\n</scxml>'


def run(text: str, *, trusted: bool = False, until: float = 60.0, **kw: Any) -> Session:
    """Compile and start ``text`` on a virtual clock; fire timers until it stops."""
    chart = from_scxml(text, trusted=trusted, **kw)
    clock = VirtualClock()
    session = chart.start(clock=clock)
    while not session.done:
        due = session.next_due
        if due is None or due > until:
            break
        session.advance(due - clock.now())
    return session


def verdict(session: Session) -> str:
    """``pass``/``fail`` when the session stopped in one of those finals, else its leaves."""
    for name in ("pass", "fail"):
        if name in session.configuration:
            return name
    return ",".join(session.active_leaves)


PASS_FAIL = '<final id="pass"/><final id="fail"/>'
