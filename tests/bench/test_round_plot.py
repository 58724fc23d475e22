import pytest

from illume_bench.round_plot import GREEDY_METRICS, arms_by_kind, level_interval, plot_reports


def _row(share: float, ci: list[float] | None = None) -> dict:
    row = {"accepted_share": share, "rouge_top": 0.3, "fact_error_rate": 0.2}
    if ci:
        row["ci_vs_r0"] = {"accepted_share": ci}
    return row


TABLE = {
    "r0": _row(0.1),
    "r1": _row(0.4, [0.2, 0.4]),
    "r2-unpublished": _row(0.3, [0.1, 0.3]),
    "r2": _row(0.4, [0.2, 0.4]),
    "control-r2": _row(0.2, [0.0, 0.2]),
    "full-gt": _row(0.45, [0.3, 0.4]),
}


def test_arms_are_sorted_by_kind_and_round():
    kinds = arms_by_kind(TABLE)
    assert sorted(kinds["served"]) == [0, 1, 2]
    assert list(kinds["unpublished"]) == [2] and list(kinds["control"]) == [2]
    assert "full-gt" not in str(kinds)


def test_a_level_interval_is_r0_plus_the_interval_of_the_change():
    assert level_interval(TABLE["r1"], TABLE["r0"], "accepted_share") == pytest.approx((30, 50))
    assert level_interval(TABLE["r1"], TABLE["r0"], "rouge_top") is None  # no interval stored
    assert level_interval(TABLE["r0"], TABLE["r0"], "accepted_share") is None


def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "rounds.png"
    plot_reports({"A": {"table": TABLE}, "B": {"table": {"r0": _row(0.2)}}}, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_greedy_tables_keep_their_interval_under_vs_r0_and_plot_too(tmp_path):
    r0 = {"rouge_top": 0.4, "fact_error_rate": 0.3, "items_with_accepted": 0.1}
    r1 = {**r0, "rouge_top": 0.6, "vs_r0": {"rouge_top": [0.15, 0.25]}}
    assert level_interval(r1, r0, "rouge_top") == pytest.approx((55, 65))
    out = tmp_path / "greedy.png"
    plot_reports({"J": {"table": {"r0": r0, "r1": r1, "full-gt": r0}}}, out, GREEDY_METRICS, "t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
