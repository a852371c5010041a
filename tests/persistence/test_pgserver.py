"""The tests' throwaway PostgreSQL: where it cannot start, the reason is a PersistenceError
(so the PostgreSQL tests skip with it printed), never a stray OSError, and no folder is left."""

from __future__ import annotations

import glob
import tempfile
from pathlib import Path

import pytest

from statefleet.core import PersistenceError
from statefleet.persistence._pgserver import TempPostgres


def test_binaries_that_cannot_run_are_a_persistence_error_and_leave_nothing(
    tmp_path: Path,
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "initdb").write_text("not a program")  # not executable
    before = set(glob.glob(str(Path(tempfile.gettempdir()) / "sf-pg-*")))
    with pytest.raises(PersistenceError, match=r"cannot run|initdb failed"):
        TempPostgres(bindir=bindir).start()
    assert set(glob.glob(str(Path(tempfile.gettempdir()) / "sf-pg-*"))) <= before
