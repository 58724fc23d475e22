"""Build illume_bench/data/demo/images/ from the sample photos that Python packages ship.

The sources are the sample images bundled inside scikit-image (skimage.data),
scikit-learn (sklearn.datasets.load_sample_image) and matplotlib
(matplotlib.cbook.get_sample_data). None of these packages is a dependency of
ILLUME: run this script from a throwaway environment, e.g.

    venv=$(mktemp -d)/venv && python3 -m venv "$venv"
    "$venv/bin/pip" install scikit-image scikit-learn matplotlib pillow
    "$venv/bin/python" scripts/make_demo_photos.py

Every photo is resized so that its longer side is at most 512 px and written
as a JPEG (quality 85). Grayscale sources stay grayscale. The files read here
are all inside the installed packages; nothing is downloaded. Licences and
attributions are listed in illume_bench/data/demo/README.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

MAX_SIDE = 512
QUALITY = 85
OUT_DIR = Path(__file__).resolve().parent.parent / "illume_bench" / "data" / "demo" / "images"


def _skimage(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        import skimage.data

        return Image.fromarray(np.asarray(getattr(skimage.data, name)()))

    return load


def _sklearn(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(name))

    return load


def _matplotlib(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from matplotlib import cbook

        with cbook.get_sample_data(name) as f:
            im = Image.open(f)
            im.load()
            return im

    return load


# output stem -> loader. The stems are the names items.jsonl refers to.
SOURCES: dict[str, Callable[[], Image.Image]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "camera": _skimage("camera"),  # grayscale
    "coins": _skimage("coins"),  # grayscale
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "retina": _skimage("retina"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "brick": _skimage("brick"),  # grayscale
    "gravel": _skimage("gravel"),  # grayscale
    "text": _skimage("text"),  # grayscale
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
    "grace_hopper": _matplotlib("grace_hopper.jpg"),
}


def convert(im: Image.Image) -> Image.Image:
    """Grayscale stays L, everything else becomes RGB; longer side <= MAX_SIDE."""
    im = im.convert("L") if im.mode in ("L", "I", "I;16", "F", "1") else im.convert("RGB")
    if max(im.size) > MAX_SIDE:
        scale = MAX_SIDE / max(im.size)
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS)
    return im


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for stem, load in SOURCES.items():
        im = convert(load())
        path = args.out / f"{stem}.jpg"
        im.save(path, "JPEG", quality=QUALITY, optimize=True)
        size = path.stat().st_size
        total += size
        print(f"{path.name:28s} {im.mode:3s} {im.width}x{im.height}  {size / 1024:6.1f} KiB")
    print(f"{len(SOURCES)} images, {total / 1024:.1f} KiB in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
