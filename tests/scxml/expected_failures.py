"""W3C tests statefleet is expected to fail, with the reason (strict xfail: a test that starts
passing must leave the list).

Trusted mode runs documents as full Python: every test passes. Safe mode refuses what needs
more than the restricted evaluator; only documents that need ``<script>`` may be listed here
(``test_w3c.py`` checks it).
"""

from __future__ import annotations

#: test name -> reason, for ``from_scxml(..., trusted=True)``
TRUSTED: dict[str, str] = {}

#: test name -> reason, for the default safe mode
SAFE: dict[str, str] = {
    "test302": "needs <script> (a top-level script assigns Var1): refused in safe mode",
    "test304": "needs <script> (a top-level script declares Var1): refused in safe mode",
    "test452": "needs <script> (defines a Python function and class): refused in safe mode",
    "test456": "needs <script> (Var1 += 1 in onentry): refused in safe mode",
}
