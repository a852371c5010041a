"""Every XState example (seed 001) runs and prints exactly what the seed says it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "xstate"

EXPECTED: dict[str, str] = {
    "01_checkout.py": """\
{'checkout.cart'}
{'checkout.confirmation'}
{'checkout.confirmation'}
True
""",
    "02_workflow_on_done.py": """\
{'workflow.processing.step1'}
{'workflow.finished'}
""",
    "03_on_done_actions.py": """\
Processing complete! Moving to finished state.
{'withActions.finished'}
""",
    "04_parallel_wait_for_all.py": """\
{'parallelFinal.processing.upload.uploading', 'parallelFinal.processing.validate.checking'}
{'parallelFinal.processing.upload.complete', 'parallelFinal.processing.validate.checking'}
{'parallelFinal.finished'}
""",
    "05_payment_invoke.py": """\
{'payment.success'}
Payment succeeded!
{'payment.failed'}
Payment failed!
{'shop.checkout.confirmation'}
""",
    "06_class_machine.py": """\
{'order.completed'}
""",
    "07_builder.py": """\
{'order.cancelled'}
""",
    "08_functional.py": """\
{'order.completed'}
""",
    "09_order_processing.py": """\
Order created: ORD-93810
Shipping order ORD-93810...
Order ORD-93810 completed!
{'orderProcess.completed'}
Order created: ORD-24592
Order ORD-24592 cancelled: Customer request
{'orderProcess.cancelled'}
Order created: ORD-13278
Refund calculated: $49.99
Refund of $49.99 processed for ORD-13278
{'orderProcess.refunded'}
Order created: ORD-52445
Shipping order ORD-52445...
Refund calculated: $49.99
Refund of $49.99 processed for ORD-52445
{'orderProcess.refunded'} Shipping failed
""",
    "10_approval_workflow.py": """\
{'approval.draft'}
{'approval.review.managerReview'}
Manager approved
{'approval.review.directorReview'}
Director approved
{'approval.published'}
Rejected by: Dana
{'approval.returned'}
{'approval.draft'}
{'approval.draft'}
""",
}


def test_every_example_has_its_expected_output() -> None:
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_prints_what_the_seed_says(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=EXAMPLES,
        check=False,
        # set iteration order must not matter: active_state_ids prints in document order
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == EXPECTED[name]


def test_seed_comments_match_the_printed_output() -> None:
    """Each ``print`` followed by a ``# {...}`` comment in a script prints that comment."""
    for name in sorted(EXPECTED):
        lines = (EXAMPLES / name).read_text().splitlines()
        out = EXPECTED[name]
        for i, line in enumerate(lines[:-1]):
            nxt = lines[i + 1].strip()
            if line.startswith("print(") and nxt.startswith("# {"):
                printed = nxt[2:].split(" (")[0]
                assert printed + "\n" in out, f"{name}:{i + 2}: {printed} not printed"
