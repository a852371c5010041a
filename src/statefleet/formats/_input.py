"""Reading a chart's source: path or text, bytes to text, and the limits every reader keeps.

The readers take a path, text, bytes or (``from_dict``/``from_yaml``) already-parsed data
from whoever calls them, so nothing here trusts its input:

- **Path or text.** A ``str`` is a path only when it could be one (one line, no NUL byte, at
  most :data:`MAX_PATH_CHARS` characters) and does not look like the format's text; a string
  that is neither an existing file nor valid text is reported as a missing file.
- **Files** are read only when they are regular files (never a FIFO or a device such as
  ``/dev/zero``), at most :data:`MAX_SOURCE_BYTES` bytes (:data:`MAX_YAML_BYTES` for YAML,
  whose parser is pure Python), and must be UTF-8 (a BOM is allowed): anything else is a
  :class:`~statefleet.ChartDefinitionError` naming the file, the line and the byte.
- **Parsed data** (a dict from JSON, YAML or the caller) may nest at most :data:`MAX_NESTING`
  containers deep and hold at most :data:`MAX_ITEMS` values, counting a shared value (a YAML
  alias) every time it appears; a value that contains itself exceeds the nesting limit. An
  integer may have at most :data:`MAX_INT_BITS` bits (Python cannot print one of 14,000).
- **Messages** show values with :func:`shown` and :func:`clip`: clipped, and never raising.

The limits are far above any real chart; they exist so that hostile input is an error, not a
``RecursionError``, a ``MemoryError`` or a process that never returns.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from statefleet.core import ChartDefinitionError

__all__ = [
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_NESTING",
    "MAX_PATH_CHARS",
    "MAX_SOURCE_BYTES",
    "MAX_YAML_BYTES",
    "Source",
    "check_data",
    "clip",
    "decode",
    "nesting_error",
    "read_file",
    "read_source",
    "shown",
]

#: the largest chart file or text a reader accepts, in bytes (characters for ``str`` text)
MAX_SOURCE_BYTES = 16 * 1024 * 1024
#: the largest YAML file or text: PyYAML parses about 300 KB a second, so this is seconds
MAX_YAML_BYTES = 2 * 1024 * 1024
#: how deep objects and lists may nest in a definition
MAX_NESTING = 256
#: how many values (objects, lists and scalars, shared ones each time) a definition may hold
MAX_ITEMS = 1_000_000
#: a longer ``str`` is never taken for a path
MAX_PATH_CHARS = 4096
#: the largest integer in a definition, in bits (Python cannot even print one over ~14,000)
MAX_INT_BITS = 4096


@dataclass(frozen=True)
class Source:
    """A definition's text and where it came from.

    ``where`` is the file name or ``<json>``/``<yaml>``; ``maybe_path`` is true for a string
    that could have been a path but names no file (so a parse error can say so).
    """

    text: str
    where: str
    maybe_path: bool = False


def clip(text: str, limit: int = 80) -> str:
    """``text`` shortened to about ``limit`` characters for an error message."""
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} characters)"


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` clipped for an error message; never raises (``repr`` of an int with
    thousands of digits does, and so may a caller's ``__repr__``)."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def decode(data: bytes, where: str) -> str:
    """``data`` as UTF-8 text (a leading BOM dropped); anything else is an error naming the
    first byte that is not UTF-8 and its line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ChartDefinitionError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})",
            path=where,
            line=line,
        ) from exc


def read_file(path: Path, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ChartDefinitionError(f"cannot read {name!r}: {reason}", path=name) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ChartDefinitionError(f"cannot read {name!r}: not a regular file", path=name)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ChartDefinitionError(f"cannot read {name!r}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ChartDefinitionError(f"{name!r} is larger than the limit of {limit} bytes", path=name)
    return data


def _could_be_path(text: str) -> bool:
    return (
        0 < len(text) <= MAX_PATH_CHARS
        and "\x00" not in text
        and "\n" not in text
        and "\r" not in text
    )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def read_source(
    source: object,
    *,
    fmt: str,
    suffixes: tuple[str, ...],
    looks_like_text: Callable[[str], bool],
    limit: int = MAX_SOURCE_BYTES,
) -> Source:
    """The text of ``source``: a path (``os.PathLike``, or a ``str`` naming a file), ``bytes``
    or ``str`` text of the format ``fmt`` (``"JSON"``, ``"YAML"``).

    A ``str`` that could be a path, does not look like text (``looks_like_text``) and ends in
    one of ``suffixes`` must be an existing file; other such strings are read from the file
    they name when there is one, and are text otherwise. Text (or a file) longer than
    ``limit`` bytes is refused.
    """
    default = f"<{fmt.lower()}>"
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), default, limit)
        return Source(decode(data, default), default)
    if isinstance(source, os.PathLike):
        try:
            path = Path(source)
        except TypeError as exc:
            raise ChartDefinitionError(f"not a usable path: {exc}") from exc
        return Source(decode(read_file(path, limit), str(path)), str(path))
    if not isinstance(source, str):
        raise ChartDefinitionError(
            f"expected {fmt} text, bytes or a path to a file, got {type(source).__name__}"
        )
    stripped = source.strip()
    if _could_be_path(stripped) and not looks_like_text(stripped):
        path = Path(stripped)
        if _is_file(path) or stripped.lower().endswith(suffixes):
            return Source(decode(read_file(path, limit), stripped), stripped)
        _check_size(len(source), default, limit)
        return Source(source, default, maybe_path=True)
    _check_size(len(source), default, limit)
    return Source(source, default)


def _check_size(size: int, where: str, limit: int) -> None:
    if size > limit:
        raise ChartDefinitionError(
            f"the definition is larger than the limit of {limit} bytes", path=where
        )


def nesting_error(where: str, line: int | None = None) -> ChartDefinitionError:
    """The error for a definition nested deeper than :data:`MAX_NESTING`."""
    return ChartDefinitionError(
        f"the definition nests deeper than the limit of {MAX_NESTING} levels (or contains itself)",
        path=where,
        line=line,
    )


@dataclass(frozen=True)
class _At:
    """A value's place in the walk: its parent's place and its key (a linked path)."""

    parent: _At | None
    key: Any


def _path_of(at: _At | None) -> str:
    keys: list[Any] = []
    while at is not None:
        keys.append(at.key)
        at = at.parent
    keys.reverse()
    if len(keys) > 12:  # a path hundreds of keys long says less than its two ends
        keys = [*keys[:6], f"...{len(keys) - 10} more...", *keys[-4:]]
    out = ""
    for k in keys:
        if isinstance(k, int) and not _too_big(k):
            out += f"[{k}]"
        else:
            s = shown(k) if _too_big(k) else str(k)
            simple = s and all(c.isalnum() or c in "_$-." for c in s)
            out = (f"{out}.{s}" if out else s) if simple else f"{out}[{json.dumps(s)}]"
    return out


def check_data(value: Any, where: str = "") -> None:
    """Refuse parsed data nested deeper than :data:`MAX_NESTING` (a value inside itself
    included) or holding more than :data:`MAX_ITEMS` values.

    Walks without recursion; the error names the path to the element where a limit was
    passed (prefixed by ``where``).
    """
    stack: list[tuple[Any, int, _At | None]] = [(value, 0, None)]
    count = 1
    while stack:
        item, depth, at = stack.pop()
        if _too_big(item):
            raise ChartDefinitionError(
                f"an integer larger than the limit of {MAX_INT_BITS} bits",
                path=_prefixed(where, at),
            )
        if isinstance(item, Mapping):
            for k in item:
                if _too_big(k):
                    raise ChartDefinitionError(
                        f"a key is an integer larger than the limit of {MAX_INT_BITS} bits",
                        path=_prefixed(where, at),
                    )
            children: Any = item.items()
        elif isinstance(item, list | tuple):
            children = enumerate(item)
        else:
            continue
        if depth >= MAX_NESTING:
            raise nesting_error(_prefixed(where, at))
        count += len(item)
        if count > MAX_ITEMS:
            raise ChartDefinitionError(
                f"the definition holds more than the limit of {MAX_ITEMS} values"
                " (counting a shared value each time it is used)",
                path=_prefixed(where, at),
            )
        for k, v in children:
            stack.append((v, depth + 1, _At(at, k)))


def _too_big(value: object) -> bool:
    return isinstance(value, int) and value.bit_length() > MAX_INT_BITS


def _prefixed(where: str, at: _At | None) -> str:
    inner = _path_of(at)
    if where and inner:
        return f"{where}: {inner}"
    return where or inner
