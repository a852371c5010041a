"""The Python code blocks of docs/actors.md run and print what they say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "actors.md"


def test_actors_doc_code_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {"__name__": "actors_doc"}
    for block in blocks:
        if "class ActorStore(Protocol)" in block:
            continue  # a signature, not a program
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(DOC), "exec"), namespace)  # our own docs
        for line in block.splitlines():
            m = re.match(r"\s*print\(.*\)\s*# (.+)$", line)
            if m:
                assert m.group(1) in out.getvalue(), (m.group(1), out.getvalue())
