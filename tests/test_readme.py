"""The README's Python code blocks run, in order, in one namespace, and print what they say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_code_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {"my_provider": TracerProvider(), "__name__": "readme"}
    monkeypatch.chdir(tmp_path)  # the actors block writes orders.db
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), namespace)  # our own README
        for line in block.splitlines():
            # "print(x)  # expected" comments state the output
            m = re.match(r"\s*print\(.*\)\s*# (.+)$", line)
            if m:
                assert m.group(1) in out.getvalue(), (m.group(1), out.getvalue())
