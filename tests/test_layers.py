"""The import direction of DESIGN.md, checked by walking every module's imports."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import statefleet

SRC = Path(statefleet.__file__).parent

# what each layer may import from statefleet (besides itself)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "formats": {"core"},
    "compat": {"core", "formats", "actors"},
    "actors": {"core"},
    "persistence": {"core"},
    "telemetry": {"core", "actors"},
}
# modules of a lower layer that only re-export a front-end under its first import path
ALIASES: dict[str, set[str]] = {
    "formats/__init__.py": {"compat"},
    "formats/xstate.py": {"compat"},
    "formats/pystator.py": {"compat"},
}
# third-party packages the pure core may use
CORE_THIRD_PARTY = {"msgspec"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def test_layers_import_one_way() -> None:
    problems: list[str] = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((SRC / layer).rglob("*.py")):
            for mod in _imports(path):
                parts = mod.split(".")
                if parts[0] == "statefleet":
                    if len(parts) == 1:
                        problems.append(f"{path.relative_to(SRC)} imports the top package")
                    elif (
                        parts[1] != layer
                        and parts[1] not in allowed
                        and parts[1] not in ALIASES.get(str(path.relative_to(SRC)), set())
                    ):
                        problems.append(f"{path.relative_to(SRC)} imports {mod}")
                elif layer == "core":
                    top = parts[0]
                    if top not in sys.stdlib_module_names and top not in CORE_THIRD_PARTY:
                        problems.append(f"{path.relative_to(SRC)} imports {mod}")
    assert not problems, "wrong-way imports:\n" + "\n".join(problems)


def test_public_names_are_exported_and_documented() -> None:
    for info in pkgutil.walk_packages(statefleet.__path__, "statefleet."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        for name in getattr(mod, "__all__", ()):
            assert hasattr(mod, name), f"{info.name}.__all__ names missing {name}"
            obj = getattr(mod, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not name.startswith("__"):
                assert obj.__doc__, f"{info.name}.{name} has no docstring"
