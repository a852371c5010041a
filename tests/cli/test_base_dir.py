"""``--base-dir DIR``: the folder an SCXML document given to validate, diagram or simulate may
read its ``src`` files from (safe mode reads none otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest

from statefleet.cli import main

SHOP = """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="python"
       initial="open">
  <datamodel><data id="prices" src="file:prices.json"/></datamodel>
  <state id="open"><transition event="buy" cond="prices['tea'] == 3" target="sold"/></state>
  <final id="sold"/>
</scxml>
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "charts"
    folder.mkdir()
    (folder / "prices.json").write_text('{"tea": 3}')
    path = folder / "shop.scxml"
    path.write_text(SHOP)
    return path


def test_without_a_granted_folder_the_src_file_is_not_read(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(shop)]) == 1
    assert "safe mode reads no file unless the caller grants a folder" in capsys.readouterr().out


def test_base_dir_lets_validate_diagram_and_simulate_read_it(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(shop.parent)
    assert main(["validate", str(shop), "--base-dir", folder]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["diagram", str(shop), "--base-dir", folder]) == 0
    assert "stateDiagram-v2" in capsys.readouterr().out
    assert main(["simulate", str(shop), "--base-dir", folder, "--event", "buy"]) == 0
    out = capsys.readouterr().out
    assert "context: prices = {'tea': 3}" in out
    assert "-> sold  (done)" in out


def test_the_grant_is_that_folder_only(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret.json").write_text('{"pin": 1234}')
    leak = shop.parent / "leak.scxml"
    leak.write_text(SHOP.replace("file:prices.json", "file:../secret.json"))
    assert main(["validate", str(leak), "--base-dir", str(shop.parent)]) == 1
    out = capsys.readouterr().out
    assert "'..' is not allowed in safe mode" in out and "1234" not in out


def test_base_dir_must_be_a_folder(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (str(shop), str(shop.parent / "missing")):
        with pytest.raises(SystemExit) as info:
            main(["validate", str(shop), "--base-dir", bad])
        assert info.value.code == 2
        assert "--base-dir: not a folder" in capsys.readouterr().err


def test_other_formats_ignore_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "door.json"
    chart.write_text('{"id": "door", "initial": "shut", "states": {"shut": {}}}')
    assert main(["validate", str(chart), "--base-dir", str(tmp_path)]) == 0
    assert "ok" in capsys.readouterr().out
