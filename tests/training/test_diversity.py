"""After a round tuned on two near-identical rationales, the sampler's top-up still gives
every unresolved item at least 10 distinct candidates that pass the rank filter
(issue 11 item 5).

The tiny model here writes words: its output layer scores 3,000 English word tokens
(random rows) and nothing else (zero rows), so its jabber is word salad that
`illume.rank` keeps when it has three content words and no repeats, and a round
of tuning can visibly narrow it. The round runs in-process (`trainer.fit` with a
plain AdamW engine, as in test_learning.py), without the collapse guard: the worst case.
"""

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from illume.items import Item
from illume.sample import SampleConfig, Sampler
from illume.tune import TuneConfig, build_examples
from tests.tiny_lm import copy_tokenizer, tiny_llama_config
from tests.training.test_learning import AdamWEngine
from training import trainer

N_WORDS = 3000


def build_wordy_lm(out: Path) -> Path:
    """A 2-layer Llama with SmolLM2's tokenizer whose output layer knows only words."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    copy_tokenizer(out)
    vocab = AutoTokenizer.from_pretrained(out).get_vocab()
    words = sorted(  # "Ġword": a lower-case word of 4+ letters after a space
        i
        for t, i in vocab.items()
        if t[0] == "\u0120" and t[1:].isalpha() and t[1:].islower()
        if len(t) >= 5
    )[:N_WORDS]
    config = tiny_llama_config(tie_word_embeddings=False)
    torch.manual_seed(0)
    lm = LlamaForCausalLM(config)
    with torch.no_grad():
        head = torch.zeros_like(lm.lm_head.weight)
        head[words] = 0.5 * torch.randn(len(words), config.hidden_size)
        lm.lm_head.weight.copy_(head)
    lm.save_pretrained(out)
    return out


def tune_on_two(model, items: list[Item], config: TuneConfig):
    """The round: two near-identical rationales for the first item, in-process."""
    tuned_on = [(items[0], "it is a red circle"), (items[0], "it's a red circle")]
    exp, vqa, b = build_examples(tuned_on, items, config)
    return trainer.fit(
        AdamWEngine(model, config.lr), model, exp, vqa, b, [], config, progress=False
    )


@pytest.fixture(scope="module")
def wordy_lm_dir(tmp_path_factory):
    return build_wordy_lm(tmp_path_factory.mktemp("wordy-lm"))


@pytest.fixture
def items(tmp_path):
    Image.new("RGB", (16, 16), "red").save(tmp_path / "red.png")
    image = str(tmp_path / "red.png")
    shapes = ["circle", "square", "triangle", "circle"]
    return [Item(f"i{k}", image, f"what shape is item {k}?", s) for k, s in enumerate(shapes)]


def test_unresolved_items_keep_ten_distinct_candidates_after_a_round_on_two_rationales(
    wordy_lm_dir, items
):
    from illume.models.embedded.model import EmbeddedConfig, EmbeddedVLM

    torch.manual_seed(0)
    model = EmbeddedVLM(
        EmbeddedConfig(
            lm=str(wordy_lm_dir), encoder="tiny", prefix_weights=None, image_context=False
        )
    )
    config = TuneConfig(epochs=3, batch_size=2, lr=3e-2, vqa_ratio=0, min_rationales_per_epoch=0)
    tune_on_two(model, items, config)

    unresolved = items[1:]
    sample = SampleConfig(n_per_temperature=1, max_new_tokens=6)
    bare = list(Sampler(model, replace(sample, top_up_rounds=0)).sample(unresolved, False))
    sampler = Sampler(model, sample)
    topped = list(sampler.sample(unresolved, progress=False))
    # measured: 2-3 kept without a top-up, 6-7 with the old one (2 rounds at 0.6/0.9), 12-13 now
    assert min(len(r.candidates) for r in bare) < sample.min_distinct
    for r in topped:
        texts = [c.text for c in r.candidates]
        assert len(set(texts)) == len(texts) >= sample.min_distinct
    assert sampler.rows_drawn <= len(unresolved) * (5 + sample.top_up_budget)  # 5 x 1 first
