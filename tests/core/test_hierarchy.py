"""Compound states: entry/exit order, LCA, internal vs external, self-transitions."""

from __future__ import annotations

from tests.core._build import S, T, Trace, chart, traced


def test_initial_entry_descends_into_default_children_in_order() -> None:
    tr = Trace()
    c = chart(traced(tr, "a", traced(tr, "a1", traced(tr, "a1x")), traced(tr, "a2")))
    s = c.start()
    assert tr.take() == ["enter a", "enter a1", "enter a1x"]
    assert s.configuration == {"a", "a1", "a1x"}
    assert s.active_leaves == ("a1x",)


def test_explicit_initial_attribute_is_honoured() -> None:
    c = chart(S("a", S("a1"), S("a2"), initial="a2"))
    assert c.start().configuration == {"a", "a2"}


def test_leaf_to_leaf_across_branches_exits_up_to_lca_and_enters_down() -> None:
    tr = Trace()
    c = chart(
        traced(
            tr,
            "root",
            traced(tr, "l", traced(tr, "l1", traced(tr, "l11", on=[T("go", "r11")]))),
            traced(tr, "r", traced(tr, "r1", traced(tr, "r11"))),
        )
    )
    s = c.start()
    tr.take()
    s.send("go")
    assert tr.take() == [
        "exit l11",
        "exit l1",
        "exit l",
        "enter r",
        "enter r1",
        "enter r11",
    ]
    assert s.configuration == {"root", "r", "r1", "r11"}


def test_external_self_transition_exits_and_reenters() -> None:
    tr = Trace()
    c = chart(traced(tr, "a", traced(tr, "a1"), on=[T("again", "a")]))
    s = c.start()
    tr.take()
    s.send("again")
    assert tr.take() == ["exit a1", "exit a", "enter a", "enter a1"]


def test_internal_self_transition_runs_actions_without_exit_or_entry() -> None:
    tr = Trace()
    c = chart(
        traced(
            tr,
            "a",
            traced(tr, "a1"),
            on=[T("poke", None, actions=(tr.add("poked"),), type="internal")],
        )
    )
    s = c.start()
    tr.take()
    s.send("poke")
    assert tr.take() == ["poked"]
    assert s.configuration == {"a", "a1"}


def test_targetless_transition_runs_actions_without_exit_or_entry() -> None:
    tr = Trace()
    c = chart(traced(tr, "a", on=[T("poke", None, actions=(tr.add("poked"),))]))
    s = c.start()
    tr.take()
    s.send("poke")
    assert tr.take() == ["poked"]


def test_internal_transition_to_descendant_does_not_exit_source() -> None:
    tr = Trace()
    c = chart(
        traced(
            tr,
            "p",
            traced(tr, "c1"),
            traced(tr, "c2"),
            on=[T("go", "c2", type="internal")],
        )
    )
    s = c.start()
    tr.take()
    s.send("go")
    assert tr.take() == ["exit c1", "enter c2"]


def test_external_transition_to_descendant_exits_and_reenters_source() -> None:
    tr = Trace()
    c = chart(traced(tr, "p", traced(tr, "c1"), traced(tr, "c2"), on=[T("go", "c2")]))
    s = c.start()
    tr.take()
    s.send("go")
    assert tr.take() == ["exit c1", "exit p", "enter p", "enter c2"]


def test_descendant_transition_wins_over_ancestor() -> None:
    c = chart(
        S("p", S("c", on=[T("e", "x")]), on=[T("e", "y")]),
        S("x"),
        S("y"),
    )
    s = c.start()
    s.send("e")
    assert s.configuration == {"x"}


def test_first_enabled_transition_in_document_order_wins() -> None:
    c = chart(
        S("a", on=[T("e", "b", cond=lambda ctx: False), T("e", "c"), T("e", "d")]),
        S("b"),
        S("c"),
        S("d"),
    )
    s = c.start()
    s.send("e")
    assert s.configuration == {"c"}


def test_event_descriptors_match_by_dotted_prefix_and_wildcard() -> None:
    c = chart(
        S("a", on=[T("order", "b")]),
        S("b", on=[T("*", "c")]),
        S("c", on=[T("x.y", "d")]),
        S("d"),
    )
    s = c.start()
    s.send("orders")  # not a dotted prefix match
    assert s.configuration == {"a"}
    s.send("order.placed")
    assert s.configuration == {"b"}
    s.send("anything")
    assert s.configuration == {"c"}
    s.send("x")  # "x.y" does not match plain "x"
    assert s.configuration == {"c"}
    s.send("x.y.z")
    assert s.configuration == {"d"}


def test_unknown_event_is_ignored() -> None:
    c = chart(S("a", on=[T("go", "b")]), S("b"))
    s = c.start()
    s.send("nothing-handles-this")
    assert s.configuration == {"a"}


def test_transition_order_is_exit_then_transition_actions_then_entry() -> None:
    tr = Trace()
    c = chart(
        traced(tr, "a", on=[T("go", "b", actions=(tr.add("act"),))]),
        traced(tr, "b"),
    )
    s = c.start()
    tr.take()
    s.send("go")
    assert tr.take() == ["exit a", "act", "enter b"]
