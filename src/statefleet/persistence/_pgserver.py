"""A throwaway PostgreSQL server in a temporary folder (tests, benchmarks, demos).

It runs the system's own PostgreSQL binaries (``initdb``, ``pg_ctl``; Debian puts them in
``/usr/lib/postgresql/<version>/bin``): a fresh cluster in a temporary folder, listening on
a unix socket in that folder only (no TCP port, so servers never clash), trusted local
logins for the ``postgres`` superuser, removed on :meth:`TempPostgres.stop`.

PostgreSQL refuses to run as root; under root the folder is given to the ``postgres``
system user and the binaries run as that user (``runuser``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from statefleet.core import PersistenceError

__all__ = ["TempPostgres", "find_bindir"]


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first, then
    ``PATH``), or ``None`` when PostgreSQL is not installed."""

    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    for c in candidates:
        if os.access(c, os.X_OK):
            return Path(c).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class TempPostgres:
    """A PostgreSQL server of its own in a temporary folder.

    ``start()`` makes and starts it (raising :class:`PersistenceError` with the server's
    own words when it cannot), :attr:`dsn` connects to its ``postgres`` database, and
    ``stop()`` stops it and deletes the folder. ``fsync=False`` trades crash safety of the
    *server* for speed (tests kill clients, never the server); benchmarks keep it on.
    """

    def __init__(self, *, fsync: bool = True, bindir: Path | None = None) -> None:
        self.fsync = fsync
        self.bindir = bindir or find_bindir()
        self.folder: Path | None = None
        self.port = 5432  # names the socket file; no TCP listener is opened

    @property
    def socket_dir(self) -> Path:
        """The folder holding the server's unix socket."""
        assert self.folder is not None, "the server is not started"
        return self.folder / "run"

    @property
    def dsn(self) -> str:
        """A DSN for the ``postgres`` database as the ``postgres`` superuser."""
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:  # no runuser, not executable, hung
            raise PersistenceError(f"cannot run {' '.join(cmd[:5])}: {exc}") from exc

    def start(self) -> None:
        """Create the cluster and start the server (waits until it accepts connections)."""
        if self.bindir is None:
            raise PersistenceError(
                "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on"
                " PATH): apt-get install postgresql"
            )
        self.folder = Path(tempfile.mkdtemp(prefix="sf-pg-"))
        data = self.folder / "data"
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                self._cleanup()
                raise PersistenceError(
                    "running as root but there is no 'postgres' user to run PostgreSQL as"
                ) from None
            for p in (self.folder, self.socket_dir):
                os.chown(p, user.pw_uid, user.pw_gid)
        try:
            init = self._run(
                "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--no-sync", "--locale=C",
            )  # fmt: skip
        except PersistenceError:
            self._cleanup()
            raise
        if init.returncode != 0:
            self._cleanup()
            raise PersistenceError(f"initdb failed: {init.stderr.strip() or init.stdout}")
        self._start()

    def _start(self) -> None:
        assert self.folder is not None
        options = [
            f"-p {self.port}",
            f"-k {self.socket_dir}",
            "-c listen_addresses=''",
            "-c max_connections=200",
            f"-c fsync={'on' if self.fsync else 'off'}",
        ]
        if not self.fsync:
            options += ["-c full_page_writes=off", "-c synchronous_commit=off"]
        # -l: the server's output goes to a file (a pipe it inherited would never close)
        started = self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
            "-w", "-t", "60", "-o", " ".join(options), "start",
        )  # fmt: skip
        if started.returncode != 0:
            log = self.log()
            self._cleanup()
            raise PersistenceError(f"PostgreSQL did not start: {started.stderr.strip()}\n{log}")

    def halt(self) -> None:
        """Stop the server (fast: open connections are cut), keeping its data."""
        assert self.folder is not None
        r = self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        if r.returncode != 0:
            raise PersistenceError(f"PostgreSQL did not stop: {r.stderr.strip()}")

    def resume(self) -> None:
        """Start a halted server again."""
        self._start()

    def restart(self) -> None:
        """:meth:`halt`, then :meth:`resume`."""
        self.halt()
        self.resume()

    def log(self) -> str:
        """What the server wrote to its log so far."""
        if self.folder is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.folder / "server.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        """Stop the server (immediately) and delete its folder."""
        if self.folder is None:
            return
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        self._cleanup()

    def _cleanup(self) -> None:
        folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
