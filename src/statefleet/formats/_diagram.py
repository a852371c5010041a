"""Diagrams of compiled charts: Mermaid, Graphviz DOT and SVG (through Graphviz's ``dot``).

Compound states are drawn as nested boxes, parallel regions separated (Mermaid ``--``,
dashed DOT clusters), final states as double-bordered boxes, history states as ``H``/``H*``.
States are labelled with their own name (``editing``, not ``shop.cart.editing``: the nesting
shows the rest); a timer transition shows its delay (``after 5s``, ``every 1min``); a state's
invocations are listed under its name. A guard is shown only when the chart names it (a
reader's internal check is not a guard anybody wrote). Given a snapshot, the active
configuration is highlighted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta

from statefleet.core import Chart, Snapshot, StatefleetError
from statefleet.core._chart import Node, Transition
from statefleet.core._model import StateSpec

__all__ = ["to_dot", "to_mermaid", "to_svg"]

_SAFE = re.compile(r"[^A-Za-z0-9_]")
#: the event a reader names a timer transition by: ``$after.<i>.<state>`` (the core's),
#: ``$after(<delay>)#<state>`` (XState's: milliseconds or a delay name)
_CORE_AFTER = re.compile(r"^\$after\.(\d+)\.(.+)$")
_XSTATE_AFTER = re.compile(r"^\$after\((.*)\)#.+$")


def _mid(node: Node) -> str:
    """A Mermaid/DOT-safe identifier for a state id."""
    return "s_" + _SAFE.sub("_", node.id) + f"_{node.index}"


def _name(chart: Chart, node: Node) -> str:
    """A state's own name: its id without its parent's (or the chart's) id in front."""
    parent = node.parent
    prefix = parent.id if parent is not None and parent is not chart.root else chart.id
    for sep in (".", "/"):
        if node.id.startswith(prefix + sep) and len(node.id) > len(prefix) + 1:
            return node.id[len(prefix) + 1 :]
    return node.id


def _seconds(value: float) -> str:
    if value >= 3600 and value % 3600 == 0:
        return f"{value / 3600:g}h"
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g}min"
    if 0 < value < 1:
        return f"{value * 1000:g}ms"
    return f"{value:g}s"


def _specs(states: list[StateSpec]) -> Iterator[StateSpec]:
    for spec in states:
        yield spec
        yield from _specs(spec.children)


def _timers(chart: Chart) -> dict[str, str]:
    """``after``/``every`` labels by the timer event of each delayed transition."""
    out: dict[str, str] = {}
    by_id = {spec.id: spec for spec in _specs(chart.spec.states)}
    for t in chart.transitions:
        for d in t.descriptors:
            if m := _CORE_AFTER.match(d):
                spec = by_id.get(m.group(2))
                index = int(m.group(1))
                if spec is None or index >= len(spec.after):
                    out[d] = "after"
                    continue
                af = spec.after[index]
                delay = af.delay
                word = "every" if af.repeat else "after"
                if isinstance(delay, timedelta):
                    delay = delay.total_seconds()
                shown = _seconds(float(delay)) if isinstance(delay, int | float) else ""
                out[d] = f"{word} {shown}".strip()
            elif m := _XSTATE_AFTER.match(d):
                key = m.group(1)
                try:
                    out[d] = f"after {_seconds(float(key) / 1000)}"
                except ValueError:  # a named delay
                    out[d] = f"after {key}"
    return out


def _guard(t: Transition) -> str:
    """The guard a chart names on ``t``, or "" (none, or only a reader's internal check)."""
    if t.cond is None:
        return ""
    label = t.cond_label
    if label is None:
        if getattr(t.cond, "__module__", "").startswith("statefleet."):
            return ""  # a reader's own check (XState's exact event-name match, say)
        name = getattr(t.cond, "__name__", "")
        label = name if name.isidentifier() else "guard"
    label = label.strip()
    if "<locals>." in label:  # a function's qualified name: its own name will do
        label = label.rsplit(".", 1)[-1]
    if label.startswith("[") and label.endswith("]"):
        label = label[1:-1]
    return f"[{label}]"


def _label(t: Transition, timers: dict[str, str]) -> str:
    events: list[str] = []
    for d in t.descriptors:
        if d in timers:
            events.append(timers[d])
        elif d == f"done.state.{t.source.id}":
            events.append("done")
        elif not d.startswith("$"):
            events.append(d)
    return " ".join([*events, _guard(t)]).strip()


def _invocations(node: Node) -> list[str]:
    """``invoke NAME`` for each invocation of ``node``."""
    out = []
    for inv in node.invokes:
        src = inv.src
        if isinstance(src, str):
            name = src
        elif isinstance(src, Chart):
            name = src.id
        else:
            name = getattr(src, "__name__", None) or inv.id or "service"
        word = "activity" if inv.kind == "activity" else "invoke"
        out.append(f"{word} {name}")
    return out


def _active(chart: Chart, snapshot: Snapshot | None) -> set[str]:
    if snapshot is None:
        return set()
    chart.validate(snapshot)
    return set(snapshot.configuration)


def to_mermaid(chart: Chart, snapshot: Snapshot | None = None) -> str:
    """Render ``chart`` as a Mermaid ``stateDiagram-v2`` (active states highlighted)."""
    active = _active(chart, snapshot)
    timers = _timers(chart)
    lines = ["stateDiagram-v2"]
    edges: list[str] = []

    def emit(nodes: tuple[Node, ...], parent: Node, indent: str) -> None:
        if parent.initial is not None and not parent.is_parallel:
            for tgt in parent.initial.targets:
                lines.append(f"{indent}[*] --> {_mid(tgt)}")
        for i, n in enumerate(nodes):
            if parent.is_parallel and i and not n.is_history:
                lines.append(f"{indent}--")
            if n.is_history:
                label = "H*" if n.history_deep else "H"
                lines.append(f'{indent}state "{label}" as {_mid(n)}')
                continue
            name = _flat(_name(chart, n)).replace('"', "'")
            if n.child_states:
                lines.append(f'{indent}state "{name}" as {_mid(n)} {{')
                emit(n.children, n, indent + "    ")
                lines.append(f"{indent}}}")
            else:
                lines.append(f'{indent}state "{name}" as {_mid(n)}')
            for what in _invocations(n):
                lines.append(f"{indent}{_mid(n)} : {_flat(what)}")
            if n.is_final:
                lines.append(f"{indent}{_mid(n)} --> [*]")
            for t in n.transitions:
                label = _flat(_label(t, timers))
                suffix = f" : {label}" if label else ""
                targets = t.targets or (n,)
                for tgt in targets:
                    edges.append(f"    {_mid(n)} --> {_mid(tgt)}{suffix}")

    emit(chart.root.children, chart.root, "    ")
    lines.extend(edges)
    if active:
        lines.append("    classDef active fill:#ffd966,stroke:#b45f06,stroke-width:2px")
        for n in chart.nodes:
            if n.id in active and not n.child_states:
                lines.append(f"    class {_mid(n)} active")
    return "\n".join(lines) + "\n"


def _flat(text: str) -> str:
    """``text`` on one line: a Mermaid statement ends at a line break."""
    return " ".join(text.split())


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(chart: Chart, snapshot: Snapshot | None = None) -> str:
    """Render ``chart`` as Graphviz DOT (compound states as clusters), laid out compactly."""
    active = _active(chart, snapshot)
    timers = _timers(chart)
    out = [
        f"digraph {_dot_quote(chart.id)} {{",
        "  compound=true; rankdir=LR; nodesep=0.2; ranksep=0.3; newrank=true;",
        '  graph [fontname="Helvetica", fontsize=11];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
        ' fontsize=11, margin="0.08,0.03", height=0.3];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];',
    ]
    anchors: dict[Node, str] = {}

    def emit(node: Node, indent: str) -> None:
        for n in node.children:
            lines = [_name(chart, n), *_invocations(n)]
            if n.is_parallel:
                lines[0] += " (parallel)"
            text = "\n".join(lines)
            if n.child_states:
                style = "dashed" if node.is_parallel else "rounded"
                color = ' color="#b45f06"; penwidth=2;' if n.id in active else ""
                out.append(f"{indent}subgraph cluster_{_mid(n)} {{")
                out.append(
                    f"{indent}  label={_dot_quote(text)}; labeljust=l; style={style};{color}"
                )
                anchor = f"{_mid(n)}_anchor"
                out.append(f"{indent}  {anchor} [shape=point, style=invis, width=0];")
                anchors[n] = anchor
                if n.initial is not None and not n.is_parallel:
                    init = f"{_mid(n)}_init"
                    out.append(f"{indent}  {init} [shape=point, width=0.08, fillcolor=black];")
                    for tgt in n.initial.targets:
                        out.append(f"{indent}  {init} -> {_target(tgt)};")
                emit(n, indent + "  ")
                out.append(f"{indent}}}")
            else:
                if n.is_history:
                    label = "H*" if n.history_deep else "H"
                    attrs = ["shape=circle", f"label={_dot_quote(label)}"]
                else:
                    attrs = [f"label={_dot_quote(text)}"]
                if n.is_final:
                    attrs.append("peripheries=2")
                if n.id in active:
                    attrs.append('fillcolor="#ffd966"')
                out.append(f"{indent}{_mid(n)} [{', '.join(attrs)}];")

    def _target(n: Node) -> str:
        return f"{_mid(n)}_anchor" if n.child_states else _mid(n)

    emit(chart.root, "  ")
    if chart.root.initial is not None:
        out.append("  __start [shape=point, width=0.1, fillcolor=black];")
        for tgt in chart.root.initial.targets:
            out.append(f"  __start -> {_target(tgt)};")
    for t in chart.transitions:
        if t.source is chart.root or t.source.is_history:
            continue
        if t is t.source.initial:
            continue
        src = _target(t.source)
        label = _label(t, timers)
        for tgt in t.targets or (t.source,):
            extra = []
            if t.source.child_states:
                extra.append(f"ltail=cluster_{_mid(t.source)}")
            if tgt.child_states:
                extra.append(f"lhead=cluster_{_mid(tgt)}")
            if label:
                extra.append(f"label={_dot_quote(label)}")
            attrs = f" [{', '.join(extra)}]" if extra else ""
            out.append(f"  {src} -> {_target(tgt)}{attrs};")
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(chart: Chart, snapshot: Snapshot | None = None) -> str:
    """Render ``chart`` as SVG with Graphviz's ``dot``.

    Raises :class:`StatefleetError` explaining how to install Graphviz when ``dot`` is missing.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise StatefleetError(
            "SVG output needs Graphviz's `dot` program: install it (Debian/Ubuntu:"
            " `apt-get install graphviz`, macOS: `brew install graphviz`) or use"
            " --format mermaid|dot"
        )
    proc = subprocess.run(
        [dot, "-Tsvg"],
        input=to_dot(chart, snapshot),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise StatefleetError(f"graphviz failed: {proc.stderr.strip()}")
    return proc.stdout
