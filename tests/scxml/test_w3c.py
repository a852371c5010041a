"""The W3C SCXML conformance suite, through the same runner as ``statefleet w3c``.

Every test of ``tests/conformance/w3c/{mandatory,optional}`` (vendored, see its README) runs
in trusted mode and in safe mode on a virtual clock; the known failures are listed, with
their reasons, in ``expected_failures.py`` (strict: a fixed test must leave the list).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from statefleet.formats._w3c import discover, run_test
from tests.scxml import expected_failures

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "tests" / "conformance" / "w3c"
FOLDERS = ("mandatory", "optional")


def _cases() -> list[object]:
    cases: list[object] = []
    for mode, xfails in (("trusted", expected_failures.TRUSTED), ("safe", expected_failures.SAFE)):
        for folder in FOLDERS:
            for path in discover(SUITE / folder):
                marks = []
                if path.stem in xfails:
                    marks.append(pytest.mark.xfail(reason=xfails[path.stem], strict=True))
                cases.append(
                    pytest.param(path, mode, id=f"{mode}-{folder}-{path.stem}", marks=marks)
                )
    return cases


@pytest.mark.parametrize(("path", "mode"), _cases())
def test_w3c(path: Path, mode: str) -> None:
    result = run_test(path, trusted=mode == "trusted")
    assert result.passed, f"{result.name} ({mode}): {result.outcome}: {result.detail}"


def test_the_suite_is_all_there() -> None:
    # A missing suite is a failure, never a silent skip: the documents ship in the repository.
    assert SUITE.is_dir(), f"the W3C suite is missing: {SUITE}"
    names = {p.stem for folder in FOLDERS for p in discover(SUITE / folder)}
    assert len(names) == 155  # 128 mandatory + 27 optional documents (sub-documents excluded)
    for listed in (*expected_failures.TRUSTED, *expected_failures.SAFE):
        assert listed in names, f"expected_failures lists {listed}, which is not in the suite"


def test_safe_mode_may_only_fail_documents_that_need_script() -> None:
    docs = {p.stem: p for folder in FOLDERS for p in discover(SUITE / folder)}
    for name in expected_failures.SAFE:
        assert "<script" in docs[name].read_text(), f"{name} is listed but has no <script>"
