import torch
from PIL import Image

from illume.items import Item
from illume.tune import (
    TuneConfig,
    build_examples,
    collate,
    combined_loss,
    count_target_tokens,
    dedupe_explained,
    token_loss_sums,
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
    assert all(ex.kind == "vqa" and ex.prompt.endswith("A:") for ex in vqa)
    assert exp[0].prompt == "Q: what is shape 0? A: circle, because"


def test_x_a_is_capped_by_the_items_left():
    items = _items(5)
    exp, vqa, b = build_examples([(items[0], "round")], items, TuneConfig(vqa_ratio=10))
    assert len(vqa) == 4 and b == 4.0


def test_no_vqa_pool_gives_b_one():
    items = _items(2)
    _, vqa, b = build_examples([(it, "round") for it in items], items, TuneConfig())
    assert vqa == [] and b == 1.0


def test_dedupe_explained_keeps_distinct_texts():
    it = _items(1)[0]
    assert len(dedupe_explained([(it, "a b"), (it, "A  B"), (it, "a c"), (it, " ")])) == 2


def test_masks_cover_only_target_tokens(tiny_model):
    items = _items(3)
    exp, vqa, _ = build_examples([(items[0], "it is round")], items, TuneConfig(vqa_ratio=2))
    examples = exp + vqa
    images = {"img.png": Image.new("RGB", (16, 16), "red")}
    batch = collate(tiny_model, examples, images, TuneConfig())
    tok = tiny_model.tokenizer
    n_prefix = tiny_model.prefix_length
    # explanation row: target tokens + EOS, right after image prefix + prompt
    prompt_len = len(tok(exp[0].prompt, add_special_tokens=False).input_ids)
    target = tok(" it is round", add_special_tokens=False).input_ids + [tok.eos_token_id]
    row = batch.labels[0]
    labelled = (row != -100).nonzero().squeeze(1).tolist()
    assert labelled == list(range(n_prefix + prompt_len, n_prefix + prompt_len + len(target)))
    assert row[labelled].tolist() == target
    # VQA rows: only the answer, no EOS
    vqa_row = batch.labels[1]
    assert tok.decode(vqa_row[vqa_row != -100]).strip() == "circle"
    assert batch.is_exp.tolist() == [True, False, False]
    n_vqa, n_exp = count_target_tokens(tiny_model, examples, TuneConfig())
    assert (n_vqa, n_exp) == ((batch.labels[1:] != -100).sum(), len(target))


def test_loss_sums_match_plain_cross_entropy(tiny_model):
    items = _items(2)
    exp, vqa, b = build_examples([(items[0], "it is round")], items, TuneConfig())
    images = {"img.png": Image.new("RGB", (16, 16), "blue")}
    batch = collate(tiny_model, exp + vqa, images, TuneConfig())
    vqa_sum, exp_sum, n_vqa, n_exp = token_loss_sums(tiny_model, batch)
    logits = tiny_model.lm(inputs_embeds=batch.embeds, attention_mask=batch.attention_mask).logits
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),
        batch.labels[:, 1:].reshape(-1),
        ignore_index=-100,
        reduction="none",
    ).view(2, -1)
    assert torch.allclose(exp_sum, ce[0].sum(), atol=1e-3)
    assert torch.allclose(vqa_sum, ce[1].sum(), atol=1e-3)
    loss = combined_loss(vqa_sum, exp_sum, n_vqa, n_exp, b)
    assert torch.allclose(loss, (vqa_sum + b * exp_sum) / (n_vqa + n_exp))
