"""The safe evaluator bounds what one expression may allocate and how much work it may do:
every operation that can build a large value checks the size of its result before computing
it, and loops stop at a work budget. Going over is ``error.execution`` (never MemoryError, a
hang or a RecursionError); expressions too long or too deep to compile are definition errors."""

from __future__ import annotations

import pytest

from statefleet import ChartDefinitionError, from_scxml
from statefleet.formats._scxml_expr import MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH
from tests.scxml._util import doc, run


def _evaluate(expr: str, *, trusted: bool = False) -> tuple[str, object]:
    """``("ok", value)`` or ``("error", message)`` for ``expr`` assigned in onentry."""
    escaped = expr.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    text = doc(
        '<datamodel><data id="r"/><data id="err"/></datamodel>'
        f'<state id="a"><onentry><assign location="r" expr="{escaped}"/></onentry>'
        '<transition event="error.execution" target="b">'
        '<assign location="err" expr="_event.data"/></transition></state><state id="b"/>'
    )
    session = run(text, trusted=trusted)
    if session.active_leaves == ("b",):
        return "error", str(session.context["err"])
    return "ok", session.context["r"]


TOO_BIG = [
    ("'a'.ljust(10**9)", "ljust"),
    ("'a'.rjust(10**9)", "rjust"),
    ("'a'.center(10**9)", "center"),
    ("'a'.zfill(10**9)", "zfill"),
    ("('\\t' * 1000).expandtabs(10**6)", "expandtabs"),
    ("str.ljust('a', 10**9)", "ljust"),
    ("list(map(str.center, ['a'], [10**9]))", "center"),
    ("(lambda f: f(10**9))('a'.zfill)", "zfill"),
    ("f'{1:>1000000000}'", "width"),
    ("f'{1.5:.1000000000f}'", "width or precision"),
    ("f'{1:{10**9}}'", "width"),
    ("'%1000000000d' % 1", "width"),
    ("'%.1000000000f' % 1.5", "precision"),
    ("'%*d' % (10**9, 1)", "widths taken from the arguments"),
    ("((2**10000)**10000)**10000", "bits"),
    ("2 ** 10**9", "bits"),
    ("(2**60000) * (2**60000)", "bits"),
    ("1 << 10**9", "bits"),
    ("'a' * 10**9", "repetition"),
    ("[0] * 10**9", "repetition"),
    ("10**9 * (0,)", "repetition"),
    ("('a' * 10**6) + ('a' * 10**6)", "concatenation"),
    ("('a' * 10**6).replace('a', 'aa')", "replace"),
    ("('x' * 1000).join(['a'] * 10**6)", "join"),
    ("'ab'.join(['x'] * 600_000)", "join"),
    ("('a' * 10**6).translate({97: 'b' * 100})", "translate"),
    ("[l.extend(l) for l in [[0] * 1000] for _ in range(20)]", "extend"),
    ("sum([[0] * 600_000, [1] * 600_000], [])", "concatenation"),
    ("range(10**12)", "range"),
    ("round(5, -10**9)", "round"),
    ("[0 for a in range(10**6) for b in range(10**6)]", "work"),
    ("[list(range(10**6)) for _ in range(10**6)]", "work"),
    ("[sorted(range(10**6)) for _ in range(10**6)]", "work"),
    ("[str(list(range(10**5))) for _ in range(1000)]", "work"),
    ("[[*range(10**6)] for _ in range(1000)]", "work"),
    ("[[0] * 1000] * 1000 * 2", "nested"),
    ("[{**dict.fromkeys(range(10**6))} for _ in range(1000)]", "work"),
    ("[s.upper() for s in ['a' * 10**6] for _ in range(10**6)]", "work"),
    ("list(map(str.encode, ['a' * 200_000] * 5, ['utf-32'] * 5))", "work"),
    ("list(map(lambda _: 'a'.upper() * 10**6, range(1000)))", "work"),
    ("(1).to_bytes(10**9, 'big')", "to_bytes"),
    ("[0 in l for l in [[1] * 10**6] for _ in range(10**6)]", "work"),
    ("[l.count(0) for l in [[1] * 10**6] for _ in range(10**6)]", "work"),
    ("[s.find('b') for s in ['a' * 10**6] for _ in range(10**6)]", "work"),
    ("[[[0] * 1000] * 1000] * 1000", "nested"),
    ("['a' * 10**6] * 1000", "nested"),
    ("str([[[0] * 100] * 100] * 90 + [[[0] * 100] * 100] * 90)", "nested ones counted"),
    ("f'{[[0] * 1000] * 1001}'", "nested"),
    ("'%s' % ([[0] * 1000] * 1001,)", "nested"),
    ("repr([[[0] * 100] * 100] * 90 + [[[0] * 100] * 100] * 90)", "nested ones counted"),
]


@pytest.mark.parametrize(("expr", "why"), TOO_BIG)
def test_an_expression_over_a_limit_raises_error_execution_before_allocating(
    expr: str, why: str
) -> None:
    outcome, message = _evaluate(expr)
    assert outcome == "error", f"{expr} was evaluated"
    assert why in str(message)


# an ordinary expression and a sibling that goes over the limit the same operation has: the
# limits refuse only what is too big
WITHIN_AND_OVER = [
    ("'ab'.ljust(5, '.')", "ab...", "'ab'.ljust(10**9, '.')"),
    ("'7'.zfill(3)", "007", "'7'.zfill(10**9)"),
    ("'-'.join(['a', 'b'])", "a-b", "('-' * 1000).join(['a'] * 10**6)"),
    ("str.join('-', ['a', 'b'])", "a-b", "str.join('-' * 1000, ['a'] * 10**6)"),
    ("'a b'.replace(' ', '_')", "a_b", "('a ' * 10**5).replace(' ', '_' * 100)"),
    ("f'{3:>4}|{\"x\"!r}|{2.5:.2f}'", "   3|'x'|2.50", "f'{3:>1000000000}'"),
    ("'%05d|%s' % (42, 'x')", "00042|x", "'%01000000000d' % 42"),
    ("'a\\tb'.expandtabs(4)", "a   b", "('a\\tb' * 1000).expandtabs(10**6)"),
    ("2 ** 100", 2**100, "(2 ** 10000) ** 20"),
    (
        "1 << 64",
        1 << 64,
        "1 << 9000 << 9000 << 9000 << 9000 << 9000 << 9000 << 9000 << 9000"
        " << 9000 << 9000 << 9000 << 9000",
    ),
    ("[0] * 3 + [1]", [0, 0, 0, 1], "[0] * 10**6 + [1] * 10**6"),
    ("sum(x for x in range(10))", 45, "sum(x for x in range(2 * 10**6))"),
    ("sum([[1], [2]], [])", [1, 2], "sum([[1] * 600_000, [2] * 600_000], [])"),
    ("sorted({3: 0, 1: 0})", [1, 3], "sorted(range(2 * 10**6))"),
    (
        "isinstance([1], list) and isinstance((1,), (list, tuple)) and not isinstance(1, str)",
        True,
        "isinstance(list(range(2 * 10**6)), list)",
    ),
    ("[*range(3), *[9]]", [0, 1, 2, 9], "[[*range(10**6)] for _ in range(10)]"),
    ("{**{'a': 1}, 'b': 2}", {"a": 1, "b": 2}, "[{**dict.fromkeys(range(10**6))} for _ in 'ab']"),
    ("len(str(2 ** 10000))", 3011, "len(str([[0] * 1000] * 1000 + [[0] * 1000] * 1000))"),
    ("round(2.675, 2)", round(2.675, 2), "round(5, -10**9)"),
    (
        "list(map(str.upper, ['a']))",
        ["A"],
        "list(map(str.encode, ['a' * 200_000] * 5, ['utf-32'] * 5))",
    ),
    (
        "[l.extend([1]) for l in [[]]]",
        [None],
        "[l.extend(l) for l in [[0] * 1000] for _ in range(20)]",
    ),
    (
        "dict(zip('ab', range(2)))",
        {"a": 0, "b": 1},
        "[dict(zip(range(10**6), range(10**6))) for _ in 'ab']",
    ),
    ("len([[0] * 1000] * 1000)", 1000, "len([[0] * 1000] * 1001)"),
    ("[[]] * 3", [[], [], []], "[[[]] * 10**6 for _ in range(10)]"),
    (
        "(2 in [1, 2], 3 not in (1, 2), 'b' in 'abc', [1] instanceof Array)",
        (True, True, True, True),
        "[0 in l for l in [[1] * 10**6] for _ in range(10**6)]",
    ),
    (
        "['a', 'b'].index('b') + 'abc'.find('c')",
        3,
        "[s.find('b') for s in ['a' * 10**6] for _ in range(10**6)]",
    ),
]


@pytest.mark.parametrize(("expr", "value", "over"), WITHIN_AND_OVER)
def test_the_limits_refuse_only_what_is_too_big(expr: str, value: object, over: str) -> None:
    assert _evaluate(expr) == ("ok", value)
    assert _evaluate(over)[0] == "error", f"{over} was evaluated"


def test_shared_references_cannot_grow_what_is_stored() -> None:
    # each event doubles what x holds (x = [x, x]): the datamodel (and its snapshots) would
    # reach 2**25 items after twenty-five events
    text = doc(
        '<datamodel><data id="x" expr="[0]"/><data id="n" expr="0"/></datamodel>'
        '<state id="a"><transition event="grow"><assign location="x" expr="[x, x]"/>'
        '<assign location="n" expr="n + 1"/></transition>'
        '<transition event="error.execution" target="refused"/></state>'
        '<state id="refused"/>'
    )
    session = run(text)
    for _ in range(25):
        session.send("grow")
    assert session.active_leaves == ("refused",) and session.context["n"] < 21
    for expr in [
        "(lambda f: f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(f(0))))))))))))))))))))))"
        "(lambda a: [a, a])"
    ]:
        data = doc(
            f'<datamodel><data id="y" expr="{expr}"/></datamodel>'
            '<state id="a"><transition event="error.execution" target="refused"/></state>'
            '<state id="refused"/>'
        )
        assert run(data).active_leaves == ("refused",)
    send = doc(
        '<datamodel><data id="l" expr="[[0] * 1000]"/></datamodel>'
        '<state id="a"><onentry><send event="e"><param name="p" expr="l * 999 + l * 999"/>'
        '</send></onentry><transition event="error.execution" target="refused"/></state>'
        '<state id="refused"/>'
    )
    assert run(send).active_leaves == ("refused",)


def test_trusted_mode_is_not_limited_and_the_budget_is_per_evaluation() -> None:
    big = "len('a'.ljust(2 * 10**6))"
    assert _evaluate(big)[0] == "error"
    assert _evaluate(big, trusted=True) == ("ok", 2 * 10**6)
    # each evaluation may spend the whole budget: many moderate ones in a row all succeed, one
    # that does all of their work at once does not
    assign = '<assign location="n" expr="n + len([x for x in range(10**6)])"/>'
    text = doc(
        '<datamodel><data id="n" expr="0"/></datamodel><state id="a"><onentry>'
        + assign * 2
        + "</onentry></state>"
    )
    assert run(text).context["n"] == 2 * 10**6
    assert _evaluate("len([x for _ in range(10) for x in range(10**6)])")[0] == "error"


def test_a_foreach_shares_one_budget_with_its_body() -> None:
    text = doc(
        '<datamodel><data id="l" expr="[]"/></datamodel><state id="a"><onentry>'
        '<foreach array="range(10**6)" item="i"><foreach array="range(10**6)" item="j">'
        '<assign location="l" expr="l + [j]"/></foreach></foreach></onentry>'
        '<transition event="error.execution" target="b"/></state><state id="b"/>'
    )
    assert run(text).active_leaves == ("b",)
    small = doc(
        '<datamodel><data id="n" expr="0"/></datamodel><state id="a"><onentry>'
        '<foreach array="range(100)" item="i"><foreach array="range(100)" item="j">'
        '<assign location="n" expr="n + 1"/></foreach></foreach></onentry></state>'
    )
    assert run(small).context["n"] == 10_000


@pytest.mark.parametrize("trusted", [False, True])
@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ("1 + " * (MAX_EXPRESSION_LENGTH // 4) + "1", "longer than"),
        ("-" * 50_000 + "1", "longer than|nested"),
        ("-" * (MAX_EXPRESSION_DEPTH + 5) + "1", "nested"),
        ("+".join(["1"] * (MAX_EXPRESSION_DEPTH + 5)), "nested"),
    ],
)
def test_long_or_deep_expressions_are_definition_errors(expr: str, why: str, trusted: bool) -> None:
    text = doc(f'<state id="a">\n<onentry><log expr="{expr}"/></onentry>\n</state>')
    with pytest.raises(ChartDefinitionError, match=why) as info:
        from_scxml(text, trusted=trusted)
    assert info.value.line == 3 and "expr of <log>" in str(info.value)
