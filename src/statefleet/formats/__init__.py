"""Readers that build core charts from other definition formats.

``from_dict``/``from_json`` read XState-style configs (seed 001), ``from_yaml`` reads
pystator-style YAML (seeds 002/003), ``from_scxml`` reads W3C SCXML, and the builder module
offers a functional API (seed 004; ``hsm``, the front-end in :mod:`statefleet.compat.hsm`).
``load(path)`` picks the reader by suffix; ``resolve=False`` reads a chart without the
implementations of the names it uses (:class:`UnboundNameError` if one is run).
"""

from typing import Any

from statefleet.formats._load import load
from statefleet.formats._resolve import UnboundNameError
from statefleet.formats._scxml import from_scxml
from statefleet.formats._xstate import from_dict, from_json
from statefleet.formats._yaml import from_yaml

__all__ = [
    "UnboundNameError",
    "from_dict",
    "from_json",
    "from_scxml",
    "from_yaml",
    "hsm",
    "load",
]


def __getattr__(name: str) -> Any:
    """``statefleet.formats.hsm`` is :mod:`statefleet.compat.hsm` (imported on first use)."""
    if name == "hsm":
        from statefleet.compat import hsm

        return hsm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
