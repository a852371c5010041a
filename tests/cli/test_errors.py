"""The command line never shows a traceback: bad files, bad arguments and unwritable outputs
end in one line on stderr and the exit status docs/cli.md lists."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from statefleet.actors import ActorSystem
from statefleet.cli import main
from statefleet.persistence import SQLiteStore
from tests.cli.test_inspect import CHART

ORDER = {
    "id": "order",
    "initial": "cart",
    "states": {"cart": {"on": {"CHECKOUT": "paid"}}, "paid": {"type": "final"}},
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {
        "order": tmp_path / "order.json",
        "latin1_json": tmp_path / "latin1.json",
        "latin1_yaml": tmp_path / "latin1.yaml",
        "deep_json": tmp_path / "deep.json",
        "deep_yaml": tmp_path / "deep.yaml",
    }
    out["order"].write_text(json.dumps(ORDER))
    out["latin1_json"].write_bytes(b'{"id": "caf\xe9", "states": {}}')
    out["latin1_yaml"].write_bytes(b"meta:\n  machine_name: caf\xe9\n")
    out["deep_json"].write_text("[" * 50_000 + "]" * 50_000)
    out["deep_yaml"].write_text("states:\n" + "".join("  " * i + "-\n" for i in range(1, 400)))
    return out


BAD = ("latin1_json", "latin1_yaml", "deep_json", "deep_yaml")


@pytest.mark.parametrize("bad", BAD)
def test_validate_reports_unreadable_files_as_invalid(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    status, out, err = run(capsys, "validate", str(files[bad]), str(files["order"]))
    assert status == 1 and "Traceback" not in out + err
    assert f"invalid {files[bad]}" in out and f"ok {files['order']}" in out
    assert "not UTF-8" in out if bad.startswith("latin1") else "limit of 256 levels" in out


@pytest.mark.parametrize("bad", BAD)
def test_diagram_and_simulate_on_unreadable_files(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    status, _, err = run(capsys, "diagram", str(files[bad]))
    assert status == 1 and one_line(err).startswith("statefleet diagram: ")
    status, _, err = run(capsys, "simulate", str(files[bad]), "--event", "X")
    assert status == 1 and one_line(err).startswith("statefleet simulate: ")


def test_diagram_output_in_a_missing_folder(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "folder" / "order.mmd"
    status, _, err = run(capsys, "diagram", str(files["order"]), "-o", str(target))
    assert status == 1
    assert one_line(err) == f"statefleet diagram: cannot write {target}: No such file or directory"
    status, _, err = run(capsys, "diagram", str(files["order"]), "-o", str(tmp_path))
    assert status == 1 and "cannot write" in one_line(err)


def test_diagram_snapshot_that_is_not_a_regular_file(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/zero was read until memory ran out
    status, _, err = run(capsys, "diagram", str(files["order"]), "--snapshot", "/dev/zero")
    assert status == 1 and "not a regular file" in one_line(err)


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf", "-1", "1e999"])
def test_simulate_advance_needs_a_finite_duration(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], seconds: str
) -> None:
    status, out, err = run(capsys, "simulate", str(files["order"]), f"--advance={seconds}")
    assert status == 2
    assert one_line(err) == (
        f"statefleet simulate: advance {seconds!r}: SECONDS must be a finite number >= 0,"
        f" got {seconds!r}"
    )
    assert out.splitlines() == ["t=0  (start)                  -> order.cart"]


def test_simulate_deeply_nested_event_data_and_context(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    deep = '{"a": ' * 10_000 + "1" + "}" * 10_000
    status, _, err = run(capsys, "simulate", str(files["order"]), "--event", f"CHECKOUT:{deep}")
    assert status == 2 and "event data nests too deeply" in one_line(err)
    assert len(err) < 300  # the step is clipped, not echoed in full
    status, _, err = run(capsys, "simulate", str(files["order"]), "--context", deep)
    assert status == 2 and "--context nests too deeply" in one_line(err)


# -- module:attribute ---------------------------------------------------------------------
def test_validate_never_calls_an_arbitrary_callable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "called"
    monkeypatch.setenv("STATEFLEET_TEST_MARKER", str(marker))
    status, out, _ = run(capsys, "validate", "tests.cli.charts_for_cli:touch_marker")
    assert status == 1 and "a callable that is not a chart factory is not called" in out
    assert not marker.exists()
    status, out, _ = run(capsys, "validate", "os:system", "subprocess:Popen")
    assert status == 1
    assert "os:system: a callable that is not a chart factory is not called" in out
    assert "subprocess:Popen: a class, not a chart" in out
    # charts, chart classes and documented factories are still accepted
    refs = ("tests.cli.charts_for_cli:Door", "tests.cli.charts_for_cli:door_chart")
    status, out, _ = run(capsys, "validate", *refs, "statefleet.demo.fleet:order_chart")
    assert status == 0, out
    assert out.count("ok ") == 3


def test_validate_reports_failing_and_unusable_factories(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(
        capsys,
        "validate",
        "tests.cli.charts_for_cli:broken_factory",
        "tests.cli.charts_for_cli:needs_arguments",
    )
    assert status == 1
    assert "broken_factory: the chart factory raised RuntimeError: no door today" in out
    assert "needs_arguments: a callable that is not a chart factory" in out


def test_a_module_that_fails_to_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken_charts_mod.py").write_text("raise ValueError('half written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out, err = run(capsys, "validate", "broken_charts_mod:chart")
    assert status == 1 and "Traceback" not in out + err
    assert "cannot import module 'broken_charts_mod': ValueError: half written" in out


# -- inspect ----------------------------------------------------------------------------
def stored(tmp_path: Path, *ids: str) -> Path:
    """A SQLite database where the ticket actors ``ids`` are stored."""
    db = tmp_path / "t.db"

    async def make() -> None:
        async with ActorSystem(store=SQLiteStore(str(db)), charts=[CHART]) as system:
            for actor in ids:
                await system.ref(CHART, actor).ask("noop")

    anyio.run(make)
    return db


def test_inspect_shows_database_text_verbatim_and_survives_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = stored(tmp_path, "[/]", "plain")  # an id that is rich markup
    con = sqlite3.connect(db)
    con.execute("UPDATE timers SET due = 'soon' WHERE actor_id = 'plain'")
    con.execute("UPDATE actors SET snapshot = 'not a blob', status = 7 WHERE id = 'plain'")
    con.commit()
    con.close()
    status, out, err = run(capsys, "inspect", str(db))
    assert status == 0, err
    assert "│ [/]" in out and "soon" in out
    status, out, err = run(capsys, "inspect", str(db), "--actor", "plain")
    assert status == 0, err
    assert "due soon" in out and "not bytes" in out
    status, out, err = run(capsys, "inspect", str(db), "--actor", "[/]")
    assert status == 0 and "actor [/]" in out


def test_inspect_a_database_missing_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = stored(tmp_path, "t1")
    con = sqlite3.connect(db)
    con.execute("DROP TABLE timers")
    con.commit()
    con.close()
    status, _, err = run(capsys, "inspect", str(db))
    assert status == 2 and "cannot read the database (no such table: timers)" in one_line(err)


def test_a_real_process_prints_one_line(files: dict[str, Path], tmp_path: Path) -> None:
    paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    for argv, status in (
        (["validate", "os:system"], 1),
        (["simulate", str(files["order"]), "--advance", "nan"], 2),
        (["diagram", str(files["latin1_json"]), "-o", str(tmp_path / "x" / "y.mmd")], 1),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "statefleet.cli", *argv],
            capture_output=True,
            check=False,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == status, proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        assert len(proc.stderr.splitlines()) <= 1


def test_w3c_shows_file_names_verbatim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = Path(__file__).resolve().parents[1] / "conformance/w3c/mandatory/test144.scxml"
    (tmp_path / "test[zzz]144.scxml").write_bytes(source.read_bytes())
    status, out, _ = run(capsys, "w3c", str(tmp_path))
    assert status == 0 and "test[zzz]144" in out  # rich markup used to eat '[zzz]'


def test_inspect_limit_must_be_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = stored(tmp_path, "t1", "t2")
    with pytest.raises(SystemExit) as info:  # bad usage: argparse's status 2
        main(["inspect", str(db), "--limit=-1"])
    assert info.value.code == 2
    assert "--limit: expected a whole number >= 0, got '-1'" in capsys.readouterr().err
    status, out, _ = run(capsys, "inspect", str(db), "--limit", "0", "--json")
    assert status == 0 and len(json.loads(out)["actors"]) == 2
