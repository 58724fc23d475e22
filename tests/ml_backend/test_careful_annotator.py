"""The careful annotator of bench/annotator_demo.py: what it ticks, and a round's counts."""

from illume_bench.critics import CriticConfig, make_critic
from ml_backend.labels import DEFAULT_LABELS, read_annotation
from ml_backend.testing.careful_annotator import annotation_result, judge_open_tasks, round_counts
from tests.ml_backend.annotations import ann

CAT_REF = "it has whiskers, pointed ears and striped fur"


def task(tid, item_id, question, answer, candidates, refs, annotations=(), version="zero-shot"):
    return {
        "id": tid,
        "data": {
            "item_id": item_id,
            "question": question,
            "answer": answer,
            "candidates": [{"value": c} for c in candidates],
            "explanations": refs,
            "candidates_version": version,
        },
        "annotations": list(annotations),
    }


def critics():
    config = CriticConfig()
    return make_critic(config, "annotator"), make_critic(config, "rouge")


def project():
    return [
        # a photo: the annotator ticks what cites two pieces of a reference's evidence
        task(1, "demo-chelsea", "what animal is this?", "cat",
             ["it is a cat", "the cat has long whiskers", "the cat has striped fur", CAT_REF],
             [CAT_REF]),
        # a photo where nothing fits: "none of these fits", still open
        task(2, "demo-coffee", "what drink is in the cup?", "coffee",
             ["it is a cup", "it is a drink"], ["dark liquid with foam in a cup on a saucer"]),
        # a shape judged by its facts: the red circle's "blue" is a wrong fact
        task(3, "evqax-1", "what shape is this?", "circle",
             ["the shape is blue and round circle", "it is a red circle with no corners"],
             ["the shape is a round red circle"]),
        # resolved in an earlier round: not judged again
        task(4, "evqax-2", "what colour is the shape?", "red",
             ["the square is red"], ["the square is red"], [ann(["the square is red"])]),
        # said "none of these fits" before: still open, judged with its new candidates
        task(5, "evqax-3", "what colour is the shape?", "green",
             ["the triangle is green"], ["the triangle is green"],
             [ann([DEFAULT_LABELS.none_fits])], version="v0001"),
    ]  # fmt: skip


FACTS = {
    "evqax-1": {"colour": "red", "shape": "circle"},
    "evqax-2": {"colour": "red", "shape": "square"},
    "evqax-3": {"colour": "green", "shape": "triangle"},
}


def test_the_annotator_ticks_what_fits_and_skips_resolved_tasks():
    judged = {j.task_id: j for j in judge_open_tasks(project(), *critics(), facts=FACTS)}
    assert set(judged) == {1, 2, 3, 5}
    assert judged[1].ticks == ["the cat has striped fur", CAT_REF]
    assert judged[1].rouge_fits == [CAT_REF]
    assert judged[2].ticks == [] and judged[2].group == "photos"
    assert judged[3].ticks == ["it is a red circle with no corners"]
    assert judged[5].ticks == ["the triangle is green"] and judged[5].version == "v0001"


def test_round_counts_per_group():
    tasks = project()
    counts = round_counts(tasks, judge_open_tasks(tasks, *critics(), facts=FACTS))
    photos, shapes = counts["photos"], counts["shapes"]
    assert (photos.tasks, photos.open, photos.offered_fit_annotator) == (2, 2, 1)
    assert (photos.offered_fit_rouge, photos.resolved_this_round, photos.resolved_total) == (
        1,
        1,
        1,
    )
    assert (shapes.tasks, shapes.open, shapes.resolved_this_round) == (3, 2, 2)
    assert shapes.resolved_total == 3  # one from before, two now
    assert shapes.candidate_versions == {"zero-shot": 1, "v0001": 1}
    assert (photos.options_shown, photos.options_fit) == (6, 2)  # 4 + 2 shown, 2 ticked
    assert (shapes.options_shown, shapes.options_fit) == (3, 2)


def test_a_group_function_sets_tasks_apart_for_every_count():
    tasks = project()
    held = {"evqax-3"}  # bench/annotator_demo.py --held-out: judged, never annotated

    def group(data):
        return "held-out" if data["item_id"] in held else "shapes"

    judged = judge_open_tasks(tasks, *critics(), facts=FACTS, group=group)
    assert {j.task_id: j.group for j in judged}[5] == "held-out"
    counts = round_counts(tasks, judged, group=group)
    assert (counts["held-out"].tasks, counts["held-out"].open) == (1, 1)
    assert (counts["held-out"].options_shown, counts["held-out"].options_fit) == (1, 1)
    assert counts["shapes"].tasks == 4


def test_the_annotation_ticks_exactly_the_fitting_ones_or_says_none_fits():
    ticked = read_annotation({"result": annotation_result(["a", "b"])})
    assert ticked.ticked == ["a", "b"] and not ticked.none_fits
    nothing = read_annotation({"result": annotation_result([])})
    assert nothing.none_fits and nothing.fitting == []
