"""The held-out figures of bench/rounds_that_learn.py on cases with known answers."""

from illume_bench.heldout_figures import figures, paired_ci


def stats(*rows: tuple[int, int, float, int]) -> dict[str, dict]:
    keys = ("n", "accepted", "rouge_top", "fact_errors")
    return {f"item-{i}": dict(zip(keys, row, strict=True)) for i, row in enumerate(rows)}


def test_figures_count_candidates_and_items():
    f = figures(stats((4, 1, 0.5, 2), (4, 0, 0.3, 0)))
    assert f["accepted_share"] == 1 / 8
    assert f["items_with_accepted"] == 0.5
    assert abs(f["rouge_top"] - 0.4) < 1e-9
    assert f["fact_error_rate"] == 2 / 8
    assert f["candidates_per_item"] == 4


def test_paired_interval_of_a_uniform_gain_is_that_gain():
    before = stats(*[(2, 0, 0.2, 0)] * 10)
    after = stats(*[(2, 1, 0.2, 0)] * 10)
    assert paired_ci(before, after, "accepted_share", reps=200) == [0.5, 0.5]
    assert paired_ci(before, before, "accepted_share", reps=200) == [0.0, 0.0]


def test_naming_figures_separate_naming_more_from_getting_it_wrong():
    rows = {"a": {"n": 4, "accepted": 0, "rouge_top": 0.0, "fact_errors": 1, "names_fact": 2}}
    rows["b"] = {"n": 4, "accepted": 0, "rouge_top": 0.0, "fact_errors": 1, "names_fact": 2}
    f = figures(rows)
    assert f["fact_naming_share"] == 4 / 8 and f["wrong_when_named"] == 2 / 4
    assert "wrong_when_named" not in figures(stats((4, 1, 0.5, 2)))  # older reports


def test_the_table_gives_every_arm_but_round_0_its_intervals():
    from illume_bench.heldout_figures import table_of

    before = stats(*[(2, 0, 0.2, 1)] * 5)
    after = stats(*[(2, 1, 0.4, 0)] * 5)
    table = table_of({"r0": before, "r1": after})
    assert "ci_vs_r0" not in table["r0"]
    assert table["r1"]["ci_vs_r0"]["accepted_share"] == [0.5, 0.5]
    assert table["r1"]["ci_vs_r0"]["fact_error_rate"] == [-0.5, -0.5]
