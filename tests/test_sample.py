from dataclasses import replace

import torch
from transformers import TemperatureLogitsWarper, TopKLogitsWarper

from illume.items import Candidate, Item, load_items
from illume.models.prompt import Prompt
from illume.sample import SampleConfig, Sampler, clean, deduplicate, draw


def test_draw_matches_hf_top_k_then_temperature():
    torch.manual_seed(0)
    logits = torch.randn(1, 30) * 2
    for temp, k in ((0.6, 5), (0.1, 8), (1.5, 30)):
        ids = torch.zeros(1, 1, dtype=torch.long)
        hf = TemperatureLogitsWarper(temp)(ids, logits.clone())
        hf = TopKLogitsWarper(k)(ids, hf)
        expected = torch.softmax(hf, -1)[0]
        g = torch.Generator().manual_seed(1)
        n = 40000
        rows = logits.expand(n, -1)
        drawn = draw(rows, torch.full((n,), temp), k, g)
        freq = torch.bincount(drawn, minlength=30).float() / n
        assert 0.5 * (freq - expected).abs().sum() < 0.02, (temp, k)
        assert set(drawn.tolist()) <= set(torch.topk(logits[0], k).indices.tolist())


def test_zero_temperature_is_greedy():
    logits = torch.randn(4, 50)
    g = torch.Generator().manual_seed(0)
    out = draw(logits, torch.zeros(4), 5, g)
    assert torch.equal(out, logits.argmax(-1))


def test_clean_cuts_at_sentence_end():
    assert clean(" it is red. And more") == "it is red"
    assert clean("the cat sits\nnext line") == "the cat sits"
    assert clean("  a  b ,") == "a b"


def test_deduplicate_ignores_case_and_space_and_drops_empty():
    cands = [Candidate(t, 0.1, "p", -1.0) for t in ("It is red", "it  is red", "", "blue")]
    assert [c.text for c in deduplicate(cands)] == ["It is red", "blue"]


def test_sampler_gives_candidates_and_per_item_errors(tiny_model, items_file):
    items, errors = load_items(items_file)
    assert [e[0] for e in errors] == ["nofield"]
    cfg = SampleConfig(n_per_temperature=2, max_new_tokens=6, batch_items=3, top_up_rounds=0)
    results = {r.id: r for r in Sampler(tiny_model, cfg).sample(items, progress=False)}
    assert set(results) == {"a", "b", "c", "d", "broken", "missing"}
    assert "not a readable image" in results["broken"].error
    assert "file not found" in results["missing"].error
    for rid in "abcd":
        r = results[rid]
        assert r.error is None and 1 <= len(r.candidates) <= 10
        for c in r.candidates:
            assert c.text and c.temperature in cfg.temperatures
            assert c.prompt.endswith(", because") and c.logprob < 0
        assert len({c.text.lower() for c in r.candidates}) == len(r.candidates)


def test_seeded_runs_are_reproducible(tiny_model, items_file):
    items, _ = load_items(items_file)
    items = items[:2]
    cfg = SampleConfig(n_per_temperature=3, max_new_tokens=5)

    def run(seed):
        s = Sampler(tiny_model, SampleConfig(**{**cfg.__dict__, "seed": seed}))
        return [[c.to_dict() for c in r.candidates] for r in s.sample(items, progress=False)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_several_prompts_and_phrasings():
    item = Item("x", "img.png", "what is he doing?", "running")
    cfg = SampleConfig(
        explanation_prompts=("because", "seeing that"),
        question_templates=("{question}", "what activity is shown?"),
    )
    prompts = cfg.prompts_for(item)
    assert len(prompts) == 4
    assert Prompt("what activity is shown?", "running", "seeing that") in prompts
    assert prompts[0].plain() == "Q: what is he doing? A: running, because"


def test_item_phrasings_are_each_asked_once():
    item = Item.from_dict(
        {
            "id": "x",
            "image": "img.png",
            "question": "what is he doing?",
            "answer": "running",
            "phrasings": "what activity is this?\n\nWhat is he doing?\nwhat is happening?",
        }
    )
    assert item.phrasings == ["what activity is this?", "What is he doing?", "what is happening?"]
    assert item.questions() == ["what is he doing?", "what activity is this?", "what is happening?"]
    prompts = SampleConfig(explanation_prompts=("because", "since")).prompts_for(item)
    assert [p.question for p in prompts[::2]] == item.questions()
    assert "phrasings" not in Item("y", "i", "q", "a").to_dict()


def test_candidates_come_from_every_phrasing_deduplicated(tiny_model, image_dir):
    phrasings = ["what activity is shown?", "what is happening here?"]
    item = Item("act", str(image_dir / "rgb.png"), "what is he doing?", "running")
    item.phrasings = phrasings
    cfg = SampleConfig(n_per_temperature=2, max_new_tokens=6, top_up_rounds=0)
    (result,) = Sampler(tiny_model, cfg).sample([item], progress=False)
    assert result.error is None
    by_phrasing = {}
    for c in result.candidates:
        by_phrasing.setdefault(c.phrasing, []).append(c)
        assert c.prompt.endswith(f"Q: {c.phrasing} A: running, because")  # after any context
    assert set(by_phrasing) == {"what is he doing?", *phrasings}
    keys = [" ".join(c.text.lower().split()) for c in result.candidates]
    assert len(keys) == len(set(keys))  # one candidate per text across all phrasings
    assert len(result.candidates) > len(cfg.temperatures) * cfg.n_per_temperature
    assert result.to_dict()["candidates"][0]["phrasing"] in by_phrasing


def test_top_up_reaches_min_distinct(tiny_model, items_file):
    items, _ = load_items(items_file)
    # raw candidates (rank off): the tiny model's random text is never a rationale
    plain = SampleConfig(n_per_temperature=1, max_new_tokens=6, top_up_rounds=0, rank=False)
    topped = SampleConfig(
        n_per_temperature=1, max_new_tokens=6, min_distinct=8, top_up_rounds=2, rank=False
    )
    few = list(Sampler(tiny_model, plain).sample(items[:2], progress=False))
    more = list(Sampler(tiny_model, topped).sample(items[:2], progress=False))
    for a, b in zip(few, more, strict=True):
        assert len(a.candidates) <= 5
        assert len(b.candidates) >= 8
        assert {c.temperature for c in b.candidates[5:]} <= set(topped.top_up_temperatures)


def test_top_up_climbs_the_ladder_adds_the_other_prompts_and_keeps_to_its_budget(
    tiny_model, items_file
):
    items, _ = load_items(items_file)
    # an unreachable min_distinct: every round tops up until the budget is spent
    cfg = SampleConfig(
        n_per_temperature=1, max_new_tokens=4, min_distinct=1000, rank=False, top_up_budget=8
    )
    sampler = Sampler(tiny_model, cfg)
    assert sampler.top_up_plan(0) == ([0.6, 0.9], ())
    assert sampler.top_up_plan(1) == ([0.9, 1.2], ("since", "seeing that", "as"))
    assert sampler.top_up_plan(7) == ([1.2, 1.5], ("since", "seeing that", "as"))
    (result,) = sampler.sample(items[:1], progress=False)
    # 5 first draws, then 2 (round 0) + 2 x 3 prompts (round 1, the 4th over budget)
    assert sampler.rows_drawn == 5 + 8
    assert {c.prompt.rsplit(", ", 1)[1] for c in result.candidates} <= {
        "because",
        "since",
        "seeing that",
    }
    assert max(c.temperature for c in result.candidates) == 1.2


def test_ranked_candidates_carry_their_score_best_first(tiny_model, items_file):
    from illume.rank import reject

    items, _ = load_items(items_file)
    config = SampleConfig(n_per_temperature=2, max_new_tokens=8)
    raw = list(Sampler(tiny_model, replace(config, rank=False)).sample(items[:2], progress=False))
    ranked = list(Sampler(tiny_model, config).sample(items[:2], progress=False))
    for item, a, b in zip(items[:2], raw, ranked, strict=True):
        ranks = [c.rank for c in b.candidates]
        assert all(r is not None and 0 <= r <= 1 for r in ranks)
        assert ranks == sorted(ranks, reverse=True)
        assert not any(reject(item, c.text) for c in b.candidates)
        assert all(c.rank is None for c in a.candidates)
        assert all(c.prompt.startswith("Context: a ") for c in b.candidates)
