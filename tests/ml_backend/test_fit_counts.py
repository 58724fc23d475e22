"""The demo's printout: tasks whose candidates fit their references, photos and shapes apart."""

from ml_backend.testing.fit_counts import describe, fit_summary

REF = "it has whiskers, pointed ears and striped fur"


def task(item_id: str, candidates: list[str], refs: list[str]) -> dict:
    return {
        "item_id": item_id,
        "question": "what animal is this?",
        "answer": "cat",
        "candidates": [{"value": c} for c in candidates],
        "explanations": refs,
    }


def test_fit_summary_counts_tasks_with_a_fitting_candidate_per_group():
    datas = [
        task("demo-chelsea", ["it is a dog", REF], [REF]),
        task("demo-coffee", ["a red car drives by"], [REF]),
        task("evqax-1", ["the shape is a circle"], ["the shape is a round circle"]),
        task("evqax-2", [], ["no candidates yet"]),
        task("demo-none", ["no references"], []),
    ]
    summary = fit_summary(datas)
    assert summary["photos"]["tasks"] == 2 and summary["photos"]["fitting"] == 1
    assert summary["shapes"]["tasks"] == 1 and summary["shapes"]["fitting"] == 1
    assert summary["photos"]["mean_best_rouge"] == 0.5  # one exact match, one with no word shared
    assert "photos: 1/2 tasks" in describe(summary)
