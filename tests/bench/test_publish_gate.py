"""illume_bench.publish_gate: which version serves after each round of a gated loop."""

from illume_bench.publish_gate import PublishGate, served_after


def test_a_clearly_worse_version_is_not_published():
    shares = [0.10, 0.53, 0.51, 0.17]  # base, r1, r2, r3 (run C's dev figures, rounded)
    assert served_after(shares, PublishGate(margin=0.0)) == [1, 1, 1]  # r2 is a little worse
    assert served_after(shares, PublishGate(margin=0.05)) == [1, 2, 2]  # as good: published
    assert served_after([0.2, 0.1, 0.15], PublishGate(margin=0.0)) == [0, 0]


def test_a_version_as_good_as_the_serving_one_is_published():
    gate = PublishGate(margin=0.03)
    assert gate.publishes(0.50, 0.50)
    assert gate.publishes(0.48, 0.50)
    assert not gate.publishes(0.46, 0.50)


def test_the_note_says_the_round_changed_nothing_with_both_figures():
    note = PublishGate(margin=0.03).note(0.175, 0.514, "r2")
    assert note.startswith("this round changed nothing")
    assert "17.5%" in note and "51.4%" in note and "r2" in note and "3 points" in note


def test_a_decision_carries_both_shares_and_the_note_only_when_kept():
    from illume_bench.publish_gate import accepted_share

    rows = [{"candidates": [{"fitting": True}, {"fitting": False}]}, {"candidates": []}]
    assert accepted_share(rows) == 0.5
    kept = PublishGate(margin=0.03).decide(0.2, 0.5, "r1")
    assert kept["published"] is False and kept["note"].startswith("this round changed nothing")
    assert PublishGate().decide(0.5, 0.5, "r1") == {
        "new": 0.5,
        "serving": 0.5,
        "published": True,
        "note": None,
    }
