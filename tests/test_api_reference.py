"""The API reference pages (docs/api/, rendered by mkdocstrings) name modules that exist, and
every public module of the package has a page: a renamed or new module shows up here, not
only when ``make docs`` runs."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api"
DIRECTIVE = re.compile(r"^:::\s+(\S+)\s*$", re.MULTILINE)

#: the public modules every program imports from, each with its page
PUBLIC = {
    "statefleet",
    "statefleet.core",
    "statefleet.formats",
    "statefleet.compat.psm",
    "statefleet.compat.hsm",
    "statefleet.actors",
    "statefleet.persistence",
    "statefleet.telemetry",
}


def _documented() -> dict[str, str]:
    found: dict[str, str] = {}
    for page in sorted(DOCS.glob("*.md")):
        for name in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            found[name] = page.name
    return found


def test_every_reference_names_an_importable_module() -> None:
    for name, page in _documented().items():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an optional extra (http) not installed here
            if exc.name is None or exc.name.split(".")[0] == "statefleet":
                raise
            continue
        assert module.__doc__, f"docs/api/{page}: {name} has no module docstring"


def test_every_public_module_has_a_reference_page() -> None:
    missing = PUBLIC - set(_documented())
    assert not missing, f"no docs/api page renders {sorted(missing)}"
