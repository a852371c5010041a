"""Which files an SCXML document may read (``<data src>``, ``<content src>``, ``<invoke src>``
and ``srcexpr``, ``<script src>``), and reading them without surprises.

A document names files; the *caller* decides which of them may be read. :class:`Sources` is
that decision for one document:

- **safe mode** (``trusted=False``, the default) reads nothing unless the caller grants it:
  a folder (``base_dir``) or a ``loader`` callable. In a granted folder a reference is a
  relative path (``file:data.json``, ``data/items.json``): no absolute path, no ``..``, no
  ``file://`` URL outside the folder, no symlink that leads out of it;
- **trusted mode** (``trusted=True``) trusts the document: references resolve against the
  document's folder (or ``base_dir``) and may name any file the process can read;
- a **loader** (either mode) receives every reference as written and returns its text (or
  bytes, decoded as UTF-8): the caller's code decides, and may fetch from anywhere.

In every mode only regular files are read (no ``/dev/zero``, ``/proc`` files, FIFOs or
sockets: a FIFO is opened non-blocking and refused), at most :data:`MAX_FILE_BYTES` of them
(:data:`MAX_TRUSTED_FILE_BYTES` in trusted mode), and the text must be UTF-8. A refusal is a
:class:`SourceError`; the reader turns it into a ``ChartDefinitionError`` naming the element,
attribute and line when the reference is static, and ``error.execution`` when it is computed at
run time.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_FILE_BYTES",
    "MAX_TRUSTED_FILE_BYTES",
    "Loader",
    "SourceError",
    "Sources",
    "read_regular_file",
    "text_of",
]

#: the largest file a safe-mode document may read through ``src`` (1 MiB)
MAX_FILE_BYTES = 1 << 20
#: the largest file a trusted document may read through ``src`` (16 MiB)
MAX_TRUSTED_FILE_BYTES = 16 << 20
#: the largest SCXML document ``from_scxml(path)`` reads (16 MiB)
MAX_DOCUMENT_BYTES = 16 << 20

#: a caller-supplied reader: the reference as the document wrote it -> its text (or bytes)
Loader = Callable[[str], "str | bytes"]

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


class SourceError(ValueError):
    """A reference the document may not read, or a file that cannot be read."""


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Opened non-blocking (a FIFO never blocks the caller) and checked with ``fstat`` on the
    open descriptor: anything but a regular file is refused, a file larger than ``limit`` is
    refused unread, and at most its claimed size plus one byte is read, so a pseudo-file that
    claims less than it holds (``/proc/self/environ`` claims 0 bytes) is refused too.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise SourceError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"{str(path)!r} is not a regular file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        size = info.st_size
        if size > limit:
            raise SourceError(f"{str(path)!r} is larger than {limit} bytes")
        try:
            data = f.read(size + 1)
        except OSError as exc:
            raise SourceError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if len(data) > size:
        # /proc and /sys files claim a size of 0 and produce data: not a file on a disk
        raise SourceError(f"{str(path)!r} is not a regular file (it holds more than it claims)")
    return data


def text_of(data: bytes, ref: str) -> str:
    """``data`` read for ``ref`` as UTF-8 text (a BOM is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{ref!r} is not UTF-8 text (byte {exc.start})") from None


class Sources:
    """What one document may read, and from where its relative references start.

    ``root`` is the folder the caller granted (safe mode), ``here`` the folder of the document
    itself (relative references start there), ``loader`` the caller's reader. Documents read
    through a :class:`Sources` get their own (:meth:`read` returns it) with the same grant.
    """

    __slots__ = ("here", "loader", "root", "trusted")

    def __init__(
        self,
        *,
        trusted: bool,
        root: Path | None = None,
        here: Path | None = None,
        loader: Loader | None = None,
    ) -> None:
        self.trusted = trusted
        self.loader = loader
        self.root = Path(os.path.realpath(root)) if root is not None else None
        base = here if here is not None else (root if root is not None else None)
        self.here = Path(os.path.realpath(base)) if base is not None else None
        if (
            not trusted
            and loader is None
            and self.root is not None
            and self.here is not None
            and not _inside(self.here, self.root)
        ):
            # a document outside the granted folder: its references start at the folder
            self.here = self.root

    @property
    def limit(self) -> int:
        """The size cap of one file."""
        return MAX_TRUSTED_FILE_BYTES if self.trusted else MAX_FILE_BYTES

    def key(self, ref: str) -> str:
        """Check ``ref`` without reading it and return what identifies it (the real path, or
        ``loader:<ref>``); raise :class:`SourceError` when the document may not read it."""
        if self.loader is not None:
            return f"loader:{ref}"
        return os.fspath(self._path(ref))

    def read(self, ref: str) -> tuple[bytes, str, Sources]:
        """Read ``ref``: its bytes, its key, and the :class:`Sources` of what it references."""
        loader = self.loader
        if loader is not None:
            try:
                value = loader(ref)
            except Exception as exc:
                raise SourceError(f"the loader refused {ref!r}: {exc}") from None
            if isinstance(value, bytes):
                data = value
            elif isinstance(value, str):
                data = value.encode("utf-8", "surrogatepass")
            else:
                raise SourceError(
                    f"the loader returned {type(value).__name__} for {ref!r}: expected str or bytes"
                )
            if len(data) > self.limit:
                raise SourceError(f"{ref!r} is larger than {self.limit} bytes")
            return data, f"loader:{ref}", self
        path = self._path(ref)
        data = read_regular_file(path, self.limit)
        child = Sources(trusted=self.trusted, root=self.root, here=path.parent)
        return data, os.fspath(path), child

    # -- resolving --------------------------------------------------------------------------
    def _path(self, ref: str) -> Path:
        relative = _file_path(ref)
        if self.trusted:
            base = self.here if self.here is not None else Path.cwd()
            return Path(os.path.realpath(base / relative))
        root, here = self.root, self.here
        if root is None or here is None:
            raise SourceError(
                f"cannot read {ref!r}: safe mode reads no file unless the caller grants a"
                " folder (from_scxml(..., base_dir=...)) or a loader (loader=...)"
            )
        pure = PurePosixPath(relative.replace("\\", "/"))
        if pure.is_absolute() or Path(relative).is_absolute() or Path(relative).drive:
            raise SourceError(
                f"cannot read {ref!r}: an absolute path (safe mode reads relative paths inside"
                f" {str(root)!r} only)"
            )
        if ".." in pure.parts:
            raise SourceError(f"cannot read {ref!r}: '..' is not allowed in safe mode")
        real = Path(os.path.realpath(here / relative))
        if not _inside(real, root):
            raise SourceError(f"cannot read {ref!r}: it leads outside {str(root)!r}")
        return real


def _file_path(ref: str) -> str:
    """The path a reference names: ``file:rel``, ``file:///abs``, ``file://localhost/abs`` or a
    plain path; any other URI scheme is refused."""
    if not isinstance(ref, str):
        raise SourceError(f"a src reference must be a string, not {type(ref).__name__}")
    if not ref.strip():
        raise SourceError("an empty src reference")
    if "\x00" in ref:
        raise SourceError(f"{ref!r} contains a NUL character")
    if ref.startswith("file://"):
        parts = urlsplit(ref)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"cannot read {ref!r}: a file URL on another host")
        return unquote(parts.path)
    if ref.startswith("file:"):
        return unquote(ref[5:])
    if _URI_SCHEME.match(ref) and not _DRIVE.match(ref):
        raise SourceError(f"unsupported URI {ref!r}: only file: references are loaded")
    return unquote(ref)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
