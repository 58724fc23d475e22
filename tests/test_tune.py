import torch
from PIL import Image

from illume.items import Item
from illume.tune import (
    TuneConfig,
    build_examples,
    combined_loss,
    count_target_tokens,
    dedupe_rationales,
    epochs_for,
    loss_sums,
    target_ids,
)


def _items(n, image="img.png"):
    return [
        Item(f"i{k}", image, f"what is shape {k}?", "circle", ["it is round"]) for k in range(n)
    ]


def test_b_is_vqa_over_explanations_and_x_a_avoids_explained_items():
    items = _items(50)
    explained = [
        (items[0], "it is round"),
        (items[1], "it has no corners"),
        (items[1], "It  has no corners"),
    ]
    exp, vqa, b = build_examples(explained, items, TuneConfig(vqa_ratio=10))
    assert len(exp) == 2  # the repeat is dropped
    assert len(vqa) == 20 and b == 10.0
    assert not {ex.item.id for ex in vqa} & {"i0", "i1"}
    assert all(ex.kind == "vqa" and ex.prompt.plain().endswith("A:") for ex in vqa)
    assert exp[0].prompt.plain() == "Q: what is shape 0? A: circle, because"


def test_x_a_is_capped_by_the_items_left():
    items = _items(5)
    exp, vqa, b = build_examples([(items[0], "round")], items, TuneConfig(vqa_ratio=10))
    assert len(vqa) == 4 and b == 4.0


def test_no_vqa_pool_gives_b_one():
    items = _items(2)
    _, vqa, b = build_examples([(it, "round") for it in items], items, TuneConfig())
    assert vqa == [] and b == 1.0


def test_dedupe_rationales_keeps_distinct_texts():
    it = _items(1)[0]
    assert len(dedupe_rationales([(it, "a b"), (it, "A  B"), (it, "a c"), (it, " ")])) == 2


def test_masks_cover_only_target_tokens(tiny_model):
    items = _items(3)
    config = TuneConfig(vqa_ratio=2)
    exp, vqa, _ = build_examples([(items[0], "it is round")], items, config)
    examples = exp + vqa
    image = Image.new("RGB", (16, 16), "red")
    targets = target_ids(tiny_model.tokenizer, examples, config)
    _, _, labels = tiny_model.training_batch(
        [image] * len(examples), [ex.prompt for ex in examples], targets
    )
    tok = tiny_model.tokenizer
    n_prefix = tiny_model.prefix_length
    # explanation row: target tokens + EOS, right after image prefix + prompt
    (read,) = tiny_model.contextualize([image], [exp[0].prompt])  # with the image context
    prompt_len = len(tok(read.plain(), add_special_tokens=False).input_ids)
    target = tok(" it is round", add_special_tokens=False).input_ids + [tok.eos_token_id]
    row = labels[0]
    labelled = (row != -100).nonzero().squeeze(1).tolist()
    assert labelled == list(range(n_prefix + prompt_len, n_prefix + prompt_len + len(target)))
    assert row[labelled].tolist() == target
    # VQA rows: only the answer, no EOS
    vqa_row = labels[1]
    assert tok.decode(vqa_row[vqa_row != -100]).strip() == "circle"
    n_vqa, n_exp = count_target_tokens(tiny_model, examples, config)
    assert (n_vqa, n_exp) == ((labels[1:] != -100).sum(), len(target))


def test_loss_sums_match_plain_cross_entropy(tiny_model):
    items = _items(2)
    config = TuneConfig()
    exp, vqa, b = build_examples([(items[0], "it is round")], items, config)
    images = {"img.png": Image.new("RGB", (16, 16), "blue")}
    vqa_sum, exp_sum, n_positions = loss_sums(tiny_model, exp + vqa, images, config)
    embeds, mask, labels = tiny_model.training_batch(
        [images["img.png"]] * 2,
        [ex.prompt for ex in exp + vqa],
        target_ids(tiny_model.tokenizer, exp + vqa, config),
    )
    assert n_positions == int(mask.sum())
    logits = tiny_model.lm(inputs_embeds=embeds, attention_mask=mask).logits
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
        reduction="none",
    ).view(2, -1)
    assert torch.allclose(exp_sum, ce[0].sum(), atol=1e-3)
    assert torch.allclose(vqa_sum, ce[1].sum(), atol=1e-3)
    n_vqa, n_exp = count_target_tokens(tiny_model, exp + vqa, config)
    loss = combined_loss(vqa_sum, exp_sum, n_vqa, n_exp, b)
    assert torch.allclose(loss, (vqa_sum + b * exp_sum) / (n_vqa + n_exp))


def test_the_collapse_guard_runs_fewer_epochs_on_a_tiny_x_e():
    config = TuneConfig(steps=0, epochs=3, min_rationales_per_epoch=16)
    assert [epochs_for(config, n) for n in (1, 2, 10, 11, 16, 500)] == [1, 1, 1, 2, 3, 3]
    assert epochs_for(config, 0) == 3  # dpo alone: no X^E to guard
    assert epochs_for(TuneConfig(steps=0, epochs=3, min_rationales_per_epoch=0), 2) == 3  # off


def test_a_rationale_is_tuned_under_the_prompt_it_was_sampled_with():
    from illume.models.prompt import Prompt

    items = _items(3)
    sampled = Prompt("which shape is this?", "ignored", "since")
    exp, _, _ = build_examples(
        [(items[0], "it is round", sampled), (items[1], "no corners", None)], items, TuneConfig()
    )
    assert exp[0].prompt.plain() == "Q: which shape is this? A: circle, since"
    assert exp[1].prompt.plain() == "Q: what is shape 1? A: circle, because"


def test_x_a_shortfall_is_recorded_and_the_pool_takes_several_splits():
    from dataclasses import replace

    from illume.tune import xa_shortfall

    assert xa_shortfall(TuneConfig(vqa_ratio=10), 2, 20) is None
    short = xa_shortfall(TuneConfig(vqa_ratio=10), 3, 4)
    assert short["wanted"] == 30 and short["drawn"] == 4 and "b = 1.33" in short["note"]
    config = TuneConfig(train_split="train,pool")
    item = _items(1)[0]
    assert config.in_pool(item) and config.in_pool(replace(item, split="pool"))
    assert not config.in_pool(replace(item, split="dev"))


def test_a_round_waits_for_enough_distinct_rationales_over_enough_items():
    from illume.tune import waiting_reason

    config = TuneConfig(min_rationales=3, min_items=2)
    same = [("a", "it is red"), ("a", "It is  red"), ("b", "it is red")]
    assert "2 distinct over 2 items" in waiting_reason(same, config)
    assert waiting_reason([*same, ("b", "the shape is red")], config) is None
    one_item = [("a", "x y"), ("a", "x z"), ("a", "y z")]
    assert "over 1 items" in waiting_reason(one_item, config)


def test_dev_rationales_are_held_out_by_image():
    from illume.tune import split_dev

    items = [Item(f"i{k}", f"img{k // 2}.png", "q?", "a") for k in range(10)]
    explained = [(it, "text") for it in items]
    train, dev = split_dev(explained, TuneConfig(dev_share=0.2))
    assert len(dev) == 2 and len(train) == 8  # one of five images, both of its items
    assert not {r[0].image for r in train} & {r[0].image for r in dev}
    assert split_dev(explained, TuneConfig(select_by="rouge")) == (explained, [])
