"""The prompt as data, and the text each family renders from it (pinned: sampling and
tuning must keep showing the model exactly the paper's prompt)."""

from __future__ import annotations

from illume.items import Item
from illume.models.prompt import Prompt
from illume.sample import SampleConfig
from illume.tune import TuneConfig, build_examples

ITEM = Item("i0", "img.png", "what is shape 0?", "circle")


def test_plain_text_is_the_papers_prompt():
    assert Prompt("what is shape 0?", "circle").plain() == "Q: what is shape 0? A: circle, because"
    assert Prompt("why?", "yes", "seeing that").plain() == "Q: why? A: yes, seeing that"
    assert Prompt("what is shape 0?").plain() == "Q: what is shape 0? A:"  # VQA (X^A)
    with_context = Prompt("what is it?", "a cat", context="a cat on a sofa")
    assert with_context.plain() == "Context: a cat on a sofa Q: what is it? A: a cat, because"
    assert with_context.user_text() == "Context: a cat on a sofa\nwhat is it?"
    assert (with_context.reply(), Prompt("q?").reply()) == ("a cat, because", "")


def test_sampling_and_tuning_build_the_same_prompt_for_an_item():
    sampled = SampleConfig(explanation_prompts=("seeing that",)).prompts_for(ITEM)
    other = Item("i1", "img.png", "what color is it?", "red")
    exp, vqa, _ = build_examples(
        [(ITEM, "it is round")], [ITEM, other], TuneConfig(explanation_prompt="seeing that")
    )
    assert sampled == [exp[0].prompt] == [Prompt("what is shape 0?", "circle", "seeing that")]
    assert vqa[0].prompt == Prompt("what color is it?")


def test_prefix_families_read_the_plain_text_after_the_image(tiny_model):
    """The embedded model and MAGMA (both PrefixVLM) tokenize exactly the plain prompt."""
    tok = tiny_model.tokenizer
    exp, vqa = SampleConfig().prompts_for(ITEM)[0], Prompt("what is shape 0?")
    want = ["Q: what is shape 0? A: circle, because", "Q: what is shape 0? A:"]
    got = tiny_model.prompt_ids([exp, vqa])
    assert got == [tok(t, add_special_tokens=False).input_ids for t in want]
