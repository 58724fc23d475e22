"""What a round measures about its candidates: distinct candidates per item, before and after."""

from illume_bench.report import distinct_table
from illume_bench.round_stats import distinct_counts, diversity


def _rows(counts: dict[str, int]) -> list[dict]:
    return [
        {"id": i, "candidates": [{"text": f"t{k}"} for k in range(n)]} for i, n in counts.items()
    ]


def test_distinct_counts_skip_failed_items_and_count_those_under_the_minimum():
    rows = _rows({"a": 12, "b": 3, "c": 10}) + [{"id": "x", "error": "unreadable image"}]
    assert distinct_counts(rows, 10) == {"items": 3, "mean": 8.33, "min": 3, "under_min": 1}
    assert distinct_counts([{"id": "x", "error": "e"}], 10) is None


def test_before_is_the_previous_round_on_the_same_items():
    previous = _rows({"a": 20, "b": 14, "resolved": 2})
    d = diversity(_rows({"a": 2, "b": 11}), previous, 10)
    assert d["before"] == {"items": 2, "mean": 17.0, "min": 14, "under_min": 0}
    assert d["after"] == {"items": 2, "mean": 6.5, "min": 2, "under_min": 1}
    assert diversity(_rows({"a": 2}), None, 10)["before"] is None  # round 0


def test_the_report_shows_before_and_after_per_round():
    rounds = [
        {"round": 0, "distinct": diversity(_rows({"a": 20, "b": 14}), None, 10)},
        {"round": 1, "distinct": diversity(_rows({"a": 2}), _rows({"a": 20, "b": 14}), 10)},
        {"round": 2},  # a report written before this field existed
    ]
    lines = distinct_table(rounds).splitlines()
    assert lines[0].startswith("| round | items | before: mean | after: mean")
    assert lines[2] == "| 0 | 2 | - | 17.0 | 14 | 0 (< 10) |"
    assert lines[3] == "| 1 | 1 | 20.0 | 2.0 | 2 | 1 (< 10) |"
    assert len(lines) == 4
    assert distinct_table([{"round": 0}]) == ""
