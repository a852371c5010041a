"""The compiler: validates a :class:`ChartSpec` and builds the immutable tables the engine runs on.

Compiling resolves every id to a node, numbers nodes and transitions in document order,
records ancestors, depths and default entries, and validates the definition. Every problem is
reported as a :class:`ChartDefinitionError` naming the path of the bad element. Nothing is
resolved by name at step time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from statefleet.core._errors import ChartDefinitionError
from statefleet.core._events import parse_descriptors
from statefleet.core._model import (
    AfterSpec,
    Block,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
)

__all__ = ["Node", "Transition", "build_tables"]

ROOT_ID = "(root)"


class Node:
    """A compiled state (or history pseudo-state). Immutable after compilation."""

    __slots__ = (
        "after_events",
        "ancestors",
        "child_states",
        "children",
        "data",
        "depth",
        "descendants",
        "donedata",
        "history_children",
        "history_deep",
        "history_default",
        "id",
        "index",
        "initial",
        "invokes",
        "is_atomic",
        "is_compound",
        "is_final",
        "is_history",
        "is_parallel",
        "kind",
        "line",
        "meta",
        "onentry",
        "onexit",
        "parent",
        "path",
        "transitions",
    )

    def __init__(self, spec: StateSpec | None, index: int, parent: Node | None) -> None:
        self.index = index
        self.parent = parent
        self.id: str = spec.id if spec is not None else ROOT_ID
        self.kind: str = spec.kind if spec is not None else "state"
        self.path = spec.path if spec is not None else ""
        self.line = spec.line if spec is not None else None
        self.meta: dict[str, Any] = spec.meta if spec is not None else {}
        self.children: tuple[Node, ...] = ()
        self.child_states: tuple[Node, ...] = ()
        self.history_children: tuple[Node, ...] = ()
        self.ancestors: tuple[Node, ...] = () if parent is None else (parent, *parent.ancestors)
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.descendants: frozenset[Node] = frozenset()
        self.initial: Transition | None = None
        self.history_default: Transition | None = None
        self.history_deep = spec is not None and spec.history == "deep"
        self.transitions: tuple[Transition, ...] = ()
        self.onentry: tuple[Block, ...] = ()
        self.onexit: tuple[Block, ...] = ()
        self.invokes: tuple[InvokeSpec, ...] = ()
        self.data: tuple[DataSpec, ...] = ()
        self.donedata: Callable[..., Any] | None = spec.donedata if spec is not None else None
        self.after_events: tuple[str, ...] = ()
        self.is_history = self.kind == "history"
        self.is_final = self.kind == "final"
        self.is_parallel = self.kind == "parallel"
        self.is_atomic = False
        self.is_compound = False

    def __repr__(self) -> str:
        return f"<Node {self.id}>"

    def is_descendant_of(self, other: Node) -> bool:
        """True when ``self`` is a proper descendant of ``other``."""
        return other in self.ancestors


class Transition:
    """A compiled transition. ``index`` is its global document order."""

    __slots__ = (
        "actions",
        "after",
        "before",
        "cond",
        "cond_label",
        "descriptors",
        "eventless",
        "exact",
        "history_targets",
        "index",
        "label",
        "line",
        "name",
        "path",
        "source",
        "targets",
        "type",
    )

    def __init__(
        self,
        spec: TransitionSpec,
        index: int,
        source: Node,
        targets: tuple[Node, ...],
        kind: Literal["external", "internal"],
    ) -> None:
        self.index = index
        self.source = source
        self.targets = targets
        self.type = kind
        self.descriptors = spec.event
        self.eventless = not spec.event
        self.exact = spec.exact
        self.cond = spec.cond
        self.cond_label = spec.cond_label
        self.actions = spec.actions
        self.before = spec.before
        self.after = spec.after
        self.path = spec.path
        self.line = spec.line
        self.name = spec.name
        self.history_targets = any(t.is_history for t in targets)
        ev = " ".join(spec.event) if spec.event else ""
        tg = " ".join(t.id for t in targets)
        self.label = f"{source.id}: {ev or '(eventless)'} -> {tg or '(targetless)'}"

    def __repr__(self) -> str:
        return f"<Transition {self.label}>"


class _Builder:
    def __init__(self, spec: ChartSpec) -> None:
        self.spec = spec
        self.nodes: list[Node] = []
        self.by_id: dict[str, Node] = {}
        self.node_specs: dict[Node, StateSpec] = {}
        self.transitions: list[Transition] = []
        self.errors: list[tuple[str, str, int | None]] = []
        #: the event names of every `after` timer, unique in the chart
        self.after_names: set[str] = set()

    def error(self, path: str, message: str, line: int | None = None) -> None:
        self.errors.append((path, message, line))

    # -- pass 1: nodes ---------------------------------------------------------------------
    def add_nodes(self, specs: list[StateSpec], parent: Node) -> tuple[Node, ...]:
        out: list[Node] = []
        for s in specs:
            if not isinstance(s, StateSpec):
                self.error(parent.path, f"expected a state, got {type(s).__name__}")
                continue
            path = s.path or (f"{parent.path}.{s.id}" if parent.path else s.id)
            s.path = path
            if not s.id or not isinstance(s.id, str):
                self.error(path, "a state needs a non-empty string id", s.line)
                continue
            if s.kind not in ("state", "parallel", "final", "history"):
                self.error(path, f"unknown state kind {s.kind!r}", s.line)
                continue
            node = Node(s, len(self.nodes), parent)
            if s.id in self.by_id:
                other = self.by_id[s.id]
                self.error(path, f"duplicate state id {s.id!r} (also at {other.path})", s.line)
            else:
                self.by_id[s.id] = node
            self.nodes.append(node)
            self.node_specs[node] = s
            out.append(node)
            node.children = self.add_nodes(s.children, node)
        return tuple(out)

    def resolve(self, ids: tuple[str, ...], path: str, line: int | None) -> tuple[Node, ...] | None:
        out: list[Node] = []
        ok = True
        for tid in ids:
            node = self.by_id.get(tid)
            if node is None:
                import difflib  # only a chart with an error needs it (issue 16: import time)

                close = difflib.get_close_matches(tid, list(self.by_id), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.error(path, f"unknown target {tid!r}{hint}", line)
                ok = False
            else:
                out.append(node)
        return tuple(out) if ok else None

    def make_transition(
        self, spec: TransitionSpec, source: Node, targets: tuple[Node, ...]
    ) -> Transition:
        kind: Literal["external", "internal"] = spec.type
        t = Transition(spec, len(self.transitions), source, targets, kind)
        self.transitions.append(t)
        return t

    # -- pass 2: structure -----------------------------------------------------------------
    def link(self, node: Node) -> None:
        spec = self.node_specs.get(node)
        node.child_states = tuple(c for c in node.children if not c.is_history)
        node.history_children = tuple(c for c in node.children if c.is_history)
        node.is_compound = node.kind == "state" and bool(node.child_states)
        node.is_atomic = not node.child_states and not node.is_history and not node.is_parallel
        if node.is_parallel and not node.child_states:
            node.is_atomic = True  # an empty parallel behaves as an atomic state
        desc: set[Node] = set()
        for c in node.children:
            self.link(c)
            desc.add(c)
            desc.update(c.descendants)
        node.descendants = frozenset(desc)
        if spec is None:
            return
        path = node.path
        if node.is_final:
            if spec.children:
                self.error(path, "a final state cannot have child states", spec.line)
            if spec.transitions or spec.after:
                self.error(path, "a final state cannot have outgoing transitions", spec.line)
        if node.is_history:
            parent = node.parent
            if parent is None or parent.parent is None or not parent.children or parent.is_final:
                self.error(path, "a history state must be the child of a compound state", spec.line)
            if spec.children:
                self.error(path, "a history state cannot have child states", spec.line)
            if spec.transitions and len(spec.transitions) > 1:
                self.error(path, "a history state has at most one default transition", spec.line)
        # transitions
        trans: list[Transition] = []
        tspecs = list(spec.transitions)
        if node.is_history:
            tspecs = []
        for i, ts in enumerate(tspecs):
            tpath = ts.path or f"{path}.transitions[{i}]"
            ts.path = tpath
            trans.append(self.compile_transition(ts, node))
        # delayed transitions declared with `after`
        entry_blocks = [tuple(b) for b in spec.onentry]
        exit_blocks = [tuple(b) for b in spec.onexit]
        after_events: list[str] = []
        for i, af in enumerate(spec.after):
            if node.is_final:
                break
            ev = af.event or f"$after.{i}.{node.id}"
            apath = f"{path}.after[{i}]"
            tspecs = [af.transition] if af.transition is not None else []
            tspecs += af.transitions
            if not tspecs:
                self.error(apath, "a delayed transition needs a transition", spec.line)
                continue
            if ev in self.after_names:
                self.error(apath, f"delayed transition event {ev!r} is used twice", spec.line)
                continue
            self.after_names.add(ev)
            after_events.append(ev)
            delay = af.delay
            if not callable(delay) and (
                not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0
            ):
                where = tspecs[0].path or apath
                self.error(where, f"invalid delay {delay!r}: expected seconds >= 0", tspecs[0].line)
                continue
            entry_blocks.append((_schedule_after(ev, af),))
            exit_blocks.insert(0, (_cancel_after(ev),))
            for ts in tspecs:
                ts.event = (ev,)
                ts.exact = True
                ts.path = ts.path or apath
                trans.append(self.compile_transition(ts, node))
        node.after_events = tuple(after_events)
        node.transitions = tuple(trans)
        node.onentry = tuple(entry_blocks)
        node.onexit = tuple(exit_blocks)
        node.invokes = tuple(spec.invokes)
        for j, inv in enumerate(node.invokes):
            inv.path = inv.path or f"{path}.invoke[{j}]"
            if inv.src is None and inv.src_expr is None:
                self.error(inv.path, "an invocation needs a source (src)", inv.line)
        node.data = tuple(spec.data)
        for cb_path, cb in self.callbacks_of(spec):
            if not callable(cb):
                self.error(cb_path, f"callback {cb!r} is not callable", spec.line)

    def callbacks_of(self, spec: StateSpec) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for i, block in enumerate(spec.onentry):
            out += [(f"{spec.path}.entry[{i}]", a) for a in block]
        for i, block in enumerate(spec.onexit):
            out += [(f"{spec.path}.exit[{i}]", a) for a in block]
        for ts in spec.transitions:
            out += [(f"{ts.path}.actions", a) for a in (*ts.actions, *ts.before, *ts.after)]
            if ts.cond is not None:
                out.append((f"{ts.path}.cond", ts.cond))
        return out

    def compile_transition(self, ts: TransitionSpec, node: Node) -> Transition:
        ts.event = parse_descriptors(ts.event)
        raw_target: Any = ts.target
        if isinstance(raw_target, str):
            ts.target = tuple(raw_target.split())
        targets = self.resolve(tuple(ts.target), ts.path, ts.line) or ()
        if ts.type not in ("external", "internal"):
            self.error(
                ts.path, f"transition type must be 'external' or 'internal', not {ts.type!r}"
            )
        if ts.type == "internal" and targets:
            bad = [t.id for t in targets if not t.is_descendant_of(node)]
            if bad:
                self.error(
                    ts.path,
                    f"an internal transition must target descendants of {node.id!r};"
                    f" {', '.join(repr(b) for b in bad)} is not one",
                    ts.line,
                )
        if len(targets) > 1:
            self.check_legal(targets, ts.path, ts.line)
        return self.make_transition(ts, node, targets)

    def check_legal(self, targets: tuple[Node, ...], path: str, line: int | None) -> None:
        for i, a in enumerate(targets):
            for b in targets[i + 1 :]:
                if a is b or a.is_descendant_of(b) or b.is_descendant_of(a):
                    self.error(path, f"targets {a.id!r} and {b.id!r} overlap", line)
                    continue
                # their lowest common ancestor must be a parallel state
                lca = next((x for x in a.ancestors if b.is_descendant_of(x)), None)
                if lca is not None and not lca.is_parallel:
                    self.error(
                        path,
                        f"targets {a.id!r} and {b.id!r} cannot both be active"
                        f" (they are not in parallel regions)",
                        line,
                    )

    def initials(self, node: Node, spec_initial: tuple[str, ...] | None, actions: Block) -> None:
        """Build the default-entry transition of a compound state (or the root)."""
        if not node.child_states:
            if spec_initial:
                self.error(node.path or "initial", "an atomic state cannot have an initial state")
            return
        path = f"{node.path}.initial" if node.path else "initial"
        if node.is_parallel:
            if spec_initial:
                self.error(path, "a parallel state has no initial state: all regions are entered")
            return
        if spec_initial:
            targets = self.resolve(tuple(spec_initial), path, None)
            if targets is None:
                return
            for t in targets:
                if not t.is_descendant_of(node):
                    self.error(path, f"initial state {t.id!r} is not a descendant of {node.id!r}")
                    return
                if t.is_history and t.parent is node:
                    pass
            if len(targets) > 1:
                self.check_legal(targets, path, None)
        else:
            targets = (node.child_states[0],)
        ts = TransitionSpec(target=tuple(t.id for t in targets), actions=actions, path=path)
        node.initial = self.make_transition(ts, node, targets)

    def finish(self) -> None:
        implicit: list[Node] = []
        for node in self.nodes:
            spec = self.node_specs.get(node)
            if spec is None:
                continue
            if node.is_compound:
                self.initials(node, spec.initial, spec.initial_actions)
            elif spec.initial and not node.is_history:
                self.error(
                    node.path,
                    f"initial {spec.initial!r} given for {node.kind} state {node.id!r}"
                    " that has no child states"
                    if not node.is_parallel
                    else "a parallel state has no initial state: all regions are entered",
                    spec.line,
                )
            if node.is_history:
                parent = node.parent
                hpath = f"{node.path}.transition"
                if spec.transitions:
                    ts = spec.transitions[0]
                    ts.path = ts.path or hpath
                    targets = self.resolve(tuple(ts.target), ts.path, ts.line) or ()
                    if parent is not None:
                        for t in targets:
                            ok = (
                                t.parent is parent
                                if not node.history_deep
                                else (t.is_descendant_of(parent))
                            )
                            if not ok:
                                self.error(
                                    ts.path,
                                    f"history default {t.id!r} must be a"
                                    f" {'descendant' if node.history_deep else 'child'}"
                                    f" of {parent.id!r}",
                                    ts.line,
                                )
                    node.history_default = self.make_transition(ts, node, targets)
                elif parent is not None and parent.child_states:
                    # no default given: the parent's default entry (built below, once every
                    # explicit default exists to be followed)
                    implicit.append(node)
        for node in implicit:
            targets = self.implicit_history_default(node)
            ts = TransitionSpec(target=tuple(t.id for t in targets), path=f"{node.path}.transition")
            node.history_default = self.make_transition(ts, node, targets)
        self.check_history_cycles()

    def implicit_history_default(self, node: Node) -> tuple[Node, ...]:
        """The default of a history state declared without one: its parent's default entry.

        SCXML requires a default transition in every ``<history>``; the other formats let
        it out and mean the parent's default entry. When that entry is the history state
        itself (a compound state whose ``initial`` is its own history, so that it resumes
        where it was and starts at its first state the first time), following it would loop
        forever: the default is then the parent's first child state in document order,
        which is SCXML's default entry for a state without ``initial``.
        """
        parent = node.parent
        assert parent is not None
        if parent.is_parallel:
            return parent.child_states
        init = self.declared_initial(parent)
        targets = self.resolve(init, f"{node.path}.transition", None) if init else None
        if not targets or self.reaches(targets, node):
            return (parent.child_states[0],)
        return targets

    def reaches(self, targets: tuple[Node, ...], history: Node) -> bool:
        """True when entering ``targets`` goes through ``history`` by way of history defaults
        (explicit ones, or implicit ones about to be derived from their parents' entries)."""
        todo = [t for t in targets if t.is_history]
        seen: set[Node] = set()
        while todo:
            h = todo.pop()
            if h is history:
                return True
            if h in seen:
                continue
            seen.add(h)
            if h.history_default is not None:
                todo.extend(t for t in h.history_default.targets if t.is_history)
            elif h.parent is not None and not h.parent.is_parallel:
                nxt = (self.by_id.get(i) for i in self.declared_initial(h.parent))
                todo.extend(t for t in nxt if t is not None and t.is_history)
        return False

    def declared_initial(self, node: Node) -> tuple[str, ...]:
        """The ids of ``node``'s declared ``initial`` (none declared: empty)."""
        spec = self.node_specs.get(node)
        return tuple(spec.initial) if spec is not None and spec.initial else ()

    def check_history_cycles(self) -> None:
        """Explicit history defaults that lead back to their own history state are an error
        (entering any of them would never end)."""
        for node in self.nodes:
            dt = node.history_default
            if dt is not None and self.reaches(dt.targets, node):
                self.error(
                    dt.path,
                    f"the default transition of history state {node.id!r} leads back to it"
                    " (through history defaults): give it a state as its default",
                    dt.line,
                )


def _schedule_after(event: str, spec: AfterSpec) -> Callable[..., None]:
    delay = spec.delay
    repeat = spec.repeat

    def schedule_after(ctx: Any) -> None:
        d = delay(ctx) if callable(delay) else delay
        if hasattr(d, "total_seconds"):
            d = d.total_seconds()
        ctx.schedule(event, float(d), sendid=event, repeat=float(d) if repeat else None)

    return schedule_after


def _cancel_after(event: str) -> Callable[..., None]:
    def cancel_after(ctx: Any) -> None:
        ctx.cancel(event)

    return cancel_after


def build_tables(spec: ChartSpec) -> tuple[Node, list[Node], dict[str, Node], list[Transition]]:
    """Compile ``spec`` into (root, nodes in document order, nodes by id, transitions).

    Raises :class:`ChartDefinitionError` listing every problem found.
    """
    if not isinstance(spec, ChartSpec):
        raise ChartDefinitionError(f"expected a ChartSpec, got {type(spec).__name__}")
    b = _Builder(spec)
    root = Node(None, 0, None)
    root.path = spec.path
    b.nodes.append(root)
    if not spec.states:
        raise ChartDefinitionError("a chart needs at least one state", path=spec.path or "states")
    root.children = b.add_nodes(spec.states, root)
    b.link(root)
    root.is_compound = True
    root.is_atomic = False
    root.data = tuple(spec.data)
    if not b.errors:
        b.finish()
        b.initials(root, spec.initial, spec.initial_actions)
    if b.errors:
        errors = [(p, m) for p, m, _ in b.errors]
        path, message, line = b.errors[0]
        if len(b.errors) > 1:
            message += f" (and {len(b.errors) - 1} more problem(s))"
        raise ChartDefinitionError(message, path=path, line=line, errors=errors)
    return root, b.nodes, b.by_id, b.transitions
