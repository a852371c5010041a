"""The fuzz tests' seeds and mutations: chart definitions taken from ``examples/``.

Seeds are the pystator YAML files, the XState configs written as literals in the XState
examples, a few SCXML documents of the vendored W3C suite (``examples/`` has none), and
snapshots of sessions of the XState examples in both encodings. Mutations are drawn by
hypothesis (so every failure prints the drawn steps and replays from them): bytes are
truncated, flipped, deleted and duplicated; parsed definitions lose keys, gain copies of
keys, get values of other types and get values nested hundreds or thousands deep.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import statefleet

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
W3C = ROOT / "tests" / "conformance" / "w3c" / "mandatory"

#: the fuzz tests' budget: derandomized (the same examples on every run, no database), a
#: bounded number of examples each (``STATEFLEET_FUZZ_EXAMPLES=5000`` for a longer hunt by
#: hand), no deadline (the limits, not the clock, are under test)
FUZZ = settings(
    max_examples=int(os.environ.get("STATEFLEET_FUZZ_EXAMPLES", "60")),
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


@functools.cache
def yaml_texts() -> tuple[bytes, ...]:
    """The pystator YAML files of ``examples/pystator``."""
    return tuple(p.read_bytes() for p in sorted((EXAMPLES / "pystator").glob("*.yaml")))


@functools.cache
def xstate_configs() -> tuple[dict[str, Any], ...]:
    """The XState configs written as plain literals (``config = {...}``) in the examples."""
    out: list[dict[str, Any]] = []
    for path in sorted((EXAMPLES / "xstate").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:  # names functions: not a literal
                    continue
                out.append(value)
    assert len(out) >= 3, "the XState examples hold fewer literal configs than expected"
    return tuple(out)


@functools.cache
def scxml_texts() -> tuple[bytes, ...]:
    """A few documents of the vendored W3C suite."""
    return tuple(p.read_bytes() for p in sorted(W3C.glob("test*.scxml"))[:12])


@functools.cache
def snapshots() -> tuple[tuple[str, bytes], ...]:
    """``(format, bytes)`` snapshots of the XState examples, started and sent one event."""
    out: list[tuple[str, bytes]] = []
    for config in xstate_configs():
        try:
            chart = statefleet.from_dict(config)
        except statefleet.StatefleetError:  # names actions the literal does not bind
            continue
        session = chart.start()
        for event in sorted(session.enabled_events())[:1]:
            session.send(event)
        for fmt in ("json", "msgpack"):
            out.append((fmt, statefleet.encode_snapshot(session.snapshot(), format=fmt)))
    assert out, "no XState example could be started"
    return tuple(out)


# -- mutations --------------------------------------------------------------------------
@st.composite
def mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` after one to four byte-level edits."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["truncate", "flip", "delete", "duplicate", "insert"]))
        if op == "truncate":
            del data[i:]
        elif op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 64))]
        elif op == "duplicate":
            data[i:i] = data[i : i + draw(st.integers(1, 256))]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["", "#", ".", "*", "a.b", "#a", "..", "done.state", "1e999", "-5"])
    | st.just(-(2**5000))  # over the readers' integer limit (10**5000 is covered by hand)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


def _nest(value: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        value = [value] if as_list else {"states": value}
    return value


@st.composite
def mutated_data(draw: st.DrawFn, seed: Any, deepest: int = 3000) -> Any:
    """``seed`` (parsed JSON/YAML) after one to three structural edits at random places;
    a value is nested at most ``deepest`` levels (``json.dumps`` recurses: keep it under
    Python's recursion limit when the result is dumped)."""
    data = json.loads(json.dumps(seed))  # a private copy
    for _ in range(draw(st.integers(1, 3))):
        # walk down to a random container
        node: Any = data
        for _ in range(draw(st.integers(0, 8))):
            kids = list(node.values()) if isinstance(node, dict) else node
            kids = [k for k in kids if isinstance(k, dict | list)] if isinstance(kids, list) else []
            if not kids:
                break
            node = draw(st.sampled_from(kids))
        if not isinstance(node, dict | list) or not node:
            continue
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        op = draw(st.sampled_from(["delete", "copy", "replace", "nest", "retype"]))
        if op == "delete":
            del node[key]
        elif op == "copy" and isinstance(node, dict):
            node[draw(st.text(max_size=6)) or "x"] = node[key]
        elif op == "copy":
            node.append(node[key])
        elif op == "replace":
            node[key] = draw(values)
        elif op == "nest":
            depth = draw(st.sampled_from([3, 40, 300, deepest]))
            node[key] = _nest(node[key], depth, draw(st.booleans()))
        else:
            old = node[key]
            node[key] = list(old.values()) if isinstance(old, dict) else {"0": old}
    return data


def text_of(data: bytes) -> str:
    """``data`` as text, undecodable bytes replaced (for readers that take only ``str``)."""
    return data.decode("utf-8", errors="replace")


@functools.cache
def pystator_snapshots() -> tuple[tuple[int, dict[str, Any]], ...]:
    """``(index into yaml_texts(), EntitySession.snapshot())`` after each trigger in turn."""
    from statefleet.formats.pystator import StateMachine

    out: list[tuple[int, dict[str, Any]]] = []
    for i, text in enumerate(yaml_texts()):
        machine = StateMachine.from_yaml(text.decode())
        entity = machine.create()
        for trigger in sorted(machine.triggers)[:3]:
            with contextlib.suppress(statefleet.StatefleetError):
                entity.send(trigger)
        out.append((i, json.loads(json.dumps(entity.snapshot(), default=str))))
    return tuple(out)
