from illume.items import Item
from illume.pairs import Pair, build_pairs, read_pairs, rejected_candidates


def test_pairs_join_fitting_and_rejected_texts_of_the_same_item():
    fitting = [("a", "it is red"), ("a", "the shape is red"), ("b", "it is round")]
    rejected = [
        ("a", "it is a shape"),
        ("a", "It is red"),  # also fitting for a: never a rejected text
        ("a", "it is blue"),
        ("a", "it is  BLUE"),  # a repeat
        ("a", "red"),
        ("c", "no fitting text for c"),
        ("b", "it is square"),
    ]
    pairs = build_pairs(fitting, rejected)
    assert pairs == [
        Pair("a", "it is red", "it is a shape"),
        Pair("a", "the shape is red", "it is blue"),  # the fitting texts take turns
        Pair("a", "it is red", "red"),
        Pair("b", "it is round", "it is square"),
    ]


def test_pairs_per_item_are_capped():
    rejected = [("a", f"wrong {k}") for k in range(10)]
    pairs = build_pairs([("a", "right")], rejected, per_item=3)
    assert [p.rejected for p in pairs] == ["wrong 0", "wrong 1", "wrong 2"]


def test_rejected_candidates_are_those_a_critic_rated_not_fitting():
    rows = [
        {
            "id": "a",
            "candidates": [{"text": "x", "fitting": True}, {"text": "y", "fitting": False}],
        },
        {"id": "b", "error": "unreadable image"},
        {"id": "c", "candidates": [{"text": "z"}]},  # not critiqued: neither
    ]
    assert rejected_candidates(rows) == [("a", "y")]


def test_read_pairs_keeps_known_items_and_usable_rows():
    items = {"a": Item("a", "x.png", "q?", "red")}
    rows = [
        Pair("a", "it is red", "it is blue").to_row(),
        {"id": "zz", "chosen": "x", "rejected": "y"},  # unknown item
        {"id": "a", "chosen": "same", "rejected": " Same"},  # no preference
        {"id": "a", "chosen": "x"},  # no rejected text
        {"id": "a", "chosen": "x", "rejected": "  "},
    ]
    pairs, skipped = read_pairs(rows, items)
    assert pairs == [(items["a"], Pair("a", "it is red", "it is blue"))] and skipped == 4
