"""``load(path)``: read a chart file with the reader its suffix names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from statefleet.core import Chart, ChartDefinitionError
from statefleet.formats._input import clip

__all__ = ["SUFFIXES", "load"]

#: file suffixes ``load`` knows, and the reader each one picks
SUFFIXES = {
    ".json": "from_json",
    ".yaml": "from_yaml",
    ".yml": "from_yaml",
    ".scxml": "from_scxml",
    ".xml": "from_scxml",
}


def load(path: str | os.PathLike[str], *, resolve: bool = True, **kw: Any) -> Chart:
    """Read the chart in ``path``, picking the reader by its suffix.

    ``.json`` is an XState machine (:func:`~statefleet.from_json`), ``.yaml``/``.yml`` a
    pystator machine (:func:`~statefleet.from_yaml`), ``.scxml``/``.xml`` an SCXML document
    (:func:`~statefleet.from_scxml`). Keyword arguments go to the reader (``logic=``,
    ``guards=``, ...). ``resolve=False`` reads a JSON chart without its implementations:
    names of actions, guards, services and delays found nowhere are left unbound (shown in
    diagrams; running one raises :class:`~statefleet.formats.UnboundNameError`), so its
    structure can be checked and drawn (a YAML chart read without ``guards``/``actions`` is
    bound later anyway; SCXML names nothing outside the document). An unknown suffix or a
    missing file is a :class:`~statefleet.ChartDefinitionError`.
    """
    if not isinstance(path, str | os.PathLike):
        raise ChartDefinitionError(f"load() needs a file path, got {type(path).__name__}")
    p = Path(path)
    suffix = p.suffix.lower()
    reader = SUFFIXES.get(suffix)
    if reader is None:
        known = ", ".join(SUFFIXES)
        raise ChartDefinitionError(
            f"cannot tell the format of {clip(str(p))!r} from its suffix"
            f" {clip(suffix or '(none)')!r}: expected one of {known}",
            path=clip(str(p)),
        )
    try:
        exists, regular = p.exists(), p.is_file()
    except (OSError, ValueError):  # a NUL in the path, a path too long for the OS
        exists = regular = False
    if not regular:
        what = "not a regular file" if exists else "no such file"
        name = clip(str(p))
        raise ChartDefinitionError(f"{what}: {name!r}", path=name.replace("\x00", "\\x00"))
    # the readers are imported here: each lives in its own module
    if reader == "from_json":
        from statefleet.formats._xstate import from_json

        return from_json(p, resolve=resolve, **kw)
    if reader == "from_yaml":
        from statefleet.formats._yaml import from_yaml

        return from_yaml(p, **kw)
    from statefleet.formats._scxml import from_scxml

    return from_scxml(p, **kw)
