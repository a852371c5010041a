"""Core benchmarks: the sync Session against a hand-written plain-Python floor.

Workloads (issue 2, "Speed"):

- W1 flat toggle: two states, one event toggling between them.
- W2 guarded self-increment: one state, a targetless transition whose guard reads the
  context and whose action increments a counter in it.
- W3 leaf to leaf across two 3-level branches, entry and exit actions on every state
  (each event exits three states and enters three).
- W4 one event toggling four parallel regions (four transitions in one microstep).
- W5 compile a 100-state chart; create 10,000 sessions of it; bytes per idle session.

Each workload is also written as a *floor*: the fastest plain-Python code doing the same work
(a dict-of-dicts transition table, explicit entry/exit calls, a ``send`` method). The floor is
measured in the same run, so ``sf/floor`` is comparable across machines; the targets are
absolute events per second on the sync Session.

Usage::

    python benchmarks/bench_core.py              # the full run (well under a minute)
    python benchmarks/bench_core.py --quick      # a smaller run
    python benchmarks/bench_core.py --markdown   # the table as Markdown
    python benchmarks/bench_core.py --profile W3 # one workload under cProfile, top 25 by tottime
    python benchmarks/bench_core.py --cpu-time   # CPU time, not wall time (a shared machine)

Timing: ``time.perf_counter`` (``--cpu-time``: ``time.thread_time``), best of several
repeats, a fixed number of events per repeat, a fresh instance per repeat (the chart and its
caches are shared, as in real use), the garbage collector left on (collected before each
repeat).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from statefleet.core import (
    Chart,
    ChartSpec,
    Session,
    StateSpec,
    TransitionSpec,
    compile_chart,
)

__all__ = [
    "FULL",
    "QUICK",
    "WORKLOADS",
    "Result",
    "Settings",
    "best_of",
    "chart_100",
    "chart_w1",
    "chart_w2",
    "chart_w3",
    "chart_w4",
    "floor_w1",
    "floor_w2",
    "floor_w3",
    "floor_w4",
    "format_table",
    "main",
    "run_floor",
    "run_statefleet",
    "time_sends",
]

#: W2's guard bound: high enough that the guard is always true during a run
W2_LIMIT = 10**12
#: the event each workload sends
EVENTS = {"W1": "e", "W2": "inc", "W3": "go", "W4": "t"}


@dataclass(frozen=True)
class Settings:
    """How much work a run does."""

    events: int
    repeats: int
    sessions: int
    compiles: int


FULL = Settings(events=200_000, repeats=5, sessions=10_000, compiles=50)
QUICK = Settings(events=20_000, repeats=3, sessions=2_000, compiles=10)


# -- statefleet charts (core ChartSpec API) -------------------------------------------------
def _t(event: str, target: str | None = None, **kw: Any) -> TransitionSpec:
    return TransitionSpec(event=(event,), target=(target,) if target else (), **kw)


def chart_w1() -> Chart:
    """W1: ``a --e--> b --e--> a``."""
    return compile_chart(
        ChartSpec(
            "w1",
            states=[
                StateSpec("a", transitions=[_t("e", "b")]),
                StateSpec("b", transitions=[_t("e", "a")]),
            ],
        )
    )


def _w2_below(ctx: Any) -> bool:
    return bool(ctx.context["n"] < W2_LIMIT)


def _w2_increment(ctx: Any) -> None:
    ctx.context["n"] += 1


def chart_w2() -> Chart:
    """W2: one state ``s``; ``inc`` is targetless, guarded by ``n < limit``, and does ``n += 1``."""
    return compile_chart(
        ChartSpec(
            "w2",
            states=[
                StateSpec(
                    "s",
                    transitions=[_t("inc", cond=_w2_below, actions=(_w2_increment,))],
                )
            ],
        )
    )


def _w3_entry(ctx: Any) -> None:
    ctx.context["entries"] += 1


def _w3_exit(ctx: Any) -> None:
    ctx.context["exits"] += 1


def _w3_state(id: str, *children: StateSpec, on: Sequence[TransitionSpec] = ()) -> StateSpec:
    return StateSpec(
        id,
        children=list(children),
        transitions=list(on),
        onentry=[(_w3_entry,)],
        onexit=[(_w3_exit,)],
    )


def chart_w3() -> Chart:
    """W3: ``A > A1 > A11`` and ``B > B1 > B11``; ``go`` moves ``A11 <-> B11``.

    Every state has one entry and one exit action (counters in the context), so each event
    runs three exit and three entry actions.
    """
    return compile_chart(
        ChartSpec(
            "w3",
            states=[
                _w3_state("A", _w3_state("A1", _w3_state("A11", on=[_t("go", "B11")]))),
                _w3_state("B", _w3_state("B1", _w3_state("B11", on=[_t("go", "A11")]))),
            ],
        )
    )


REGIONS = 4


def chart_w4() -> Chart:
    """W4: parallel ``P`` with regions ``R1..R4``, each ``x<i> <--t--> y<i>``."""
    regions = [
        StateSpec(
            f"R{i}",
            children=[
                StateSpec(f"x{i}", transitions=[_t("t", f"y{i}")]),
                StateSpec(f"y{i}", transitions=[_t("t", f"x{i}")]),
            ],
        )
        for i in range(1, REGIONS + 1)
    ]
    return compile_chart(
        ChartSpec("w4", states=[StateSpec("P", kind="parallel", children=regions)])
    )


def _noop(ctx: Any) -> None:
    return None


def spec_100() -> ChartSpec:
    """W5: a 100-state chart: 10 compound groups of 9 leaves.

    In each group ``next`` walks the leaves; the last leaf's ``next`` and every group's
    ``skip`` go to the next group (round the ring); groups have entry actions.
    """
    groups: list[StateSpec] = []
    for g in range(10):
        leaves = []
        for j in range(9):
            nxt = f"g{g}s{j + 1}" if j < 8 else f"g{(g + 1) % 10}"
            leaves.append(StateSpec(f"g{g}s{j}", transitions=[_t("next", nxt)]))
        groups.append(
            StateSpec(
                f"g{g}",
                children=leaves,
                transitions=[_t("skip", f"g{(g + 1) % 10}")],
                onentry=[(_noop,)],
            )
        )
    return ChartSpec("w5", states=groups)


def chart_100() -> Chart:
    """W5's 100-state chart, compiled."""
    return compile_chart(spec_100())


# -- the floors: the fastest plain Python doing the same work -------------------------------
class FloorMachine:
    """A flat machine: ``table[state][event] -> target``."""

    __slots__ = ("context", "state", "table")

    def __init__(self, table: dict[str, dict[str, str]], state: str) -> None:
        self.table = table
        self.state = state
        self.context: dict[str, Any] = {}

    def send(self, event: str) -> None:
        """Take the transition."""
        self.state = self.table[self.state][event]


class FloorGuarded:
    """``table[state][event] -> [(guard, action, target | None), ...]``, first enabled wins."""

    __slots__ = ("context", "state", "table")

    Row = tuple[Callable[[Any], Any], Callable[[Any], Any], "str | None"]

    def __init__(self, table: dict[str, dict[str, list[Row]]], state: str, n: int) -> None:
        self.table = table
        self.state = state
        self.context: dict[str, Any] = {"n": n}

    def send(self, event: str) -> None:
        """Evaluate guards in order; run the first enabled transition's action."""
        for guard, action, target in self.table[self.state][event]:
            if guard(self):
                action(self)
                if target is not None:
                    self.state = target
                return


class FloorHierarchical:
    """``table[leaf][event] -> (exit actions, target leaf, entry actions)``, precomputed."""

    __slots__ = ("context", "state", "table")

    Row = tuple[tuple[Callable[[Any], Any], ...], str, tuple[Callable[[Any], Any], ...]]

    def __init__(self, table: dict[str, dict[str, Row]], state: str) -> None:
        self.table = table
        self.state = state
        self.context: dict[str, Any] = {"entries": 0, "exits": 0}

    def send(self, event: str) -> None:
        """Run the exits (innermost first), move, run the entries (outermost first)."""
        exits, target, entries = self.table[self.state][event]
        for f in exits:
            f(self)
        self.state = target
        for f in entries:
            f(self)


class FloorParallel:
    """Parallel regions, hand-optimized: the configuration is the tuple of the regions'
    states and ``table[configuration][event]`` is precomputed over every combination.

    (A per-region loop, ``[t[s][event] for t, s in zip(tables, states)]``, is the
    straightforward version; it is about 5x slower than this and than statefleet, which
    precomputes the same way.)
    """

    __slots__ = ("context", "state", "table")

    def __init__(
        self, table: dict[tuple[str, ...], dict[str, tuple[str, ...]]], state: tuple[str, ...]
    ) -> None:
        self.table = table
        self.state = state
        self.context: dict[str, Any] = {}

    def send(self, event: str) -> None:
        """One lookup moves every region."""
        self.state = self.table[self.state][event]


def floor_w1() -> FloorMachine:
    """W1's floor."""
    return FloorMachine({"a": {"e": "b"}, "b": {"e": "a"}}, "a")


def _floor_below(m: Any) -> bool:
    return bool(m.context["n"] < W2_LIMIT)


def _floor_increment(m: Any) -> None:
    m.context["n"] += 1


def floor_w2() -> FloorGuarded:
    """W2's floor."""
    return FloorGuarded({"s": {"inc": [(_floor_below, _floor_increment, None)]}}, "s", 0)


def floor_w3() -> FloorHierarchical:
    """W3's floor: entry/exit lists precomputed per transition; the actions are W3's own."""
    exits = (_w3_exit, _w3_exit, _w3_exit)
    entries = (_w3_entry, _w3_entry, _w3_entry)
    m = FloorHierarchical(
        {"A11": {"go": (exits, "B11", entries)}, "B11": {"go": (exits, "A11", entries)}}, "A11"
    )
    m.context["entries"] = 3  # the initial entry of A, A1, A11
    return m


def floor_w4() -> FloorParallel:
    """W4's floor: the product of the four regions' tables, built once."""
    regions = [{f"x{i}": f"y{i}", f"y{i}": f"x{i}"} for i in range(1, REGIONS + 1)]
    configs: list[tuple[str, ...]] = [()]
    for i in range(1, REGIONS + 1):
        configs = [(*c, s) for c in configs for s in (f"x{i}", f"y{i}")]
    table = {c: {"t": tuple(r[s] for r, s in zip(regions, c, strict=True))} for c in configs}
    return FloorParallel(table, tuple(f"x{i}" for i in range(1, REGIONS + 1)))


def floor_table_100(spec: ChartSpec) -> dict[str, dict[str, str]]:
    """W5's compile floor: flatten the spec into ``leaf -> event -> target leaf``.

    Walks the tree once, resolves each target to its initial leaf and lets a leaf inherit
    its ancestors' transitions (the least a compiler must do for this chart).
    """
    by_id: dict[str, StateSpec] = {}
    parent: dict[str, str | None] = {}
    stack: list[tuple[StateSpec, str | None]] = [(s, None) for s in spec.states]
    while stack:
        st, up = stack.pop()
        by_id[st.id] = st
        parent[st.id] = up
        stack.extend((c, st.id) for c in st.children)

    def leaf(sid: str) -> str:
        st = by_id[sid]
        while st.children:
            st = st.children[0]
        return st.id

    table: dict[str, dict[str, str]] = {}
    for sid, st in by_id.items():
        if st.children:
            continue
        chain: list[StateSpec] = []
        up: str | None = sid
        while up is not None:
            chain.append(by_id[up])
            up = parent[up]
        row: dict[str, str] = {}
        for anc in reversed(chain):  # inner states override outer ones
            for t in anc.transitions:
                row[t.event[0]] = leaf(t.target[0])
        table[sid] = row
    return table


# -- running --------------------------------------------------------------------------------
#: the clock the timed runs read: wall time (``time.perf_counter``) unless ``--cpu-time``
#: makes it the benchmarking thread's CPU time (``time.thread_time``): on a machine shared
#: with other work, wall time also counts the time the process waited for a core
clock: Callable[[], float] = time.perf_counter


def time_sends(send: Callable[[str], Any], event: str, n: int) -> float:
    """Seconds taken by ``n`` calls of ``send(event)``."""
    t0 = clock()
    for _ in repeat(None, n):
        send(event)
    return clock() - t0


def best_of(repeats: int, fn: Callable[[], float]) -> float:
    """The smallest of ``repeats`` timings (garbage collected before each)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        best = min(best, fn())
    return best


CHARTS: dict[str, Callable[[], Chart]] = {
    "W1": chart_w1,
    "W2": chart_w2,
    "W3": chart_w3,
    "W4": chart_w4,
}
FLOORS: dict[str, Callable[[], Any]] = {
    "W1": floor_w1,
    "W2": floor_w2,
    "W3": floor_w3,
    "W4": floor_w4,
}
_CONTEXTS: dict[str, dict[str, int]] = {"W2": {"n": 0}, "W3": {"entries": 0, "exits": 0}}


def start_statefleet(workload: str, chart: Chart | None = None) -> Session:
    """A fresh session of ``workload``'s chart (its context initialized)."""
    chart = chart if chart is not None else CHARTS[workload]()
    ctx = _CONTEXTS.get(workload)
    return chart.start(context=dict(ctx) if ctx else None)


def run_statefleet(workload: str, n: int, chart: Chart | None = None) -> Session:
    """Start a session of ``workload`` and send it ``n`` events; return the session."""
    session = start_statefleet(workload, chart)
    time_sends(session.send, EVENTS[workload], n)
    return session


def run_floor(workload: str, n: int) -> Any:
    """Build ``workload``'s floor and send it ``n`` events; return the floor machine."""
    m = FLOORS[workload]()
    time_sends(m.send, EVENTS[workload], n)
    return m


@dataclass
class Result:
    """One row of the table: statefleet and floor rates (per second, or bytes)."""

    workload: str
    what: str
    unit: str
    statefleet: float
    floor: float
    target: float | None
    #: True when lower is better (bytes)
    lower_is_better: bool = False

    @property
    def ratio(self) -> float:
        """statefleet / floor for rates, floor / statefleet for sizes (1.0 = as good)."""
        if self.lower_is_better:
            return self.floor / self.statefleet if self.statefleet else 0.0
        return self.statefleet / self.floor if self.floor else 0.0

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None: no target)."""
        if self.target is None:
            return None
        if self.lower_is_better:
            return self.statefleet <= self.target
        return self.statefleet >= self.target


TARGETS = {"W1": 1_000_000.0, "W2": 700_000.0, "W3": 300_000.0, "W4": 200_000.0}
DESCRIPTIONS = {
    "W1": "flat toggle",
    "W2": "guarded self-increment",
    "W3": "leaf to leaf, 3 levels, entry/exit",
    "W4": "4 parallel regions, one event",
}


def bench_events(workload: str, s: Settings) -> Result:
    """W1-W4: events/s of a session and of the floor."""
    chart = CHARTS[workload]()
    event = EVENTS[workload]

    def sf() -> float:
        session = start_statefleet(workload, chart)
        return time_sends(session.send, event, s.events)

    def fl() -> float:
        return time_sends(FLOORS[workload]().send, event, s.events)

    t_sf = best_of(s.repeats, sf)
    t_fl = best_of(s.repeats, fl)
    return Result(
        workload,
        DESCRIPTIONS[workload],
        "events/s",
        s.events / t_sf,
        s.events / t_fl,
        TARGETS[workload],
    )


def bench_w5(s: Settings) -> list[Result]:
    """W5: compiles/s, sessions created/s, bytes per idle session."""
    spec = spec_100()

    def compile_sf() -> float:
        t0 = clock()
        for _ in range(s.compiles):
            compile_chart(spec)
        return clock() - t0

    def compile_fl() -> float:
        t0 = clock()
        for _ in range(s.compiles):
            floor_table_100(spec)
        return clock() - t0

    chart = compile_chart(spec)
    table = floor_table_100(spec)
    start = chart.start
    n = s.sessions

    def create_sf() -> float:
        keep: list[Any] = [None] * n
        t0 = clock()
        for i in range(n):
            keep[i] = start()
        return clock() - t0

    def create_fl() -> float:
        keep: list[Any] = [None] * n
        t0 = clock()
        for i in range(n):
            keep[i] = FloorMachine(table, "g0s0")
        return clock() - t0

    def size(make: Callable[[], Any]) -> float:
        make()  # warm caches (interned configurations, microsteps) before measuring
        keep: list[Any] = [None] * n
        gc.collect()
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(n):
                keep[i] = make()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            if started:
                tracemalloc.stop()
        return (after - before) / n

    return [
        Result(
            "W5",
            "compile the 100-state chart",
            "charts/s",
            s.compiles / best_of(s.repeats, compile_sf),
            s.compiles / best_of(s.repeats, compile_fl),
            None,
        ),
        Result(
            "W5",
            f"create {n:,} sessions",
            "sessions/s",
            n / best_of(s.repeats, create_sf),
            n / best_of(s.repeats, create_fl),
            300_000.0,
        ),
        Result(
            "W5",
            "bytes per idle session",
            "bytes",
            size(start),
            size(lambda: FloorMachine(table, "g0s0")),
            1024.0,
            lower_is_better=True,
        ),
    ]


def run_all(s: Settings) -> list[Result]:
    """Every workload, in order."""
    rows = [bench_events(w, s) for w in ("W1", "W2", "W3", "W4")]
    rows.extend(bench_w5(s))
    return rows


# -- output ---------------------------------------------------------------------------------
def _num(x: float, unit: str) -> str:
    if unit == "bytes":
        return f"{x:,.0f} B"
    return f"{x:,.0f}"


def _target(r: Result) -> str:
    if r.target is None:
        return "-"
    sign = "<=" if r.lower_is_better else ">="
    verdict = "ok" if r.met else "MISS"
    return f"{sign} {_num(r.target, r.unit)} {verdict}"


def format_table(rows: list[Result], *, markdown: bool = False) -> str:
    """The results as one plain-text (or Markdown) table."""
    header = ["workload", "unit", "statefleet", "floor", "sf/floor", "target"]
    body = [
        [
            f"{r.workload} {r.what}",
            r.unit,
            _num(r.statefleet, r.unit),
            _num(r.floor, r.unit),
            f"{r.ratio:.2f}",
            _target(r),
        ]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    right = {2, 3, 4}

    def fmt(row: list[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    lines = [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(row) for row in body]
    return "\n".join(lines)


def use_cpu_time(on: bool) -> None:
    """Time the runs by the thread's CPU time (``on``) or by wall time."""
    global clock
    clock = time.thread_time if on else time.perf_counter


def environment() -> str:
    """One line describing the interpreter and machine."""
    return (
        f"{platform.python_implementation()} {platform.python_version()} on"
        f" {platform.machine()} {platform.system()}"
    )


class _GcTimer:
    """Time spent in the garbage collector (through ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = 0
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._t0
            self.collections += 1


def _short(path: str) -> str:
    for marker in ("/src/", "/benchmarks/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def profile(workload: str, s: Settings, top: int = 25) -> str:
    """Run ``workload`` on statefleet under cProfile; the top functions by tottime.

    Each row gives the function's share of the whole profiled run; the time the garbage
    collector took (which cProfile does not attribute) is reported on its own line.
    """
    prof = cProfile.Profile()
    gct = _GcTimer()
    gc.collect()
    gc.callbacks.append(gct)
    try:
        if workload == "W5":
            start = chart_100().start
            keep: list[Any] = [None] * s.sessions
            start()  # build the chart's caches outside the profile
            t0 = time.perf_counter()
            prof.enable()
            for i in range(s.sessions):
                keep[i] = start()
            prof.disable()
            what = f"{s.sessions:,} sessions created"
        else:
            session = start_statefleet(workload)
            send, event = session.send, EVENTS[workload]
            send(event)  # build the per-configuration caches outside the profile
            t0 = time.perf_counter()
            prof.enable()
            for _ in repeat(None, s.events):
                send(event)
            prof.disable()
            what = f"{s.events:,} events"
        wall = time.perf_counter() - t0
    finally:
        gc.callbacks.remove(gct)
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    out = [
        f"{workload} under cProfile: {what}, {wall:.3f} s wall, {total:.3f} s profiled;"
        f" garbage collector {gct.total:.3f} s in {gct.collections} collections",
        "",
        f"{'ncalls':>9} {'tottime':>8} {'share':>6} {'cumtime':>8}  function",
    ]
    for (path, line, func), (_cc, nc, tt, ct, _callers) in rows[:top]:
        where = f"{_short(path)}:{line}({func})" if line else func
        share = tt / total if total else 0.0
        out.append(f"{nc:>9} {tt:>8.3f} {share:>6.1%} {ct:>8.3f}  {where}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time runs by the thread's CPU time, not wall time (a machine shared with other work)",
    )
    parser.add_argument(
        "--profile",
        metavar="W",
        choices=["W1", "W2", "W3", "W4", "W5"],
        help="run one workload under cProfile and print the top 25 functions by tottime",
    )
    args = parser.parse_args(argv)
    s = QUICK if args.quick else FULL
    use_cpu_time(args.cpu_time)
    if args.profile:
        print(profile(args.profile, s))
        return 0
    t0 = time.perf_counter()
    rows = run_all(s)
    print(
        f"statefleet core benchmarks ({environment()}; {s.events:,} events x best of"
        f" {s.repeats}{'; CPU time' if args.cpu_time else ''})"
    )
    print()
    print(format_table(rows, markdown=args.markdown))
    print()
    print("sf/floor: statefleet's share of the floor's speed (sizes: floor / statefleet).")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


WORKLOADS = ("W1", "W2", "W3", "W4", "W5")

if __name__ == "__main__":
    sys.exit(main())
