"""SQLiteStore on a file it cannot use: a read-only file system, permission denied, a path
under a regular file or in a missing folder, a directory where the database or its lock
file should be. Each is a PersistenceError naming the path, never a bare OSError, and
nothing is left behind. Also: ``async with`` lets the block's own exception through as
itself, and a clean shutdown leaves no lock file.

The tests run as root, for whom file permissions do not apply: denial is produced by ways
that hold for root too (sysfs refuses new files, a read-only bind mount refuses writes,
a path through a regular file cannot exist)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from statefleet.core import PersistenceError
from statefleet.persistence import SQLiteStore, StoreLockedError, make_commit
from tests.persistence.conftest import initial

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLiteStore is asyncio-only


async def _open_fails(path: Path | str, match: str) -> None:
    with pytest.raises(PersistenceError, match=match) as err:
        async with SQLiteStore(path):
            pass
    assert not isinstance(err.value, OSError)


async def test_a_path_under_a_regular_file_is_a_persistence_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    await _open_fails(tmp_path / "file" / "fleet.db", "cannot create the lock file")


async def test_a_missing_folder_is_a_persistence_error(tmp_path: Path) -> None:
    await _open_fails(tmp_path / "missing" / "fleet.db", "No such file or directory")
    assert not (tmp_path / "missing").exists()


async def test_a_directory_where_the_lock_file_goes_is_a_persistence_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "fleet.db.lock").mkdir()
    await _open_fails(tmp_path / "fleet.db", "Is a directory")


async def test_a_directory_as_the_database_is_a_persistence_error(tmp_path: Path) -> None:
    (tmp_path / "fleet.db").mkdir()
    await _open_fails(tmp_path / "fleet.db", "cannot open the database: it is a directory")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs is Linux's")
async def test_permission_denied_is_a_persistence_error() -> None:
    # sysfs refuses to create files, to root as well
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs mounted at /sys")
    await _open_fails("/sys/statefleet-test.db", "Permission denied")


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[Path]:
    """``folder`` seen through a read-only bind mount (skips when mounting is not allowed)."""
    view = folder.parent / f"{folder.name}-ro"
    view.mkdir()
    try:
        done = subprocess.run(
            ["mount", "--bind", str(folder), str(view)], check=False, capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
        try:
            ro = subprocess.run(
                ["mount", "-o", "remount,bind,ro", str(view)], check=False, capture_output=True
            )
            if ro.returncode != 0:
                pytest.skip(f"cannot remount read-only: {ro.stderr.decode().strip()}")
            yield view
        finally:
            subprocess.run(["umount", str(view)], check=True)
    finally:
        view.rmdir()


@pytest.mark.skipif(os.name != "posix", reason="bind mounts are POSIX")
async def test_a_read_only_file_system_is_a_persistence_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    async with SQLiteStore(data / "fleet.db") as store:
        await store.commit(make_commit("a", initial(n=1), previous=None))
    before = sorted(p.name for p in data.iterdir())
    with _read_only(data) as view:
        await _open_fails(view / "fleet.db", "Read-only file system")
        # through a symlink from a writable folder: the lock file can be made, the
        # database cannot be written
        link = tmp_path / "link.db"
        link.symlink_to(view / "fleet.db")
        with pytest.raises(PersistenceError) as err:
            async with SQLiteStore(link) as store:
                await store.commit(make_commit("b", initial(n=1), previous=None))
        assert not isinstance(err.value, OSError)
    assert sorted(p.name for p in data.iterdir()) == before
    async with SQLiteStore(data / "fleet.db") as store:
        loaded = await store.load("a")
        assert loaded.record is not None
        assert loaded.record.snapshot.context == {"n": 1}


@pytest.mark.parametrize("error", [ValueError("mine"), KeyError("k")])
async def test_the_blocks_own_exception_leaves_async_with_as_itself(
    tmp_path: Path, error: Exception
) -> None:
    db = tmp_path / "fleet.db"
    with pytest.raises(type(error)) as caught:
        async with SQLiteStore(db) as store:
            await store.commit(make_commit("a", initial(n=1), previous=None))
            raise error
    assert caught.value is error
    async with SQLiteStore(db) as store:  # closed properly: it opens again, commit kept
        assert (await store.load("a")).record is not None


async def test_a_clean_close_leaves_no_lock_file(tmp_path: Path) -> None:
    db = tmp_path / "fleet.db"
    lock = tmp_path / "fleet.db.lock"
    async with SQLiteStore(db) as store:
        assert lock.exists()
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
            async with SQLiteStore(db):
                pass
        assert lock.exists()  # the refused opener leaves the holder's file alone
        await store.commit(make_commit("a", initial(n=1), previous=None))
    assert not lock.exists()
    with pytest.raises(ValueError, match="mine"):
        async with SQLiteStore(db):
            raise ValueError("mine")
    assert not lock.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.db"]


async def test_a_failed_open_leaves_no_lock_file(tmp_path: Path) -> None:
    (tmp_path / "fleet.db").mkdir()
    await _open_fails(tmp_path / "fleet.db", "it is a directory")
    assert not (tmp_path / "fleet.db.lock").exists()


async def test_a_lock_file_left_by_a_killed_writer_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "fleet.db"
    code = (
        "import anyio, os, signal, sys\n"
        "from statefleet.persistence import SQLiteStore\n"
        "async def main():\n"
        f"    async with SQLiteStore({str(db)!r}):\n"
        "        print('open', flush=True)\n"
        "        sys.stdin.readline()\n"
        "anyio.run(main)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"open\n"
            with pytest.raises(StoreLockedError, match=f"pid {proc.pid}"):
                async with SQLiteStore(db):
                    pass
        finally:
            proc.kill()  # SIGKILL: no clean close, the file stays but the lock goes with it
            proc.wait()
    assert (tmp_path / "fleet.db.lock").exists()
    async with SQLiteStore(db):
        pass
    assert not (tmp_path / "fleet.db.lock").exists()
