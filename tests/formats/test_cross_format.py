"""The same random chart written as XState JSON, pystator YAML and SCXML behaves identically.

Random hierarchies (compound, atomic and final states) with random transitions and timers are
rendered in the three dialects, compiled, and driven with the same random sequence of events
and clock advances; the active leaves must agree after every step (state names are unique,
XState's dotted ids are compared by their last part). A timer sits on an atomic state (XState
``after``, a pystator ``after`` transition, an SCXML delayed ``<send>`` cancelled on exit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statefleet import from_dict, from_scxml, from_yaml

EVENTS = ["go", "back", "jump"]
#: a step that advances every session's virtual clock by one second
TICK = "+1s"


@dataclass
class Node:
    name: str
    kind: str  # "atomic" | "compound" | "final"
    children: list[Node] = field(default_factory=list)
    transitions: list[tuple[str, str]] = field(default_factory=list)  # (event, target name)
    timer: tuple[int, str] | None = None  # (seconds, target name), atomic states only


@st.composite
def structures(draw: st.DrawFn) -> list[Node]:
    names = iter(f"s{i}" for i in range(1, 100))
    every: list[Node] = []

    def make(depth: int, allow_final: bool) -> Node:
        kinds = ["atomic", "compound"] if depth < 2 else ["atomic"]
        if allow_final:
            kinds.append("final")
        node = Node(next(names), draw(st.sampled_from(kinds)))
        every.append(node)
        if node.kind == "compound":
            node.children = [make(depth + 1, i > 0) for i in range(draw(st.integers(2, 3)))]
        return node

    top = [make(0, i > 0) for i in range(draw(st.integers(2, 3)))]
    for node in every:
        if node.kind == "final":
            continue
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from(every))
            node.transitions.append((draw(st.sampled_from(EVENTS)), target.name))
        if node.kind == "atomic" and draw(st.booleans()):
            node.timer = (draw(st.integers(1, 2)), draw(st.sampled_from(every)).name)
    return top


def to_xstate(top: list[Node]) -> dict[str, Any]:
    def state(node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node.kind == "final":
            out["type"] = "final"
        if node.children:
            out["initial"] = node.children[0].name
            out["states"] = {c.name: state(c) for c in node.children}
        on: dict[str, list[dict[str, str]]] = {}
        for ev, target in node.transitions:
            on.setdefault(ev, []).append({"target": f"#{target}"})
        if on:
            out["on"] = on
        if node.timer is not None:
            seconds, target = node.timer
            out["after"] = {str(seconds * 1000): f"#{target}"}
        out["id"] = node.name
        return out

    return {"id": "m", "initial": top[0].name, "states": {n.name: state(n) for n in top}}


def to_pystator(top: list[Node]) -> str:
    states: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []

    def walk(node: Node, parent: str | None, first_top: bool) -> None:
        entry: dict[str, Any] = {"name": node.name}
        if node.kind == "final":
            entry["type"] = "terminal"
        elif first_top:
            entry["type"] = "initial"
        if parent:
            entry["parent"] = parent
        if node.children:
            entry["initial_child"] = node.children[0].name
        states.append(entry)
        for ev, target in node.transitions:
            transitions.append({"trigger": ev, "source": node.name, "dest": target})
        if node.timer is not None:
            seconds, target = node.timer
            transitions.append({"source": node.name, "dest": target, "after": f"{seconds}s"})
        for c in node.children:
            walk(c, node.name, False)

    for i, n in enumerate(top):
        walk(n, None, i == 0)
    return yaml.safe_dump(
        {
            "meta": {"version": "1", "machine_name": "m"},
            "states": states,
            "transitions": transitions,
        },
        sort_keys=False,
    )


def to_scxml(top: list[Node]) -> str:
    def state(node: Node) -> str:
        tag = "final" if node.kind == "final" else "state"
        attrs = f"id={quoteattr(node.name)}"
        if node.children:
            attrs += f" initial={quoteattr(node.children[0].name)}"
        inner = "".join(
            f"<transition event={quoteattr(ev)} target={quoteattr(t)}/>"
            for ev, t in node.transitions
        )
        if node.timer is not None:
            seconds, target = node.timer
            ev, sendid = f"tmr.{node.name}", f"tmr_{node.name}"
            inner += (
                f'<onentry><send event="{ev}" delay="{seconds}s" id="{sendid}"/></onentry>'
                f'<onexit><cancel sendid="{sendid}"/></onexit>'
                f"<transition event={quoteattr(ev)} target={quoteattr(target)}/>"
            )
        inner += "".join(state(c) for c in node.children)
        return f"<{tag} {attrs}>{inner}</{tag}>"

    body = "".join(state(n) for n in top)
    return (
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="m"'
        f' initial="{top[0].name}">{body}</scxml>'
    )


def leaves(session: Any) -> set[str]:
    return {sid.rsplit(".", 1)[-1] for sid in session.active_leaves}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(top=structures(), events=st.lists(st.sampled_from([*EVENTS, TICK]), max_size=12))
def test_three_dialects_behave_identically(top: list[Node], events: list[str]) -> None:
    charts = {
        "xstate": from_dict(to_xstate(top)),
        "pystator": from_yaml(to_pystator(top)),
        "scxml": from_scxml(to_scxml(top)),
    }
    sessions = {name: chart.start() for name, chart in charts.items()}
    expected = leaves(sessions["scxml"])
    for name, s in sessions.items():
        assert leaves(s) == expected, (name, "start")
    for i, ev in enumerate(events):
        for s in sessions.values():
            if ev == TICK:
                s.advance(1.0)
            else:
                s.send(ev)
        expected = leaves(sessions["scxml"])
        done = sessions["scxml"].done
        for name, s in sessions.items():
            assert leaves(s) == expected, (name, i, ev)
            assert s.done == done, (name, i, ev)
