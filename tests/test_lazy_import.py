"""``import statefleet`` loads the core only; every exported name still imports (issue 16)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import statefleet

HEAVY = ("statefleet.actors", "statefleet.formats", "statefleet.compat", "anyio", "asyncio",
         "yaml", "http.server")  # fmt: skip


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout


def test_import_statefleet_leaves_the_runtime_and_readers_unloaded() -> None:
    loaded = _run(
        f"import sys, statefleet\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    ).split()
    assert loaded == []


def test_every_exported_name_imports_from_a_fresh_interpreter() -> None:
    names = ", ".join(statefleet.__all__)
    out = _run(f"from statefleet import {names}\nprint(ActorSystem.__name__, hsm.__name__)")
    assert out.split() == ["ActorSystem", "statefleet.compat.hsm"]


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = statefleet.no_such_thing
    assert "ActorSystem" in dir(statefleet)
