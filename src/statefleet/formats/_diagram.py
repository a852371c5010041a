"""Diagrams of compiled charts: Mermaid, Graphviz DOT and SVG (through Graphviz's ``dot``).

Compound states are drawn as nested boxes, parallel regions separated (Mermaid ``--``,
dashed DOT clusters), final states as double circles, history states as ``H``/``H*``. Given a
snapshot, the active configuration is highlighted.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from statefleet.core import Chart, Snapshot, StatefleetError
from statefleet.core._chart import Node, Transition

__all__ = ["to_dot", "to_mermaid", "to_svg"]

_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _mid(node: Node) -> str:
    """A Mermaid/DOT-safe identifier for a state id."""
    return "s_" + _SAFE.sub("_", node.id) + f"_{node.index}"


def _label(t: Transition) -> str:
    ev = " ".join(d for d in t.descriptors if not d.startswith("$"))
    if any(d.startswith("$after") for d in t.descriptors):
        ev = "after"
    cond = f" [{t.cond_label or 'guard'}]" if t.cond is not None else ""
    return (ev + cond).strip()


def _active(chart: Chart, snapshot: Snapshot | None) -> set[str]:
    if snapshot is None:
        return set()
    chart.validate(snapshot)
    return set(snapshot.configuration)


def to_mermaid(chart: Chart, snapshot: Snapshot | None = None) -> str:
    """Render ``chart`` as a Mermaid ``stateDiagram-v2`` (active states highlighted)."""
    active = _active(chart, snapshot)
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
            if n.child_states:
                lines.append(f'{indent}state "{n.id}" as {_mid(n)} {{')
                emit(n.children, n, indent + "    ")
                lines.append(f"{indent}}}")
            else:
                lines.append(f'{indent}state "{n.id}" as {_mid(n)}')
            if n.is_final:
                lines.append(f"{indent}{_mid(n)} --> [*]")
            for t in n.transitions:
                label = _label(t)
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


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(chart: Chart, snapshot: Snapshot | None = None) -> str:
    """Render ``chart`` as Graphviz DOT (compound states as clusters)."""
    active = _active(chart, snapshot)
    out = [
        f"digraph {_dot_quote(chart.id)} {{",
        "  compound=true; rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    anchors: dict[Node, str] = {}

    def emit(node: Node, indent: str) -> None:
        for n in node.children:
            if n.child_states:
                style = "dashed" if node.is_parallel else "rounded"
                color = ', color="#b45f06", penwidth=2' if n.id in active else ""
                kind = " (parallel)" if n.is_parallel else ""
                out.append(f"{indent}subgraph cluster_{_mid(n)} {{")
                out.append(f"{indent}  label={_dot_quote(n.id + kind)}; style={style}{color};")
                anchor = f"{_mid(n)}_anchor"
                out.append(f"{indent}  {anchor} [shape=point, style=invis, width=0];")
                anchors[n] = anchor
                if n.initial is not None and not n.is_parallel:
                    init = f"{_mid(n)}_init"
                    out.append(f"{indent}  {init} [shape=point, width=0.12, fillcolor=black];")
                    for tgt in n.initial.targets:
                        out.append(f"{indent}  {init} -> {_target(tgt)};")
                emit(n, indent + "  ")
                out.append(f"{indent}}}")
            else:
                if n.is_history:
                    attrs = ["shape=circle", f"label={_dot_quote('H*' if n.history_deep else 'H')}"]
                else:
                    attrs = [f"label={_dot_quote(n.id)}"]
                if n.is_final:
                    attrs.append("shape=doublecircle")
                if n.id in active:
                    attrs.append('fillcolor="#ffd966"')
                out.append(f"{indent}{_mid(n)} [{', '.join(attrs)}];")

    def _target(n: Node) -> str:
        return f"{_mid(n)}_anchor" if n.child_states else _mid(n)

    emit(chart.root, "  ")
    if chart.root.initial is not None:
        out.append("  __start [shape=point, width=0.15, fillcolor=black];")
        for tgt in chart.root.initial.targets:
            out.append(f"  __start -> {_target(tgt)};")
    for t in chart.transitions:
        if t.source is chart.root or t.source.is_history:
            continue
        if t is t.source.initial:
            continue
        src = _target(t.source)
        label = _label(t)
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
