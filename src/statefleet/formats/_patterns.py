"""Regular expressions from untrusted charts: which patterns may backtrack exponentially.

Python's ``re`` backtracks and has no time limit, and a chart (or a message a chart searches)
may come from anyone, so the readers refuse patterns whose backtracking can explode (ReDoS)
before compiling them: the pystator ``matches`` check and SCXML's ``_event.raw.search``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["backtracking_risk"]


def backtracking_risk(pattern: str) -> str | None:
    """Why matching ``pattern`` could backtrack exponentially (ReDoS), or None.

    Python's ``re`` backtracks and has no time limit, and a chart may come from an untrusted
    source, so a pattern is refused where its backtracking can explode: a repeated group that
    itself contains an unbounded repeat (``(a+)+``), a repeated alternation whose branches can
    start alike (``(a|ab)*``), and backreferences. Patterns of star height one with
    unambiguous repeated alternations (``\\d{3}-\\d+``, ``(get|put)+``) are accepted.
    """
    from re import _parser  # type: ignore[attr-defined]  # stdlib's parser (3.11-3.13)

    repeats = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")

    def first(items: Any) -> Any:
        return items[0] if items else None

    def walk(items: Any, repeated: bool) -> str | None:
        for op, av in items:
            name = str(op)
            if name in repeats:
                _lo, hi, sub = av
                unbounded = hi > 1
                if repeated and unbounded:
                    return "a repeat inside a repeated group"
                why = walk(sub, repeated or unbounded)
            elif name == "SUBPATTERN":
                why = walk(av[-1], repeated)
            elif name == "ATOMIC_GROUP":
                why = walk(av, repeated)
            elif name in ("ASSERT", "ASSERT_NOT"):
                why = walk(av[1], repeated)
            elif name == "BRANCH":
                branches = av[1]
                if repeated:
                    starts = [first(b) for b in branches]
                    if any(st is None or str(st[0]) != "LITERAL" for st in starts) or len(
                        {st[1] for st in starts}
                    ) != len(starts):
                        return "a repeated alternation whose branches can start alike"
                why = next((w for b in branches if (w := walk(b, repeated))), None)
            elif name in ("GROUPREF", "GROUPREF_EXISTS"):
                return "a backreference"
            else:
                why = None
            if why is not None:
                return why
        return None

    return walk(_parser.parse(pattern), False)
