"""docs/scxml.md's Python code blocks run, in order, and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "scxml.md"


def test_scxml_doc_code_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {"__name__": "scxml_doc"}
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(DOC), "exec"), namespace)  # our own documentation
        printed = out.getvalue().splitlines()
        expected = [m.group(1) for m in re.finditer(r"print\(.*\)\s*# (.+)$", block, re.M)]
        assert printed == expected, (block, printed)
