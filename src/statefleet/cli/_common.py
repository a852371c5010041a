"""Helpers shared by the subcommands: loading a chart from a file or ``module:attribute``,
reading a snapshot file, and the one-line error every failure ends in."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from statefleet.core import (
    Chart,
    ChartDefinitionError,
    Snapshot,
    SnapshotError,
    StatefleetError,
    decode_snapshot,
)
from statefleet.formats._input import clip, read_file


def fail(command: str, message: object) -> None:
    """Print ``statefleet COMMAND: message`` to stderr as one line."""
    text = " ".join(str(message).split("\n"))
    sys.stderr.write(f"statefleet {command}: {text}\n")
    sys.stderr.flush()


def crash_message(exc: BaseException) -> str:
    """How an unexpected exception is named on the one line it gets."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def add_base_dir(parser: argparse.ArgumentParser) -> None:
    """Add ``--base-dir DIR``: the folder an SCXML document may read ``src`` files from."""
    parser.add_argument(
        "--base-dir",
        metavar="DIR",
        type=_folder,
        help=(
            "let SCXML documents read the files their src attributes name (<data>, <content>,"
            " <invoke>, <script>) from this folder: relative paths inside it only (safe mode"
            " reads no file otherwise)"
        ),
    )


def _folder(text: str) -> Path:
    """``--base-dir``: an existing folder (argparse reports anything else as bad usage)."""
    path = Path(text)
    try:
        ok = path.is_dir()
    except (OSError, ValueError):
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"not a folder: {clip(text)!r}")
    return path


def load_chart(ref: str, *, resolve: bool = True, base_dir: Path | None = None) -> Chart:
    """Load a chart from a file (JSON, YAML, SCXML by suffix) or a ``module:attribute``
    naming a compiled ``Chart``, a class-DSL ``StateChart`` subclass, or a chart factory
    (see :func:`is_chart_factory`). ``resolve=False``: a file's action, guard, service and
    delay names need no implementation (see :func:`statefleet.formats.load`). ``base_dir``:
    the folder an SCXML document's ``src`` references may read (``from_scxml(base_dir=)``);
    other formats read no such files and ignore it.

    Raises :class:`ChartDefinitionError` for anything that is not a valid chart, whatever the
    reader or the module raised.
    """
    path = Path(ref)
    if ":" in ref and not _exists(path) and not (len(ref) > 1 and ref[1] == ":"):
        return _load_object(ref)
    from statefleet.formats import load
    from statefleet.formats._load import SUFFIXES

    grants: dict[str, Any] = {}
    if base_dir is not None and SUFFIXES.get(path.suffix.lower()) == "from_scxml":
        grants["base_dir"] = base_dir
    try:
        return load(path, resolve=resolve, **grants)
    except StatefleetError:
        raise
    except Exception as exc:  # a reader's bug must not become a traceback
        raise ChartDefinitionError(
            f"reading the chart failed: {crash_message(exc)}", path=ref
        ) from exc


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def is_chart_factory(obj: Any) -> bool:
    """Is ``obj`` a documented chart factory: a plain Python function whose return annotation
    is ``Chart`` (the class, or a string ending in ``Chart``) and that needs no arguments?

    Nothing else is ever called: ``validate os:system`` names a function, not a factory.
    """
    if not inspect.isfunction(obj):
        return False
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    ann = sig.return_annotation
    if isinstance(ann, str):
        returns_chart = ann.strip().rsplit(".", 1)[-1] == "Chart"
    else:
        returns_chart = isinstance(ann, type) and issubclass(ann, Chart)
    required = [
        p
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return returns_chart and not required


def import_attribute(ref: str) -> Any:
    """The object ``module:attribute`` names (the module imported from the current folder
    too); a :class:`ChartDefinitionError` naming ``ref`` when it cannot be imported."""
    module_name, _, attr = ref.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module's own code raised
        reason = exc if isinstance(exc, ImportError) else crash_message(exc)
        raise ChartDefinitionError(
            f"cannot import module {module_name!r}: {reason}", path=ref
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ChartDefinitionError(
                f"{module_name!r} has no attribute {attr!r}", path=ref
            ) from None
    return obj


def _load_object(ref: str) -> Chart:
    obj = import_attribute(ref)
    if isinstance(obj, Chart):
        return obj
    if isinstance(obj, type):
        chart = getattr(obj, "chart", None)
        if isinstance(chart, Chart):
            return chart
    elif is_chart_factory(obj):
        try:
            made = obj()
        except Exception as exc:
            raise ChartDefinitionError(
                f"the chart factory raised {crash_message(exc)}", path=ref
            ) from exc
        if isinstance(made, Chart):
            return made
        raise ChartDefinitionError(
            f"the chart factory returned {type(made).__name__}, not a Chart", path=ref
        )
    elif callable(obj):
        raise ChartDefinitionError(
            "a callable that is not a chart factory is not called (a chart factory is a"
            " function annotated to return statefleet.Chart that needs no arguments)",
            path=ref,
        )
    what = "a class" if isinstance(obj, type) else f"a {type(obj).__name__}"
    raise ChartDefinitionError(
        f"{what}, not a chart, a StateChart class or a chart factory", path=ref
    )


def load_snapshot(path: str) -> Snapshot:
    """Read a snapshot file: JSON when it ends in ``.json``, msgpack otherwise."""
    try:
        os.stat(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise SnapshotError(f"cannot read snapshot {path}: {reason}") from exc
    try:
        data = read_file(Path(path))  # a regular file of bounded size
    except ChartDefinitionError as exc:
        raise SnapshotError(exc.message.replace("cannot read", "cannot read snapshot", 1)) from exc
    return decode_snapshot(data, format="json" if Path(path).suffix == ".json" else "msgpack")
