import pytest

from illume.rationales import Rationale, rationale_key, unique, unique_rationales
from illume.versions import BASE_VERSION, version_round


def test_key_ignores_case_and_spacing_only():
    assert rationale_key("  It  has\tWHISKERS ") == "it has whiskers"
    assert rationale_key("it has whiskers.") != rationale_key("it has whiskers")
    assert rationale_key(" \n ") == ""


def test_unique_keeps_the_first_per_item_and_drops_blank_texts():
    pairs = [("a", "It purrs"), ("a", "it  purrs"), ("b", "it purrs"), ("a", " "), ("a", "x")]
    kept = unique(pairs, text=lambda p: p[1], item=lambda p: p[0])
    assert kept == [("a", "It purrs"), ("b", "it purrs"), ("a", "x")]
    assert unique(pairs, text=lambda p: p[1]) == [("a", "It purrs"), ("a", "x")]


def test_records_dedupe_strip_and_round_trip_through_rows():
    rs = [
        Rationale("a", " it purrs ", "annotator", 2, "v0002"),
        Rationale("a", "IT PURRS", "critic", 3, "v0003"),
    ]
    (only,) = unique_rationales(rs)
    assert only == Rationale("a", "it purrs", "annotator", 2, "v0002")
    row = only.to_row()
    assert row["id"] == "a" and row["text"] == "it purrs"  # what the tuning job reads
    assert Rationale.from_row(row) == only
    with pytest.raises(ValueError, match="source"):
        Rationale("a", "t", "typed")


def test_base_version_is_round_zero():
    assert Rationale("a", "t").version == BASE_VERSION
    assert version_round(BASE_VERSION) == 0 and version_round(None) == 0
    assert version_round("v0012") == 12


def test_a_rationale_keeps_the_prompt_it_was_sampled_with_through_its_row():
    r = Rationale("i1", "it is round", question="which shape?", explanation="since")
    row = r.to_row()
    assert row["question"] == "which shape?" and row["explanation"] == "since"
    assert Rationale.from_row(row) == r
    assert "question" not in Rationale("i1", "x").to_row()  # old rows stay as they were


def test_a_candidate_row_keeps_its_prompt_as_a_rationale():
    cand = {
        "text": "it has stripes",
        "model_version": "v0002",
        "phrasing": "why?",
        "explanation": "since",
    }
    r = Rationale.from_candidate(7, cand, 3)
    assert (r.item_id, r.text, r.source, r.round, r.version) == (
        "7",
        "it has stripes",
        "critic",
        3,
        "v0002",
    )
    assert (r.question, r.explanation) == ("why?", "since")
    assert Rationale.from_candidate("a", {"text": "x"}, 0).question is None
