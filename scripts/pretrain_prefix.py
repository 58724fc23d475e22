"""Align the embedded model's image prefix once, MAGMA-style, on captions.

MAGMA trains its image prefix on image-caption pairs with the language model
frozen. We have no captioned photos offline, so the captions come from the
easy-vqa-x *train* images' facts ("a blue rectangle", ...) in a few
wordings. Only the prefix (linear 1280 -> 576 + LayerNorm, 0.7M parameters)
is trained; the result ships in illume/models/embedded/weights/.

    python scripts/pretrain_prefix.py --items data/easy-vqa-x/items.jsonl --steps 150
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from illume.images import open_image
from illume.items import load_items
from illume.models.embedded.encoders import preprocess
from illume.models.embedded.model import DEFAULT_PREFIX_WEIGHTS, EmbeddedConfig, EmbeddedVLM

CAPTIONS = (
    "a {colour} {shape}.",
    "a {colour} {shape} on a white background.",
    "an image of a {colour} {shape}.",
    "the picture shows a {colour} {shape}.",
)


def caption_batch(model: EmbeddedVLM, feats, facts, rng: random.Random):
    """Embeds, attention mask and labels for [prefix] + caption, loss on the caption only."""
    tok = model.tokenizer
    ids = [tok(rng.choice(CAPTIONS).format(**f), add_special_tokens=False).input_ids for f in facts]
    prefix = model.prefix(feats)
    emb = model.lm.get_input_embeddings()
    length = prefix.shape[1] + max(len(i) for i in ids)
    embeds = prefix.new_zeros(len(ids), length, prefix.shape[2])
    mask = torch.zeros(len(ids), length, dtype=torch.long)
    labels = torch.full((len(ids), length), -100, dtype=torch.long)
    for r, row_ids in enumerate(ids):
        t = torch.tensor(row_ids)
        end = prefix.shape[1] + len(row_ids)
        embeds[r, : prefix.shape[1]] = prefix[r]
        embeds[r, prefix.shape[1] : end] = emb(t)
        mask[r, :end] = 1
        labels[r, prefix.shape[1] : end] = t
    return embeds, mask, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", default="data/easy-vqa-x/items.jsonl")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--images", type=int, default=1200, help="train images to caption")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(DEFAULT_PREFIX_WEIGHTS))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    items, _ = load_items(args.items, split="train")
    by_image = {
        it.image: it.facts for it in items if it.facts.get("colour") and it.facts.get("shape")
    }
    paths = sorted(by_image)
    paths = random.Random(args.seed).sample(paths, min(args.images, len(paths)))
    print(f"{len(paths)} train images with facts, {len(by_image)} available")

    model = EmbeddedVLM(EmbeddedConfig(prefix_weights=None))
    model.prefix.requires_grad_(True)
    t0 = time.time()
    with torch.no_grad():
        feats = torch.cat(
            [
                model.encoder(preprocess([open_image(p) for p in paths[i : i + 64]]))
                for i in range(0, len(paths), 64)
            ]
        )
    print(f"encoded {len(paths)} images in {time.time() - t0:.0f} s")

    opt = torch.optim.AdamW(model.prefix.parameters(), lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = rng.sample(range(len(paths)), args.batch)
        embeds, mask, labels = caption_batch(
            model, feats[idx], [by_image[paths[i]] for i in idx], rng
        )
        loss = model.nll_rows(embeds, mask, labels).sum() / (labels != -100).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0 or step == 1:
            print(f"step {step}/{args.steps} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.prefix.state_dict().items()}
    save_file(state, str(out))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
