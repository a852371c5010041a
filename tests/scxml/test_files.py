"""What files an SCXML document may read: nothing in safe mode unless the caller grants a folder
(``base_dir``) or a loader; inside a granted folder only relative paths that stay inside it; in
every mode only regular files, up to a size cap. A static reference that is refused fails the
load naming the element, attribute and line; a computed one raises ``error.execution``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from statefleet import ChartDefinitionError, from_scxml
from statefleet.formats._scxml_files import MAX_FILE_BYTES
from tests.scxml._util import PASS_FAIL, doc, run, verdict

W3C = Path(__file__).resolve().parents[1] / "conformance" / "w3c" / "mandatory"


def _data(src: str) -> str:
    return doc(
        f'<datamodel>\n<data id="v" src="{src}"/>\n</datamodel>\n'
        '<state id="a"><transition cond="v is not None" target="pass"/>'
        '<transition event="error.execution" target="fail"/></state>' + PASS_FAIL
    )


def _refused_at_run_time(src: str, **kw: object) -> bool:
    """Whether initializing ``<data src>`` raised ``error.execution``."""
    text = doc(
        f'<datamodel><data id="v" src="{src}"/></datamodel>'
        '<state id="a"><transition event="error.execution" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    return verdict(run(text, **kw)) == "pass"  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "items.json").write_text('{"sku": [1, 2]}')
    (tmp_path / "secret.txt").write_text("password")
    return granted


# -- safe mode: nothing without a grant ---------------------------------------------------------


def test_safe_mode_reads_no_file_without_a_grant(folder: Path) -> None:
    with pytest.raises(ChartDefinitionError, match="base_dir") as info:
        from_scxml(_data("file:items.json"))
    assert info.value.line == 3 and "<data>: src:" in str(info.value)
    # a document read from a path gets no grant from its own location either
    path = folder / "chart.scxml"
    path.write_text(_data("file:items.json"))
    with pytest.raises(ChartDefinitionError, match="grants a folder"):
        from_scxml(path)
    # granted, the same references are read
    session = run(_data("file:items.json"), base_dir=folder)
    assert verdict(session) == "pass" and session.context["v"] == {"sku": [1, 2]}
    assert verdict(run(str(path), base_dir=folder)) == "pass"


@pytest.mark.parametrize(
    "src",
    [
        "file:../secret.txt",
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "file:///etc/passwd",
        "file:/etc/passwd",
        "file://evil.example/etc/passwd",
        "/proc/self/environ",
        "/dev/zero",
        "http://127.0.0.1:1/x",
        "",
    ],
)
def test_references_outside_the_granted_folder_are_refused_at_load(folder: Path, src: str) -> None:
    with pytest.raises(ChartDefinitionError) as info:
        from_scxml(_data(src), base_dir=folder)
    assert info.value.line == 3 and "src" in str(info.value)


def test_a_symlink_out_of_the_granted_folder_is_refused(folder: Path) -> None:
    (folder / "link.txt").symlink_to(folder.parent / "secret.txt")
    (folder / "dir").symlink_to(folder.parent)
    for src in ("file:link.txt", "dir/secret.txt"):
        with pytest.raises(ChartDefinitionError, match="leads outside"):
            from_scxml(_data(src), base_dir=folder)
    (folder / "inside.json").symlink_to(folder / "items.json")
    assert verdict(run(_data("inside.json"), base_dir=folder)) == "pass"


def test_only_regular_files_are_read_even_inside_the_folder(folder: Path) -> None:
    os.mkfifo(folder / "pipe")  # opening a FIFO for reading would block: never done
    (folder / "sub").mkdir()
    assert _refused_at_run_time("file:pipe", base_dir=folder)
    assert _refused_at_run_time("sub", base_dir=folder)


def test_a_file_larger_than_the_cap_is_refused(folder: Path) -> None:
    (folder / "big.txt").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    assert _refused_at_run_time("big.txt", base_dir=folder)
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert _refused_at_run_time("latin1.txt", base_dir=folder)


def test_content_src_and_invoke_src_are_held_to_the_grant(folder: Path) -> None:
    send = doc(
        '<state id="a"><onentry><send event="e"><content src="../secret.txt"/></send>'
        "</onentry></state>"
    )
    with pytest.raises(ChartDefinitionError, match=r"<content>: src: .*'\.\.'") as info:
        from_scxml(send, base_dir=folder)
    assert "scxml/state[a]/onentry/send/content" in info.value.path
    (folder / "msg.txt").write_text("hello")
    ok = doc(
        '<state id="a"><onentry><send event="e"><content src="msg.txt"/></send></onentry>'
        '<transition event="e" cond="_event.data == \'hello\'" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(ok, base_dir=folder)) == "pass"
    invoke = doc('<state id="a">\n<invoke src="/dev/zero"/>\n</state>')
    with pytest.raises(ChartDefinitionError, match="<invoke>: src:") as info:
        from_scxml(invoke, base_dir=folder)
    assert info.value.line == 3


@pytest.mark.parametrize(
    "srcexpr", ["'file:../secret.txt'", "'/etc/passwd'", "'/dev/zero'", "'file:///etc/hosts'"]
)
def test_a_computed_invoke_src_outside_the_grant_raises_error_execution(
    folder: Path, srcexpr: str
) -> None:
    text = doc(
        f'<state id="a"><invoke srcexpr="{srcexpr}"/>'
        '<transition event="error.execution" target="pass"/>'
        '<transition event="*" target="fail"/></state>' + PASS_FAIL
    )
    assert verdict(run(text, base_dir=folder)) == "pass"


def test_invoked_documents_keep_the_grant(folder: Path) -> None:
    (folder / "kids").mkdir()
    (folder / "kids" / "child.scxml").write_text(
        doc('<datamodel><data id="d" src="../items.json"/></datamodel><final id="f"/>')
    )
    text = doc('<state id="a"><invoke src="kids/child.scxml"/></state>')
    with pytest.raises(ChartDefinitionError, match=r"'\.\.' is not allowed"):
        from_scxml(text, base_dir=folder)


# -- a loader -----------------------------------------------------------------------------------


def test_a_loader_sees_every_reference_as_written_and_decides() -> None:
    asked: list[str] = []
    files = {
        "db://child": doc('<final id="f"><donedata><param name="n" expr="7"/></donedata></final>'),
        "db://items": b"[1, 2, 3]",
    }

    def loader(ref: str) -> str | bytes:
        asked.append(ref)
        return files[ref]

    text = doc(
        '<datamodel><data id="v" src="db://items"/><data id="n"/></datamodel>'
        '<state id="a"><invoke src="db://child"/>'
        '<transition event="done.invoke" target="b"><assign location="n" expr="_event.data.n"/>'
        '</transition></state><state id="b"/>'
    )
    session = run(text, loader=loader)
    assert session.active_leaves == ("b",)
    assert session.context["v"] == [1, 2, 3] and session.context["n"] == 7
    assert sorted(asked) == ["db://child", "db://items"]


def test_a_loader_refusal_is_a_typed_error() -> None:
    def loader(ref: str) -> str:
        raise PermissionError(f"no {ref}")

    with pytest.raises(ChartDefinitionError, match=r"loader refused 'x\.scxml'"):
        from_scxml(doc('<state id="a"><invoke src="x.scxml"/></state>'), loader=loader)
    assert _refused_at_run_time("anything", loader=loader)


# -- trusted mode -------------------------------------------------------------------------------


def test_trusted_documents_read_any_regular_file_but_not_devices(folder: Path) -> None:
    secret = folder.parent / "secret.txt"
    session = run(_data(f"file://{secret}"), trusted=True, base_dir=folder)
    assert session.context["v"] == "password"
    with pytest.raises(ChartDefinitionError, match="not a regular file") as info:
        from_scxml(doc('<state id="a">\n<invoke src="/dev/zero"/>\n</state>'), trusted=True)
    assert info.value.line == 3
    with pytest.raises(ChartDefinitionError, match="not a regular file"):
        from_scxml(doc('<script src="/dev/zero"/><state id="a"/>'), trusted=True)
    assert _refused_at_run_time("/proc/self/environ", trusted=True)
    assert _refused_at_run_time("/dev/zero", trusted=True)


# -- the W3C runner grants the document's folder, explicitly ------------------------------------


def test_w3c_documents_need_their_folder_granted() -> None:
    with pytest.raises(ChartDefinitionError, match="grants a folder"):
        from_scxml(W3C / "test552.scxml")
    assert verdict(run(str(W3C / "test552.scxml"), base_dir=W3C)) == "pass"
