"""``statefleet w3c DIR [--json] [--trusted]``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statefleet.cli import main
from tests.scxml._util import PASS_FAIL, doc

PASSING = doc('<state id="a"><transition target="pass"/></state>' + PASS_FAIL)
FAILING = doc('<state id="a"><transition target="fail"/></state>' + PASS_FAIL)
SCRIPTED = doc(
    '<script>x = 1</script><state id="a"><transition cond="x == 1" target="pass"/></state>'
    + PASS_FAIL
)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "test1.scxml").write_text(PASSING)
    (tmp_path / "test2.scxml").write_text(FAILING)
    (tmp_path / "test10.scxml").write_text(SCRIPTED)
    (tmp_path / "test10sub1.scxml").write_text(FAILING)  # a sub-document: not a test
    (tmp_path / "notes.txt").write_text("not a test")
    return tmp_path


def test_w3c_prints_each_test_in_order_and_a_summary_line(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["w3c", str(suite)])
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[:2] for ln in lines[:-1]] == [
        ["pass", "test1"],
        ["fail", "test2"],
        ["error", "test10"],  # <script> is refused in safe mode
    ]
    assert "trusted=True" in lines[2]
    assert lines[-1] == "1 passed, 2 failed"
    assert status == 1


def test_w3c_trusted_json(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["w3c", str(suite), "--json", "--trusted"])
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "tests": {"test1": "pass", "test2": "fail", "test10": "pass"},
        "passed": 2,
        "failed": 1,
    }
    assert status == 1


def test_w3c_exits_0_when_everything_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "test1.scxml").write_text(PASSING)
    assert main(["w3c", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


def test_w3c_rejects_a_folder_without_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["w3c", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["w3c", str(tmp_path)]) == 2
    assert "no test*.scxml" in capsys.readouterr().err


def test_the_command_needs_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "w3c" in capsys.readouterr().err
