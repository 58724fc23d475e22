"""The paper's test measure on stored versions: greedy texts judged and compared per item."""

from illume.critique import RougeCritic
from illume.items import Item, load_items
from illume_bench.critics import make_critic
from illume_bench.critics.config import CriticConfig
from illume_bench.greedy_test import compare, greedy_texts, judged_rows
from illume_bench.heldout_figures import figures, item_stats

FACTS = {"colour": "blue", "shape": "triangle"}


def _items(n: int) -> list[Item]:
    return [
        Item(
            id=str(i),
            image="x.png",
            question="what shape is in the image?",
            answer="triangle",
            explanations=["it has three corners and three straight sides"],
            facts=FACTS,
        )
        for i in range(n)
    ]


def test_each_item_is_one_candidate_judged_and_a_failed_one_counts_as_nothing():
    items = _items(3)
    texts = {"0": "it has three corners and three straight sides", "1": "it is a red circle"}
    rows = judged_rows(items, texts, make_critic(CriticConfig(kind="annotator")))
    assert [len(r["candidates"]) for r in rows] == [1, 1, 0]
    assert rows[0]["candidates"][0]["fitting"] and not rows[1]["candidates"][0]["fitting"]
    rouge = RougeCritic()
    f = figures(item_stats({it.id: it for it in items}, rouge, rows))
    assert f["items_with_accepted"] == 1 / 3
    assert f["fact_error_rate"] == 1 / 2  # "red circle" for a blue triangle; item 2 has no text
    low = rouge.score_text("it is a red circle", items[1].explanations)
    assert f["rouge_top"] == (1.0 + low + 0.0) / 3  # the missing text scores 0


def test_the_paired_interval_sees_a_gain_on_every_item():
    items = _items(40)
    critic, rouge = make_critic(CriticConfig(kind="annotator")), RougeCritic()
    by_id = {it.id: it for it in items}
    good = {it.id: "it has three corners and three straight sides" for it in items}
    bad = {it.id: "the image is a picture" for it in items}
    stats = {
        "r0": item_stats(by_id, rouge, judged_rows(items, bad, critic)),
        "r1": item_stats(by_id, rouge, judged_rows(items, good, critic)),
    }
    ci = compare(stats, "r1", "r0", ("rouge_top", "items_with_accepted"))
    assert ci["items_with_accepted"] == [1.0, 1.0]
    assert ci["rouge_top"][0] > 0.5


def test_greedy_texts_decode_each_version_once_and_then_read_the_cache(
    tiny_model, items_file, tmp_path
):
    items = [it for it in load_items(items_file)[0] if it.id in {"a", "b"}]
    cache = tmp_path / "greedy-r0.jsonl"
    loads = []

    def load():
        loads.append(1)
        return tiny_model

    texts = greedy_texts(load, None, items, "because", cache)
    assert set(texts) == {"a", "b"} and cache.exists()
    cache.write_text('{"id": "a", "text": "from the cache"}\n')
    assert greedy_texts(load, None, items, "because", cache) == {"a": "from the cache"}
    assert len(loads) == 1  # a cache hit needs no model
