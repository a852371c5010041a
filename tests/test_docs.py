"""The documentation in ``docs/`` is checked, so what it shows is what statefleet does.

- every ``--8<-- "path"`` snippet (pymdownx.snippets, paths from the repository root) names a
  file that exists, and every page of ``mkdocs.yml``'s nav exists (and every page is in it);
- links between pages point to pages that exist and stay inside ``docs/`` (what
  ``mkdocs build --strict`` requires);
- on the pages listed in ``RUN_PAGES`` (the command line and the migration guides), the code
  blocks run, in order, in one scratch folder per page:

  - a ```` ```python ```` block runs as a script (a block holding only a snippet line runs
    that file, from its folder); a block after a ``<!-- not-run -->`` line is not run (code
    for another library, fragments);
  - a block after ``<!-- output -->`` must be exactly what the last python block printed;
  - a block after ``<!-- file: NAME -->`` is written to ``NAME`` first;
  - a ```` ```console ```` block's ``$ statefleet ...`` lines run, and what they print (stdout
    and stderr, 80 columns) must be the lines shown up to the next ``$``; a ``...`` line
    stands for any number of lines; ``$ echo $?`` shows the last exit status. A block after
    ``<!-- not-checked -->`` (output that depends on a demo run or on the machine) is not run.

  The scratch folder links ``examples`` and ``tests`` to the repository's, so commands are
  written as if run from the repository root.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
RUN_PAGES = ["cli.md", *sorted(p.name for p in DOCS.glob("migrate-*.md"))]

SNIPPET = re.compile(r'^\s*-{1,}8<-{1,}\s+"([^"]+)"\s*$')
MARKER = re.compile(r"^<!--\s*(not-run|output|not-checked|file:\s*(\S+))\s*-->$")
FENCE = re.compile(r"^```([\w+-]*)\s*$")
LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass
class Block:
    """A fenced code block of a page and the marker comment right before it."""

    page: str
    line: int
    lang: str
    body: str
    marker: str | None
    filename: str | None

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """The top-level fenced code blocks of ``docs/<page>``, in order."""
    lines = (DOCS / page).read_text().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        assert j < len(lines), f"docs/{page}:{start + 1}: code block never closed"
        prev = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        mm = MARKER.match(prev)
        out.append(
            Block(
                page=page,
                line=start + 1,
                lang=m.group(1),
                body="\n".join(lines[start + 1 : j]) + "\n",
                marker=(mm.group(1).split(":")[0] if mm else None),
                filename=(mm.group(2) if mm else None),
            )
        )
        i = j + 1
    return out


def snippet_path(line: str) -> Path | None:
    """The file a snippet line includes (a ``:start:end`` line range dropped), else None."""
    m = SNIPPET.match(line)
    if not m:
        return None
    name = re.sub(r"(:-?\d*){1,2}$", "", m.group(1)) if ":" in m.group(1) else m.group(1)
    return ROOT / name


def expand(body: str) -> str:
    """A block's text with its snippet lines replaced by the files they include."""
    parts: list[str] = []
    for line in body.splitlines(keepends=True):
        path = snippet_path(line)
        parts.append(path.read_text() if path is not None else line)
    return "".join(parts)


def nav_pages(nav: Any) -> list[str]:
    """Every page file named in a mkdocs nav (nested sections included)."""
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    if isinstance(nav, list):
        return [p for item in nav for p in nav_pages(item)]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in nav_pages(value)]
    return []


# -- structure -------------------------------------------------------------------------------


def test_every_snippet_names_an_existing_file() -> None:
    missing = []
    for page in PAGES:
        for n, line in enumerate((DOCS / page).read_text().splitlines(), start=1):
            path = snippet_path(line)
            if path is not None and not path.is_file():
                missing.append(f"docs/{page}:{n}: {path.relative_to(ROOT)}")
    assert not missing, "snippets naming no file:\n" + "\n".join(missing)


def test_every_nav_page_exists_and_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = nav_pages(config["nav"])
    assert len(nav) == len(set(nav)), f"pages listed twice in the nav: {nav}"
    missing = [p for p in nav if not (DOCS / p).is_file()]
    assert not missing, f"mkdocs.yml's nav lists pages that do not exist: {missing}"
    unlisted = [p for p in PAGES if p not in nav]
    assert not unlisted, f"pages missing from mkdocs.yml's nav: {unlisted}"


def test_links_between_pages_resolve() -> None:
    bad = []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", (DOCS / page).read_text(), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # external, or an anchor on the same page
            path = target.split("#", 1)[0]
            if path.startswith("../"):
                bad.append(f"docs/{page}: {target} (outside docs/: mkdocs cannot link it)")
            elif path.endswith(".md") and not (DOCS / path).is_file():
                bad.append(f"docs/{page}: {target} (no such page)")
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_marked_blocks_are_used_on_checked_pages() -> None:
    # a typo in a marker would silently run (or skip) the wrong block
    for page in RUN_PAGES:
        for b in blocks(page):
            if b.marker == "output":
                assert b.lang in ("", "text"), f"{b.where}: an output block is ```text"
            if b.marker == "file":
                assert b.filename, f"{b.where}: <!-- file: NAME --> needs a name"


# -- running the code ------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update(COLUMNS="80", LINES="50", NO_COLOR="1", PYTHONUNBUFFERED="1", PYTHONHASHSEED="0")
    return env


def _lines_match(expected: list[str], actual: list[str]) -> bool:
    """``expected`` lines equal ``actual``, a ``...`` line matching any number of lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(a + "\n" for a in actual)) is not None


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _run_python(block: Block, work: Path, n: int) -> str:
    lines = [line for line in block.body.splitlines() if line.strip()]
    only = snippet_path(lines[0]) if len(lines) == 1 else None
    if only is not None:
        script, cwd = only, only.parent
    else:
        script = work / f"_block{n}.py"
        script.write_text(expand(block.body))
        cwd = work
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, f"{block.where}: the block failed:\n{proc.stderr}"
    return proc.stdout


def _run_console(block: Block, work: Path) -> None:
    session: list[tuple[str, list[str]]] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        else:
            assert session, f"{block.where}: a console block starts with a '$ ' command"
            session[-1][1].append(line)
    status: int | None = None
    for command, expected in session:
        if command.strip() == "echo $?":
            assert status is not None, f"{block.where}: 'echo $?' before any command"
            assert _normalise("\n".join(expected)) == [str(status)], (
                f"{block.where}: the last command exited {status}, the page shows {expected}"
            )
            continue
        argv = shlex.split(command)
        assert argv[0] == "statefleet", f"{block.where}: only statefleet commands run: {command}"
        proc = subprocess.run(
            [sys.executable, "-m", "statefleet.cli", *argv[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            cwd=work,
            env=_env(),
            check=False,
        )
        status = proc.returncode
        want, got = _normalise("\n".join(expected)), _normalise(proc.stdout)
        assert _lines_match(want, got), (
            f"{block.where}: `{command}` printed:\n{proc.stdout}\nthe page shows:\n"
            + "\n".join(expected)
        )


@pytest.mark.parametrize("page", RUN_PAGES)
def test_page_code_runs_and_prints_what_the_page_shows(page: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (work / "tests").symlink_to(ROOT / "tests")
    last: str | None = None
    ran = 0
    for n, block in enumerate(blocks(page)):
        if block.marker == "file":
            assert block.filename is not None
            (work / block.filename).write_text(block.body)
        elif block.marker == "output":
            assert last is not None, f"{block.where}: an output block follows no python block"
            assert last == expand(block.body), (
                f"{block.where}: the block before printed:\n{last}\nthe page shows:\n"
                + expand(block.body)
            )
        elif block.marker in ("not-run", "not-checked"):
            continue
        elif block.lang == "python":
            last = _run_python(block, work, n)
            ran += 1
        elif block.lang == "console":
            _run_console(block, work)
            ran += 1
    assert ran, f"docs/{page}: nothing ran"
