"""Programs run in a real subprocess and killed with SIGKILL at a point they announce."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def run(program: Path, db: Path, mode: str) -> subprocess.Popen[str]:
    """Start ``python program db mode``, its output read as text."""
    return subprocess.Popen(
        [sys.executable, str(program), str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_at(proc: subprocess.Popen[str], line: str) -> None:
    """Wait for the program to print ``line``, then SIGKILL it."""
    assert proc.stdout is not None
    assert proc.stdout.readline() == line + "\n", proc.communicate()[1]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def output(proc: subprocess.Popen[str]) -> str:
    """What the program printed, once it exited with status 0."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out
