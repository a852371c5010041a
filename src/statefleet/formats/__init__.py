"""Readers that build core charts from other definition formats.

``from_dict``/``from_json`` read XState-style configs (seed 001), ``from_yaml`` reads
pystator-style YAML (seeds 002/003), ``from_scxml`` reads W3C SCXML, and the builder module
offers a functional API (seed 004; ``hsm``, the front-end in :mod:`statefleet.compat.hsm`).
``load(path)`` picks the reader by suffix; ``resolve=False`` reads a chart without the
implementations of the names it uses (:class:`UnboundNameError` if one is run).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statefleet.compat import hsm
    from statefleet.formats._load import load
    from statefleet.formats._resolve import UnboundNameError
    from statefleet.formats._scxml import from_scxml
    from statefleet.formats._xstate import from_dict, from_json
    from statefleet.formats._yaml import from_yaml

#: where each name lives: a reader loads (with PyYAML, defusedxml, http.server, ...) only
#: when first used, so ``from_dict`` does not pay for the SCXML and YAML readers
_HOMES = {
    "UnboundNameError": "statefleet.formats._resolve",
    "from_dict": "statefleet.formats._xstate",
    "from_json": "statefleet.formats._xstate",
    "from_scxml": "statefleet.formats._scxml",
    "from_yaml": "statefleet.formats._yaml",
    "load": "statefleet.formats._load",
}

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
    from importlib import import_module

    if name == "hsm":
        return import_module("statefleet.compat.hsm")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
