"""Align the embedded model's image prefix once, MAGMA-style, on weak captions.

MAGMA trains its image prefix on image-caption pairs with the language model
frozen. No captioned photos exist offline, so the captions are weak ones:

- easy-vqa-x *train* images: their facts ("a blue rectangle", ...) in a few wordings;
- real photos (``--photos``: a folder, or ``skimage`` for scikit-image's sample
  images that are *not* among the demo photos): many random crops of each, captioned
  with what the frozen parts say about that crop, the same facts the prompt's text
  context names (context.py: the classifier's confident ImageNet labels and the top
  one's description, dominant colours, brightness, photo or drawing). The prefix
  learns to carry what EfficientNet-Lite0 already knows, on photos as on shapes.

Only the prefix (linear 1280 -> 576 + LayerNorm, 0.7M parameters) is trained;
the result ships in illume/models/embedded/weights/. The 20 demo items are the
evaluation set: their photos are never used here.

    python scripts/pretrain_prefix.py --items data/easy-vqa-x/items.jsonl --steps 150 \
        --photos skimage
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import save_file

from illume.images import open_image
from illume.items import load_items
from illume.models.embedded.context import image_facts, render
from illume.models.embedded.embedded_vlm import DEFAULT_PREFIX_WEIGHTS, EmbeddedConfig, EmbeddedVLM
from illume.models.embedded.encoders import preprocess
from illume_bench.data.demo_items import DEMO_ITEMS

CAPTIONS = (
    "a {colour} {shape}.",
    "a {colour} {shape} on a white background.",
    "an image of a {colour} {shape}.",
    "the picture shows a {colour} {shape}.",
)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff")
MIN_PHOTO_SIDE = 128
"""Smaller images (icons, 25-pixel faces) say too little at 224x224 to caption."""


def caption_batch(model: EmbeddedVLM, feats, captions: list[str]):
    """Embeds, attention mask and labels for [prefix] + caption, loss on the caption only."""
    tok = model.tokenizer
    ids = [tok(c, add_special_tokens=False).input_ids for c in captions]
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


def photo_files(spec: str) -> list[Path]:
    """The alignment photos: a folder's images, or scikit-image's samples; never a demo photo."""
    if spec == "skimage":
        spec = importlib.util.find_spec("skimage")  # located, not imported (it needs scipy & co)
        if spec is None or spec.origin is None:
            raise SystemExit("--photos skimage needs scikit-image (pip install scikit-image)")
        root = Path(spec.origin).parent / "data"
    else:
        root = Path(spec)
    demo = {Path(p).stem for p in (DEMO_ITEMS.parent / "images").iterdir()}
    demo |= {"ihc", "hubble_deep_field"}  # the demo's immunohistochemistry / hubble photos
    files = []
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in PHOTO_SUFFIXES or path.stem in demo:
            continue
        try:
            with Image.open(path) as img:
                big = min(img.size) >= MIN_PHOTO_SIDE
        except OSError:  # a format PIL does not read (multi-page TIFF variants)
            continue
        if big:
            files.append(path)
    return files


def crops(image: Image.Image, n: int, rng: random.Random) -> list[Image.Image]:
    """The whole image and n-1 random crops (30-100% of each side), some mirrored."""
    image = image.convert("RGB")
    out = [image]
    w, h = image.size
    for _ in range(n - 1):
        cw, ch = int(w * rng.uniform(0.3, 1.0)), int(h * rng.uniform(0.3, 1.0))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = image.crop((x, y, x + cw, y + ch))
        out.append(crop.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop)
    return out


@torch.no_grad()
def photo_examples(model: EmbeddedVLM, files: list[Path], per_photo: int, rng: random.Random):
    """(grid features [N, 49, 1280], weak captions) for crops of the photos."""
    feats, captions = [], []
    for path in files:
        views = crops(open_image(str(path)), per_photo, rng)
        for i in range(0, len(views), 32):
            batch = views[i : i + 32]
            grid = model.encoder(preprocess(batch))
            probs = model.encoder.classify(preprocess(batch))
            feats.append(grid)
            for j, view in enumerate(batch):
                captions.append(render(image_facts(view, None if probs is None else probs[j])))
        print(f"  {path.name}: e.g. {captions[-per_photo]!r}", flush=True)
    return torch.cat(feats), captions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", default="data/easy-vqa-x/items.jsonl")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--images", type=int, default=1200, help="easy-vqa-x train images to caption")
    ap.add_argument("--photos", help='a folder of real photos, or "skimage"; none by default')
    ap.add_argument("--crops", type=int, default=48, help="weakly captioned crops per photo")
    ap.add_argument(
        "--photo-share", type=float, default=0.5, help="share of each batch taken from photos"
    )
    ap.add_argument(
        "--init", help='start from these prefix weights ("packaged": the shipped ones), not anew'
    )
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

    model = EmbeddedVLM(EmbeddedConfig(prefix_weights=args.init))
    model.prefix.requires_grad_(True)
    t0 = time.time()
    with torch.no_grad():
        feats = torch.cat(
            [
                model.encoder(preprocess([open_image(p) for p in paths[i : i + 64]]))
                for i in range(0, len(paths), 64)
            ]
        )
    photo_feats, photo_captions = None, []
    if args.photos:
        files = photo_files(args.photos)
        print(f"{len(files)} photos: {', '.join(f.name for f in files)}")
        photo_feats, photo_captions = photo_examples(model, files, args.crops, rng)
    took = time.time() - t0
    print(f"encoded {len(paths)} images and {len(photo_captions)} crops in {took:.0f} s")

    opt = torch.optim.AdamW(model.prefix.parameters(), lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps)
    n_photo = round(args.batch * args.photo_share) if photo_captions else 0
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = rng.sample(range(len(paths)), args.batch - n_photo)
        captions = [rng.choice(CAPTIONS).format(**by_image[paths[i]]) for i in idx]
        batch_feats = feats[idx]
        if n_photo:
            pidx = rng.sample(range(len(photo_captions)), n_photo)
            captions += [photo_captions[i] for i in pidx]
            batch_feats = torch.cat([batch_feats, photo_feats[pidx]])
        embeds, mask, labels = caption_batch(model, batch_feats, captions)
        loss = model.nll_rows(embeds, mask, labels).sum() / (labels != -100).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 5 == 0 or step == 1:
            took = time.time() - t0
            print(f"step {step}/{args.steps} loss {loss.item():.3f} ({took:.0f} s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.prefix.state_dict().items()}
    save_file(state, str(out))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
