"""statefleet against its peers on the core workloads W1-W4 (run by ``make bench-peers``).

Peers: python-statemachine (``StateChart``), transitions (``Machine`` and
``HierarchicalMachine``), sismic (YAML statecharts, ``Interpreter``), xstate-statemachine
(XState JSON, ``SyncInterpreter``), miros (``HsmWithQueues``), pystator (dict configs,
``EntitySession``; W4 through ``process_parallel``) and stateforward hsm (``hsm.Define``,
awaited ``hsm.Dispatch``; Python >= 3.13 only). ``make bench-peers`` installs them, with
statefleet, into a separate venv (``.venv-peers``) so they never leak into ours.

Every workload is written the way each library's documentation writes it; each uses the
library's fastest documented way of delivering an event by name. statefleet runs the very
charts of ``bench_core.py``. Every timed run is checked afterwards (final configuration,
counters): a number is only printed for a run that did the work.

Usage::

    python benchmarks/bench_peers.py              # plain-text table
    python benchmarks/bench_peers.py --markdown   # the table for the README
    python benchmarks/bench_peers.py --quick      # shorter runs
    python benchmarks/bench_peers.py --cpu-time   # CPU time, not wall time (a shared machine)

Timing: ``time.perf_counter`` (``--cpu-time``: ``time.thread_time``), best of several
repeats, a fresh instance per repeat. Peers are 10-200x slower than statefleet, so each
library runs an even number of events calibrated to take about a quarter of a second per
repeat (statefleet runs bench_core's 200,000).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import importlib.metadata
import io
import itertools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_core as core

W2_LIMIT = core.W2_LIMIT
WORKLOADS = ("W1", "W2", "W3", "W4")
EVENTS = core.EVENTS


@dataclass
class Case:
    """One workload in one library.

    ``make`` builds a fresh instance; ``sender(instance, event)`` returns the callable the
    timed loop calls with the event name (bound to the event beforehand where the library's
    idiom is a method per event); ``check(instance, n)`` raises ``AssertionError`` unless the
    instance ended where ``n`` events (``n`` even) should have left it (and releases what
    ``make`` acquired, an event loop say).
    """

    make: Callable[[], Any]
    sender: Callable[[Any, str], Callable[[str], Any]] | None
    check: Callable[[Any, int], None]
    #: for a library whose events are awaited (stateforward hsm): ``timed(instance, event,
    #: n)`` sends ``n`` events in its own event loop and returns the seconds they took
    #: (``sender`` is then None)
    timed: Callable[[Any, str, int], float] | None = None


@dataclass
class NotApplicable:
    """A workload a library cannot express, and why."""

    reason: str


Entry = Case | NotApplicable


def _method_caller(obj: Any, event: str) -> Callable[[str], Any]:
    """``obj.<event>()`` for libraries whose idiom is one method per event (bound once)."""
    fire = getattr(obj, event)

    def send(_event: str) -> Any:
        return fire()

    return send


# -- statefleet -------------------------------------------------------------------------------
def statefleet_cases() -> dict[str, Entry]:
    """bench_core's charts on the sync Session."""
    charts = {w: core.CHARTS[w]() for w in WORKLOADS}

    def case(w: str, check: Callable[[Any, int], None]) -> Case:
        return Case(lambda: core.start_statefleet(w, charts[w]), lambda s, _event: s.send, check)

    def c1(s: Any, n: int) -> None:
        assert s.configuration == {"a"}

    def c2(s: Any, n: int) -> None:
        assert s.context["n"] == n

    def c3(s: Any, n: int) -> None:
        assert s.configuration == {"A", "A1", "A11"}
        assert s.context == {"entries": 3 + 3 * n, "exits": 3 * n}

    def c4(s: Any, n: int) -> None:
        assert {"x1", "x2", "x3", "x4"} <= s.configuration

    return {"W1": case("W1", c1), "W2": case("W2", c2), "W3": case("W3", c3), "W4": case("W4", c4)}


# -- python-statemachine ----------------------------------------------------------------------
def psm_cases(module: str = "statemachine") -> dict[str, Entry]:
    """python-statemachine 3: the ``StateChart`` class DSL; events called as methods.

    ``module="statefleet"`` runs the very same classes on statefleet's class DSL (its
    ``State``/``StateChart`` are python-statemachine's API): the chart as users write it."""
    mod = importlib.import_module(module)
    State, StateChart = mod.State, mod.StateChart

    class Toggle(StateChart):  # type: ignore[misc]
        a = State(initial=True)
        b = State()
        e = a.to(b) | b.to(a)

    class Counter(StateChart):  # type: ignore[misc]
        s = State(initial=True)
        inc = s.to.itself(internal=True, cond="below", on="increment")

        def __init__(self) -> None:
            self.n = 0
            super().__init__()

        def below(self) -> bool:
            return self.n < W2_LIMIT

        def increment(self) -> None:
            self.n += 1

    class Deep(StateChart):  # type: ignore[misc]
        class A(State.Compound):  # type: ignore[misc]
            class A1(State.Compound):  # type: ignore[misc]
                a11 = State(initial=True)

        class B(State.Compound):  # type: ignore[misc]
            class B1(State.Compound):  # type: ignore[misc]
                b11 = State(initial=True)

        go = A.A1.a11.to(B.B1.b11) | B.B1.b11.to(A.A1.a11)

        def __init__(self) -> None:
            self.entries = 0
            self.exits = 0
            super().__init__()

        # generic entry/exit callbacks: called for every state entered/exited
        def on_enter_state(self) -> None:
            self.entries += 1

        def on_exit_state(self) -> None:
            self.exits += 1

    class Regions(StateChart):  # type: ignore[misc]
        class P(State.Parallel):  # type: ignore[misc]
            class R1(State.Compound):  # type: ignore[misc]
                x1 = State(initial=True)
                y1 = State()
                t = x1.to(y1) | y1.to(x1)

            class R2(State.Compound):  # type: ignore[misc]
                x2 = State(initial=True)
                y2 = State()
                t = x2.to(y2) | y2.to(x2)

            class R3(State.Compound):  # type: ignore[misc]
                x3 = State(initial=True)
                y3 = State()
                t = x3.to(y3) | y3.to(x3)

            class R4(State.Compound):  # type: ignore[misc]
                x4 = State(initial=True)
                y4 = State()
                t = x4.to(y4) | y4.to(x4)

    def events(sm: Any, event: str) -> Callable[[str], Any]:
        # ``sm.e()``: the documented call, a bit faster than ``sm.send("e")``
        return _method_caller(sm, event)

    def c1(sm: Any, n: int) -> None:
        assert set(sm.configuration_values) == {"a"}

    def c2(sm: Any, n: int) -> None:
        assert sm.n == n

    def c3(sm: Any, n: int) -> None:
        assert set(sm.configuration_values) == {"A", "A1", "a11"}
        assert (sm.entries, sm.exits) == (3 + 3 * n, 3 * n)

    def c4(sm: Any, n: int) -> None:
        assert {"x1", "x2", "x3", "x4"} <= set(sm.configuration_values)

    return {
        "W1": Case(Toggle, events, c1),
        "W2": Case(Counter, events, c2),
        "W3": Case(Deep, events, c3),
        "W4": Case(Regions, events, c4),
    }


# -- transitions ------------------------------------------------------------------------------
def transitions_cases() -> dict[str, Entry]:
    """transitions: ``Machine`` (W1, W2) and ``HierarchicalMachine`` (W3, W4) on a model."""
    from transitions import Machine
    from transitions.extensions import HierarchicalMachine

    class Model:
        def __init__(self) -> None:
            self.n = 0
            self.entries = 0
            self.exits = 0

        def below(self) -> bool:
            return self.n < W2_LIMIT

        def increment(self) -> None:
            self.n += 1

        def entry(self) -> None:
            self.entries += 1

        def exit(self) -> None:
            self.exits += 1

    def w1() -> Model:
        m = Model()
        Machine(
            model=m,
            states=["a", "b"],
            transitions=[["e", "a", "b"], ["e", "b", "a"]],
            initial="a",
            auto_transitions=False,
        )
        return m

    def w2() -> Model:
        m = Model()
        Machine(
            model=m,
            states=["s"],
            transitions=[
                # dest=None: an internal transition (no exit, no entry)
                {
                    "trigger": "inc",
                    "source": "s",
                    "dest": None,
                    "conditions": "below",
                    "after": "increment",
                }
            ],
            initial="s",
            auto_transitions=False,
        )
        return m

    def state(name: str, *children: dict[str, Any]) -> dict[str, Any]:
        d: dict[str, Any] = {"name": name, "on_enter": "entry", "on_exit": "exit"}
        if children:
            d["children"] = list(children)
            d["initial"] = children[0]["name"]
        return d

    def w3() -> Model:
        m = Model()
        HierarchicalMachine(
            model=m,
            states=[state("A", state("A1", state("A11"))), state("B", state("B1", state("B11")))],
            transitions=[["go", "A_A1_A11", "B_B1_B11"], ["go", "B_B1_B11", "A_A1_A11"]],
            initial="A",
            auto_transitions=False,
        )
        return m

    def w4() -> Model:
        m = Model()
        regions = [
            {
                "name": f"R{i}",
                "children": [f"x{i}", f"y{i}"],
                "initial": f"x{i}",
                "transitions": [["t", f"x{i}", f"y{i}"], ["t", f"y{i}", f"x{i}"]],
            }
            for i in range(1, 5)
        ]
        HierarchicalMachine(
            model=m,
            states=[{"name": "P", "parallel": regions}],
            initial="P",
            auto_transitions=False,
        )
        return m

    def events(m: Any, event: str) -> Callable[[str], Any]:
        # ``model.e()``: the documented trigger method, a bit faster than ``model.trigger("e")``
        return _method_caller(m, event)

    def c1(m: Any, n: int) -> None:
        assert m.state == "a"

    def c2(m: Any, n: int) -> None:
        assert (m.state, m.n) == ("s", n)

    def c3(m: Any, n: int) -> None:
        # transitions runs no on_enter callbacks for the initial state
        assert m.state == "A_A1_A11"
        assert (m.entries, m.exits) == (3 * n, 3 * n)

    def c4(m: Any, n: int) -> None:
        assert m.state == ["P_R1_x1", "P_R2_x2", "P_R3_x3", "P_R4_x4"]

    return {
        "W1": Case(w1, events, c1),
        "W2": Case(w2, events, c2),
        "W3": Case(w3, events, c3),
        "W4": Case(w4, events, c4),
    }


# -- sismic -----------------------------------------------------------------------------------
SISMIC_W1 = """
statechart:
  name: W1
  root state:
    name: root
    initial: a
    states:
    - name: a
      transitions:
      - {target: b, event: e}
    - name: b
      transitions:
      - {target: a, event: e}
"""

SISMIC_W2 = f"""
statechart:
  name: W2
  preamble: n = 0
  root state:
    name: root
    initial: s
    states:
    - name: s
      transitions:
      - event: inc
        guard: n < {W2_LIMIT}
        action: n += 1
"""


SISMIC_W3 = """
statechart:
  name: W3
  preamble: |
    entries = 0
    exits = 0
  root state:
    name: root
    initial: A
    states:
    - name: A
      on entry: entries += 1
      on exit: exits += 1
      initial: A1
      states:
      - name: A1
        on entry: entries += 1
        on exit: exits += 1
        initial: A11
        states:
        - name: A11
          on entry: entries += 1
          on exit: exits += 1
          transitions:
          - {target: B11, event: go}
    - name: B
      on entry: entries += 1
      on exit: exits += 1
      initial: B1
      states:
      - name: B1
        on entry: entries += 1
        on exit: exits += 1
        initial: B11
        states:
        - name: B11
          on entry: entries += 1
          on exit: exits += 1
          transitions:
          - {target: A11, event: go}
"""

SISMIC_W4 = """
statechart:
  name: W4
  root state:
    name: root
    initial: P
    states:
    - name: P
      parallel states:
""" + "".join(
    f"""      - name: R{i}
        initial: x{i}
        states:
        - name: x{i}
          transitions:
          - {{target: y{i}, event: t}}
        - name: y{i}
          transitions:
          - {{target: x{i}, event: t}}
"""
    for i in range(1, 5)
)


def sismic_cases() -> dict[str, Entry]:
    """sismic: YAML statecharts with Python code in guards and actions; queue + execute_once."""
    from sismic.interpreter import Interpreter
    from sismic.io import import_from_yaml

    charts = {
        "W1": import_from_yaml(SISMIC_W1),
        "W2": import_from_yaml(SISMIC_W2),
        "W3": import_from_yaml(SISMIC_W3),
        "W4": import_from_yaml(SISMIC_W4),
    }

    def make(w: str) -> Callable[[], Any]:
        def build() -> Any:
            it = Interpreter(charts[w])
            it.execute_once()  # enter the initial configuration
            return it

        return build

    def events(it: Any, event: str) -> Callable[[str], Any]:
        queue, execute_once = it.queue, it.execute_once

        def send(ev: str) -> Any:
            queue(ev)
            return execute_once()

        return send

    def c1(it: Any, n: int) -> None:
        assert set(it.configuration) == {"root", "a"}

    def c2(it: Any, n: int) -> None:
        assert it.context["n"] == n

    def c3(it: Any, n: int) -> None:
        assert set(it.configuration) == {"root", "A", "A1", "A11"}
        assert (it.context["entries"], it.context["exits"]) == (3 + 3 * n, 3 * n)

    def c4(it: Any, n: int) -> None:
        assert {"x1", "x2", "x3", "x4"} <= set(it.configuration)

    checks = {"W1": c1, "W2": c2, "W3": c3, "W4": c4}
    return {w: Case(make(w), events, checks[w]) for w in WORKLOADS}


# -- xstate-statemachine ----------------------------------------------------------------------
def xstate_cases(statefleet: bool = False) -> dict[str, Entry]:
    """xstate-statemachine: XState JSON configs, ``MachineLogic``, ``SyncInterpreter``.

    ``statefleet=True`` loads the very same dicts, with the same guard and action functions,
    through ``statefleet.from_dict`` and runs them on a ``Session``: the chart as users
    write it."""

    def below(ctx: Any, event: Any) -> bool:
        return bool(ctx["n"] < W2_LIMIT)

    def increment(interp: Any, ctx: Any, event: Any, action: Any) -> None:
        ctx["n"] += 1

    def entry(interp: Any, ctx: Any, event: Any, action: Any) -> None:
        ctx["entries"] += 1

    def exit_(interp: Any, ctx: Any, event: Any, action: Any) -> None:
        ctx["exits"] += 1

    def node(on: dict[str, Any] | None = None, **children: dict[str, Any]) -> dict[str, Any]:
        d: dict[str, Any] = {"entry": "entry", "exit": "exit"}
        if children:
            d["initial"] = next(iter(children))
            d["states"] = children
        if on:
            d["on"] = on
        return d

    configs: dict[str, dict[str, Any]] = {
        "W1": {
            "id": "w1",
            "initial": "a",
            "states": {"a": {"on": {"e": "b"}}, "b": {"on": {"e": "a"}}},
        },
        "W2": {
            "id": "w2",
            "initial": "s",
            "context": {"n": 0},
            # no target: a targetless transition (actions only)
            "states": {"s": {"on": {"inc": {"guard": "below", "actions": "increment"}}}},
        },
        "W3": {
            "id": "w3",
            "initial": "A",
            "context": {"entries": 0, "exits": 0},
            "states": {
                "A": node(A1=node(A11=node(on={"go": "#w3.B.B1.B11"}))),
                "B": node(B1=node(B11=node(on={"go": "#w3.A.A1.A11"}))),
            },
        },
        "W4": {
            "id": "w4",
            "initial": "P",
            "states": {
                "P": {
                    "type": "parallel",
                    "states": {
                        f"R{i}": {
                            "initial": f"x{i}",
                            "states": {
                                f"x{i}": {"on": {"t": f"y{i}"}},
                                f"y{i}": {"on": {"t": f"x{i}"}},
                            },
                        }
                        for i in range(1, 5)
                    },
                }
            },
        },
    }
    actions = {"increment": increment, "entry": entry, "exit": exit_}
    guards = {"below": below}
    if statefleet:
        from statefleet import from_dict

        charts = {w: from_dict(c, actions=actions, guards=guards) for w, c in configs.items()}

        def make(w: str) -> Callable[[], Any]:
            return charts[w].start

        def active(it: Any) -> set[str]:
            return {s for s in it.configuration if s.count(".") == max_depth[s.split(".")[0]]}

        max_depth = {"w1": 1, "w2": 1, "w3": 3, "w4": 3}
    else:
        from xstate_statemachine import MachineLogic, SyncInterpreter, create_machine

        logic = MachineLogic(actions=actions, guards=guards)
        machines = {w: create_machine(c, logic=logic) for w, c in configs.items()}

        def make(w: str) -> Callable[[], Any]:
            return lambda: SyncInterpreter(machines[w]).start()

        def active(it: Any) -> set[str]:
            return set(it.active_state_ids)

    def c1(it: Any, n: int) -> None:
        assert active(it) == {"w1.a"}

    def c2(it: Any, n: int) -> None:
        assert it.context["n"] == n

    def c3(it: Any, n: int) -> None:
        assert active(it) == {"w3.A.A1.A11"}
        assert (it.context["entries"], it.context["exits"]) == (3 + 3 * n, 3 * n)

    def c4(it: Any, n: int) -> None:
        assert active(it) == {f"w4.P.R{i}.x{i}" for i in range(1, 5)}

    checks = {"W1": c1, "W2": c2, "W3": c3, "W4": c4}
    return {w: Case(make(w), lambda it, _event: it.send, checks[w]) for w in WORKLOADS}


# -- miros ----------------------------------------------------------------------------------
def miros_cases() -> dict[str, Entry]:
    """miros: state handler functions on an ``HsmWithQueues(instrumented=False)``,
    ``dispatch(Event(signal=...))`` (its synchronous path; ``ActiveObject`` adds a thread)."""
    from miros import Event, HsmWithQueues, return_status, signals

    entry, exit_, init = signals.ENTRY_SIGNAL, signals.EXIT_SIGNAL, signals.INIT_SIGNAL
    handled, super_ = return_status.HANDLED, return_status.SUPER

    def state(
        parent: Callable[..., Any] | None,
        *,
        on: dict[Any, list[Callable[..., Any]]] | None = None,
        child: list[Callable[..., Any]] | None = None,
        guarded: bool = False,
        counted: bool = False,
    ) -> Callable[..., Any]:
        """A handler: transitions ``on`` (signal -> [target], filled in later), an initial
        ``child``, entry/exit counters, or W2's guarded increment."""

        def handler(chart: Any, e: Any) -> Any:
            sig = e.signal
            if on is not None and sig in on:
                return chart.trans(on[sig][0])
            if guarded and sig == signals.inc:
                if chart.n < W2_LIMIT:
                    chart.n += 1
                return handled
            if counted and sig == entry:
                chart.entries += 1
                return handled
            if counted and sig == exit_:
                chart.exits += 1
                return handled
            if child is not None and sig == init:
                return chart.trans(child[0])
            chart.temp.fun = parent if parent is not None else chart.top
            return super_

        return handler

    def w1() -> tuple[Any, Any]:
        to_a: list[Any] = []
        to_b: list[Any] = []
        a = state(None, on={signals.e: to_b})
        b = state(None, on={signals.e: to_a})
        to_a.append(a)
        to_b.append(b)
        return a, {"a": a}

    def w2() -> tuple[Any, Any]:
        s = state(None, guarded=True)
        return s, {"s": s}

    def w3() -> tuple[Any, Any]:
        a1c: list[Any] = []
        b1c: list[Any] = []
        to_a11: list[Any] = []
        to_b11: list[Any] = []
        a_child: list[Any] = []
        b_child: list[Any] = []
        a = state(None, child=a_child, counted=True)
        a1 = state(a, child=a1c, counted=True)
        a11 = state(a1, on={signals.go: to_b11}, counted=True)
        b = state(None, child=b_child, counted=True)
        b1 = state(b, child=b1c, counted=True)
        b11 = state(b1, on={signals.go: to_a11}, counted=True)
        a_child.append(a1)
        a1c.append(a11)
        b_child.append(b1)
        b1c.append(b11)
        to_a11.append(a11)
        to_b11.append(b11)
        return a, {"A11": a11}

    def make(build: Callable[[], tuple[Any, Any]]) -> Callable[[], Any]:
        top, names = build()

        def start() -> Any:
            h = HsmWithQueues(instrumented=False)
            h.n = h.entries = h.exits = 0
            h.bench_names = names
            h.start_at(top)
            return h

        return start

    def events(h: Any, event: str) -> Callable[[str], Any]:
        dispatch, ev = h.dispatch, Event(signal=getattr(signals, event))

        def send(_event: str) -> Any:
            return dispatch(ev)

        return send

    def at(h: Any, name: str) -> None:
        assert h.state.fun is h.bench_names[name], h.state.fun

    def c1(h: Any, n: int) -> None:
        at(h, "a")

    def c2(h: Any, n: int) -> None:
        assert h.n == n

    def c3(h: Any, n: int) -> None:
        at(h, "A11")
        assert (h.entries, h.exits) == (3 + 3 * n, 3 * n)

    return {
        "W1": Case(make(w1), events, c1),
        "W2": Case(make(w2), events, c2),
        "W3": Case(make(w3), events, c3),
        "W4": NotApplicable("no parallel regions (miros composes separate HSMs for that)"),
    }


# -- pystator ---------------------------------------------------------------------------------
def pystator_cases() -> dict[str, Entry]:
    """pystator: its config as a dict (the YAML's data; names lowercase, as its schema
    requires), guards and actions registered with ``@machine.guard``/``@machine.action``.
    W1-W3 on an ``EntitySession`` made with ``execute_actions=True`` (without it the session
    only plans actions), events through ``session.send``; W4 through
    ``StateMachine.process_parallel`` on a ``ParallelStateConfig``, pystator's documented way
    to run orthogonal regions (an ``EntitySession`` holds one leaf state)."""
    from pystator import StateMachine

    meta = {"machine_name": "bench", "version": "1"}

    def flip(src: str, dst: str, event: str, **extra: Any) -> list[dict[str, Any]]:
        return [
            {"trigger": event, "source": src, "dest": dst, **extra},
            {"trigger": event, "source": dst, "dest": src, **extra},
        ]

    w1 = StateMachine.from_dict(
        {
            "meta": meta,
            "states": [{"name": "a", "type": "initial"}, {"name": "b"}],
            "transitions": flip("a", "b", "e"),
        }
    )
    w2 = StateMachine.from_dict(
        {
            "meta": meta,
            "states": [{"name": "s", "type": "initial"}],
            # internal: no exit, no entry (pystator's targetless transition)
            "transitions": [
                {
                    "trigger": "inc",
                    "source": "s",
                    "dest": "s",
                    "internal": True,
                    "guards": ["below"],
                    "actions": ["increment"],
                }
            ],
        }
    )

    @w2.guard("below")  # type: ignore[misc]
    def below(ctx: dict[str, Any]) -> bool:
        return bool(ctx["n"] < W2_LIMIT)

    @w2.action("increment")  # type: ignore[misc]
    def increment(ctx: dict[str, Any]) -> None:
        ctx["n"] += 1

    def state(name: str, parent: str | None = None, child: str | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"name": name, "on_enter": ["entry"], "on_exit": ["exit"]}
        if parent is None:
            d["type"] = "initial" if name == "a" else "stable"
        else:
            d["parent"] = parent
        if child:
            d["initial_child"] = child
        return d

    w3 = StateMachine.from_dict(
        {
            "meta": meta,
            "states": [
                *(state("a", child="a1"), state("a1", "a", "a11"), state("a11", "a1")),
                *(state("b", child="b1"), state("b1", "b", "b11"), state("b11", "b1")),
            ],
            "transitions": flip("a11", "b11", "go"),
        }
    )

    @w3.action("entry")  # type: ignore[misc]
    def entry(ctx: dict[str, Any]) -> None:
        ctx["entries"] += 1

    @w3.action("exit")  # type: ignore[misc]
    def exit_(ctx: dict[str, Any]) -> None:
        ctx["exits"] += 1

    regions = range(1, 5)
    w4 = StateMachine.from_dict(
        {
            "meta": meta,
            # pystator's validator wants a root state of type initial: the parallel state
            # sits in one, as in an SCXML document whose root holds it
            "states": [
                {"name": "top", "type": "initial", "initial_child": "p"},
                {
                    "name": "p",
                    "type": "parallel",
                    "parent": "top",
                    "regions": [
                        {"name": f"r{i}", "initial": f"x{i}", "states": [f"x{i}", f"y{i}"]}
                        for i in regions
                    ],
                },
                *({"name": f"{c}{i}", "parent": "p"} for i in regions for c in "xy"),
            ],
            "transitions": [
                t for i in regions for t in flip(f"x{i}", f"y{i}", "t", region=f"r{i}")
            ],
        }
    )

    def session(machine: Any, **context: int) -> Callable[[], Any]:
        return lambda: machine.create(context=dict(context), execute_actions=True)

    def events(sess: Any, _event: str) -> Callable[[str], Any]:
        return cast(Callable[[str], Any], sess.send)

    class Regions:
        """The caller-held configuration of W4 (pystator's parallel API is stateless)."""

        def __init__(self) -> None:
            self.config = w4.enter_parallel_state("p")
            self.context: dict[str, Any] = {}

    def parallel_events(r: Regions, _event: str) -> Callable[[str], Any]:
        process, context = w4.process_parallel, r.context

        def send(event: str) -> Any:
            r.config, results = process(r.config, event, context)
            return results

        return send

    def at(r: Regions, leaf: str) -> None:
        assert dict(r.config.region_states) == {f"r{i}": f"{leaf}{i}" for i in regions}

    def c1(sess: Any, n: int) -> None:
        assert sess.current_state == "a"

    def c2(sess: Any, n: int) -> None:
        assert sess.context["n"] == n

    def c3(sess: Any, n: int) -> None:
        # pystator runs no on_enter actions for the initial state
        assert sess.current_state == "a11"
        assert (sess.context["entries"], sess.context["exits"]) == (3 * n, 3 * n)

    def c4(r: Regions, n: int) -> None:
        at(r, "x")
        parallel_events(r, "t")("t")  # and one more event moves every region
        at(r, "y")

    return {
        "W1": Case(session(w1), events, c1),
        "W2": Case(session(w2, n=0), events, c2),
        "W3": Case(session(w3, entries=0, exits=0), events, c3),
        "W4": Case(Regions, parallel_events, c4),
    }


# -- stateforward hsm -------------------------------------------------------------------------
def hsm_cases() -> dict[str, Entry]:
    """stateforward hsm (``import hsm``, Python >= 3.13): models built with ``hsm.Define``,
    behaviours ``(ctx, instance, event)`` on an ``hsm.Instance``; asyncio only, so each event
    is ``await hsm.Dispatch(None, instance, event)`` in a running event loop (the timed loop
    runs in it). No orthogonal regions: W4 is n/a."""
    try:
        import hsm
    except ImportError as exc:
        raise ImportError(str(exc), name="hsm; stateforward-hsm needs Python >= 3.13") from exc

    class Counters(hsm.Instance):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.entries = 0
            self.exits = 0

    def below(ctx: Any, inst: Counters, event: Any) -> bool:
        return inst.n < W2_LIMIT

    def increment(ctx: Any, inst: Counters, event: Any) -> None:
        inst.n += 1

    def entry(ctx: Any, inst: Counters, event: Any) -> None:
        inst.entries += 1

    def exit_(ctx: Any, inst: Counters, event: Any) -> None:
        inst.exits += 1

    def on(event: str, target: str) -> Any:
        return hsm.Transition(hsm.On(event), hsm.Target(target))

    def state(name: str, *elements: Any) -> Any:
        return hsm.State(name, hsm.Entry(entry), hsm.Exit(exit_), *elements)

    def branch(a: str, b: str) -> Any:
        # a > a1 > a11, the leaf's ``go`` to the other branch's leaf
        other = f"/w3/{b}/{b}1/{b}11"
        leaf = state(f"{a}11", on("go", other))
        return state(a, hsm.Initial(hsm.Target(f"{a}1")), state(f"{a}1", hsm.Initial(
            hsm.Target(f"{a}11")), leaf))  # fmt: skip

    models = {
        "W1": hsm.Define(
            "w1",
            hsm.Initial(hsm.Target("a")),
            hsm.State("a", on("e", "../b")),
            hsm.State("b", on("e", "../a")),
        ),
        "W2": hsm.Define(
            "w2",
            hsm.Initial(hsm.Target("s")),
            # no target: an internal transition (effects only, no exit/entry)
            hsm.State("s", hsm.Transition(hsm.On("inc"), hsm.Guard(below), hsm.Effect(increment))),
        ),
        "W3": hsm.Define("w3", hsm.Initial(hsm.Target("A")), branch("A", "B"), branch("B", "A")),
    }

    @dataclass
    class Running:
        loop: asyncio.AbstractEventLoop
        inst: Counters

    def make(w: str) -> Callable[[], Running]:
        def start() -> Running:
            loop = asyncio.new_event_loop()
            inst = Counters()
            loop.run_until_complete(hsm.Started(None, inst, models[w]))
            return Running(loop, inst)

        return start

    def timed(r: Running, event: str, n: int) -> float:
        dispatch, inst, ev = hsm.Dispatch, r.inst, hsm.Event(name=event)

        async def sends() -> float:
            t0 = core.clock()
            for _ in itertools.repeat(None, n):
                await dispatch(None, inst, ev)
            return core.clock() - t0

        return r.loop.run_until_complete(sends())

    async def stop(inst: Counters) -> None:
        await hsm.Stop(inst)  # it needs the running loop when called, not only when awaited

    def checked(check: Callable[[Counters, int], None]) -> Callable[[Running, int], None]:
        def run(r: Running, n: int) -> None:
            try:
                check(r.inst, n)
            finally:
                r.loop.run_until_complete(stop(r.inst))
                r.loop.close()

        return run

    def c1(inst: Counters, n: int) -> None:
        assert inst.state() == "/w1/a", inst.state()

    def c2(inst: Counters, n: int) -> None:
        assert (inst.state(), inst.n) == ("/w2/s", n)

    def c3(inst: Counters, n: int) -> None:
        assert inst.state() == "/w3/A/A1/A11", inst.state()
        assert (inst.entries, inst.exits) == (3 + 3 * n, 3 * n)

    checks = {"W1": c1, "W2": c2, "W3": c3}
    out: dict[str, Entry] = {
        w: Case(make(w), None, checked(checks[w]), timed=timed) for w in ("W1", "W2", "W3")
    }
    out["W4"] = NotApplicable("no orthogonal regions (hsm has no parallel states)")
    return out


@dataclass(frozen=True)
class Library:
    """A library in the table: its column name, distribution name and cases."""

    name: str
    dist: str
    cases: Callable[[], dict[str, Entry]]


SF_DSL = "statefleet class DSL"
SF_DICT = "statefleet XState dict"
LIBRARIES = (
    Library("statefleet", "statefleet", statefleet_cases),
    Library(SF_DSL, "statefleet", functools.partial(psm_cases, "statefleet")),
    Library(SF_DICT, "statefleet", functools.partial(xstate_cases, statefleet=True)),
    Library("python-statemachine", "python-statemachine", psm_cases),
    Library("transitions", "transitions", transitions_cases),
    Library("sismic", "sismic", sismic_cases),
    Library("xstate-statemachine", "xstate-statemachine", xstate_cases),
    Library("miros", "miros", miros_cases),
    Library("pystator", "pystator", pystator_cases),
    Library("stateforward-hsm", "stateforward.hsm", hsm_cases),
)


# -- running ----------------------------------------------------------------------------------
@dataclass
class Cell:
    """One measurement: events/s, or why there is none."""

    rate: float | None = None
    events: int = 0
    note: str = ""


def _run(case: Case, event: str, n: int) -> float:
    inst = case.make()
    if case.timed is not None:
        gc.collect()
        dt = case.timed(inst, event, n)
    else:
        assert case.sender is not None
        send = case.sender(inst, event)
        gc.collect()
        dt = core.time_sends(send, event, n)
    case.check(inst, n)
    return dt


def calibrate(case: Case, event: str, budget: float) -> int:
    """An even number of events taking about ``budget`` seconds (2,000 to 200,000)."""
    probe = 200
    rate = probe / max(_run(case, event, probe), 1e-9)
    n = int(min(200_000, max(2_000, rate * budget)))
    return n - n % 2


def run(
    libraries: Sequence[Library], *, repeats: int, budget: float, sf_events: int
) -> dict[str, dict[str, Cell]]:
    """``results[library][workload]``: per workload, the libraries' runs interleaved (one
    run of each library per round, ``repeats`` rounds), best of the rounds, each checked."""
    out: dict[str, dict[str, Cell]] = {lib.name: {} for lib in libraries}
    cases: dict[str, dict[str, Entry]] = {}
    for lib in libraries:
        try:
            cases[lib.name] = lib.cases()
        except ImportError as exc:
            for w in WORKLOADS:
                out[lib.name][w] = Cell(note=f"not installed ({exc.name})")
    for w in WORKLOADS:
        event = EVENTS[w]
        todo: dict[str, tuple[Case, int]] = {}
        for name, entries in cases.items():
            entry = entries[w]
            if isinstance(entry, NotApplicable):
                out[name][w] = Cell(note=f"n/a: {entry.reason}")
                continue
            try:
                n = sf_events if name == "statefleet" else calibrate(entry, event, budget)
            except AssertionError as exc:
                out[name][w] = Cell(note=f"wrong result: {exc}")
                continue
            todo[name] = (entry, n)
        best: dict[str, float] = {}
        for _ in range(repeats):
            for name, (entry, n) in list(todo.items()):
                try:
                    dt = _run(entry, event, n)
                except AssertionError as exc:
                    out[name][w] = Cell(note=f"wrong result: {exc}")
                    del todo[name]
                    continue
                best[name] = min(best.get(name, dt), dt)
        for name, (_entry, n) in todo.items():
            out[name][w] = Cell(n / best[name], n)
    return out


def fastest_peer(results: dict[str, dict[str, Cell]], w: str) -> tuple[str, float] | None:
    """The fastest library other than statefleet on workload ``w`` (name, events/s)."""
    rates = [
        (row[w].rate, name)
        for name, row in results.items()
        if not name.startswith("statefleet") and row[w].rate
    ]
    if not rates:
        return None
    rate, name = max(rates)
    return name, rate


#: issue 16's targets for the charts as users write them (statefleet / peer)
TARGETS = {"W1": 10.0, "W2": 8.0, "W3": 10.0, "W4": 10.0}


def format_targets(results: dict[str, dict[str, Cell]], *, markdown: bool = False) -> str:
    """Issue 16's rows: each user form against the fastest peer (W2: against transitions)."""
    head = ["workload", "form", "statefleet ev/s", "peer", "peer ev/s", "ratio", "target"]
    body: list[list[str]] = []
    for w in WORKLOADS:
        if w == "W2":
            rate = results.get("transitions", {}).get(w, Cell()).rate
            peer = ("transitions", rate) if rate else None
        else:
            peer = fastest_peer(results, w)
        for form in (SF_DSL, SF_DICT):
            cell = results[form][w]
            if cell.rate is None or peer is None:
                body.append([w, form, cell.note or "-", "-", "-", "-", "-"])
                continue
            ratio = cell.rate / peer[1]
            ok = "ok" if ratio >= TARGETS[w] else "MISS"
            body.append(
                [
                    w,
                    form.removeprefix("statefleet "),
                    f"{cell.rate:,.0f}",
                    peer[0],
                    f"{peer[1]:,.0f}",
                    f"{ratio:.1f}x",
                    f">= {TARGETS[w]:g}x {ok}",
                ]
            )
    return _grid(head, body, markdown)


def _grid(header: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(wd) for c, wd in zip(r[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(header), "  ".join("-" * wd for wd in widths), *[fmt(r) for r in body]])


def version(dist: str) -> str:
    """The installed version of ``dist`` (or ``?``)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def format_table(
    results: dict[str, dict[str, Cell]], libraries: Sequence[Library], *, markdown: bool = False
) -> str:
    """events/s per library; peers' cells carry statefleet's speed-up over them."""
    names = [lib.name for lib in libraries]
    header = [
        "workload",
        *[f"{n} {version(lib.dist)}" for n, lib in zip(names, libraries, strict=True)],
    ]
    body: list[list[str]] = []
    for w in WORKLOADS:
        sf = results["statefleet"][w].rate
        row = [f"{w} {core.DESCRIPTIONS[w]}"]
        for name in names:
            cell = results[name][w]
            if cell.rate is None:
                row.append(cell.note)
            elif name == "statefleet" or not sf:
                row.append(f"{cell.rate:,.0f}")
            else:
                row.append(f"{cell.rate:,.0f} ({sf / cell.rate:,.0f}x)")
        body.append(row)
    return _grid(header, body, markdown)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time runs by the thread's CPU time, not wall time (a machine shared with other work)",
    )
    args = parser.parse_args(argv)
    core.use_cpu_time(args.cpu_time)
    s = core.QUICK if args.quick else core.FULL
    repeats = 2 if args.quick else 5
    budget = 0.05 if args.quick else 0.25
    # peers log at INFO/DEBUG in places; keep the table readable
    logging.disable(logging.WARNING)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        results = run(LIBRARIES, repeats=repeats, budget=budget, sf_events=s.events)
    timing = "; CPU time" if args.cpu_time else ""
    print(f"events/s, best of {repeats} ({core.environment()}{timing}); (Nx) = statefleet / peer")
    print()
    print(format_table(results, LIBRARIES, markdown=args.markdown))
    print()
    print("issue 16: the charts as users write them against the fastest peer (W2: transitions)")
    print()
    print(format_targets(results, markdown=args.markdown))
    print()
    counts = ", ".join(
        f"{name} {min(c.events for c in row.values() if c.events):,}"
        f"-{max(c.events for c in row.values() if c.events):,}"
        for name, row in results.items()
        if any(c.events for c in row.values())
    )
    print(f"events per run: {counts}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
