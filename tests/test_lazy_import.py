"""``import statefleet`` loads nothing but the package; every exported name loads on first use
(issue 16)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import statefleet

HEAVY = ("statefleet.core", "msgspec", "statefleet.actors", "statefleet.formats",
         "statefleet.compat", "anyio", "asyncio", "yaml", "http.server")  # fmt: skip


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout


def test_import_statefleet_loads_no_other_module() -> None:
    added = _run(
        "import sys\nbefore = set(sys.modules)\nimport statefleet\n"
        "print(' '.join(sorted(set(sys.modules) - before)))"
    ).split()
    assert added == ["statefleet"]


def test_import_statefleet_leaves_the_core_runtime_and_readers_unloaded() -> None:
    loaded = _run(
        f"import sys, statefleet\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    ).split()
    assert loaded == []


def test_the_core_loads_on_first_use_and_runs_a_chart() -> None:
    out = _run(
        "import sys, statefleet\n"
        "chart = statefleet.compile_chart(statefleet.ChartSpec(id='t', states=[\n"
        "    statefleet.StateSpec(id='a', transitions=[statefleet.TransitionSpec(event='go',"
        " target=['b'])]),\n"
        "    statefleet.StateSpec(id='b')]))\n"
        "session = statefleet.Session(chart)\n"
        "session.send('go')\n"
        "print(sorted(session.configuration), 'statefleet.core' in sys.modules,"
        " [m for m in ('statefleet.actors', 'logging', 'difflib') if m in sys.modules])"
    )
    assert out.split() == ["['b']", "True", "[]"]


def test_a_reader_loads_alone_on_first_use() -> None:
    """``from_dict`` does not pay for the SCXML reader (defusedxml, http.server) or the YAML
    one (PyYAML); each reader loads when its name is first used."""
    out = _run(
        "import sys\nfrom statefleet import from_dict\n"
        "from_dict({'id': 'm', 'initial': 'a', 'states': {'a': {}}})\n"
        "heavy = ('statefleet.formats._scxml', 'statefleet.formats._yaml', 'yaml',"
        " 'http.server')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "from statefleet.formats import from_yaml, from_scxml, UnboundNameError, load, hsm\n"
        "print(from_yaml.__module__, from_scxml.__module__, hsm.__name__)"
    ).splitlines()
    assert out == [
        "[]",
        "statefleet.formats._yaml statefleet.formats._scxml statefleet.compat.hsm",
    ]


def test_a_subpackage_is_an_attribute_after_a_bare_import() -> None:
    out = _run(
        "import statefleet\nprint(statefleet.core.Session.__name__, statefleet.actors.__name__)"
    )
    assert out.split() == ["Session", "statefleet.actors"]


def test_every_exported_name_imports_from_a_fresh_interpreter() -> None:
    names = ", ".join(statefleet.__all__)
    out = _run(f"from statefleet import {names}\nprint(ActorSystem.__name__, hsm.__name__)")
    assert out.split() == ["ActorSystem", "statefleet.compat.hsm"]


def test_every_exported_name_is_an_attribute_and_star_imports() -> None:
    out = _run(
        "import statefleet\n"
        "missing = [n for n in statefleet.__all__ if getattr(statefleet, n, None) is None]\n"
        "ns = {}\nexec('from statefleet import *', ns)\n"
        "print(missing, sorted(set(statefleet.__all__) - set(ns)))"
    )
    assert out.split() == ["[]", "[]"]


def test_an_exported_name_is_the_object_of_the_module_defining_it() -> None:
    import statefleet.actors
    import statefleet.compat.hsm
    import statefleet.compat.psm
    import statefleet.core
    import statefleet.formats

    homes = (statefleet.core, statefleet.actors, statefleet.compat.psm, statefleet.formats)
    for name in statefleet.__all__:
        value = getattr(statefleet, name)
        if name == "hsm":
            assert value is statefleet.compat.hsm
        elif name != "__version__":
            assert any(getattr(m, name, None) is value for m in homes), name


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = statefleet.no_such_thing
    assert not hasattr(statefleet, "no_such_module") and not hasattr(statefleet, "core.x")
    assert "ActorSystem" in dir(statefleet)
    assert "Session" in dir(statefleet)
