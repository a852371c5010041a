"""Helpers shared by the subcommands: loading a chart from a file or ``module:Class``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from statefleet.core import Chart, ChartDefinitionError, Snapshot, SnapshotError, decode_snapshot


def load_chart(ref: str) -> Chart:
    """Load a chart from a file (JSON, YAML, SCXML by suffix) or a ``module:Attribute``
    naming a class-DSL ``StateChart`` subclass, a ``Chart``, or a callable returning one.

    Raises :class:`ChartDefinitionError` for anything that is not a valid chart.
    """
    path = Path(ref)
    if ":" in ref and not path.exists() and not (len(ref) > 1 and ref[1] == ":"):
        return _load_object(ref)
    from statefleet.formats import load

    return load(path)


def _load_object(ref: str) -> Chart:
    module_name, _, attr = ref.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ChartDefinitionError(
            f"cannot import module {module_name!r}: {exc}", path=ref
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ChartDefinitionError(f"{module_name!r} has no attribute {attr!r}", path=ref)
        obj = getattr(obj, part)
    if isinstance(obj, Chart):
        return obj
    chart = getattr(obj, "chart", None)
    if isinstance(chart, Chart):
        return chart
    if callable(obj):
        made = obj()
        if isinstance(made, Chart):
            return made
    raise ChartDefinitionError(
        f"{ref} is not a chart, a StateChart class or a chart factory", path=ref
    )


def load_snapshot(path: str) -> Snapshot:
    """Read a snapshot file: JSON when it ends in ``.json``, msgpack otherwise."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc.strerror}") from exc
    return decode_snapshot(data, format="json" if p.suffix == ".json" else "msgpack")
