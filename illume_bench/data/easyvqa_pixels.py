"""Read an easy-vqa image's colour and shape off its pixels.

Some easy-vqa images have only questions like "is there a red shape? no",
which leave the colour or shape open; the builder fills those gaps here.
"""

from __future__ import annotations

from pathlib import Path

# The exact RGB values easy-vqa paints its shapes with (its "green" is CSS lime).
SHAPE_RGB = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "teal": (0, 128, 128),
    "brown": (165, 42, 42),
    "yellow": (255, 255, 0),
}


def pixel_facts(image_path: str | Path) -> dict[str, str]:
    """The colour and shape read off an easy-vqa image, where they are clear.

    Colour: the one `SHAPE_RGB` value present as exact pixels (the light
    background and the anti-aliased edge never hit one). Shape: from the mask
    of pixels nearer the shape colour than the background, its fill of the
    bounding box (triangle about 0.5, circle about 0.79, rectangle about 1)
    and, for the upward triangles, a top row much narrower than the bottom
    one. A value near a decision boundary is left out. Checked against every
    image whose facts its questions fix (4,466 of 5,000): no disagreement.
    """
    import numpy as np
    from PIL import Image

    with Image.open(image_path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.int64)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    values, counts = np.unique(code, return_counts=True)
    seen = dict(zip(values.tolist(), counts.tolist(), strict=True))
    found = [c for c, (r, g, b) in SHAPE_RGB.items() if seen.get((r << 16) | (g << 8) | b)]
    if len(found) != 1:
        return {}
    colour = found[0]
    out = {"colour": colour}
    r, g, b = SHAPE_RGB[colour]
    others = values != ((r << 16) | (g << 8) | b)
    if seen[(r << 16) | (g << 8) | b] < 4 or not others.any():
        return out
    bg_code = int(values[others][np.argmax(counts[others])])
    fg = np.array(SHAPE_RGB[colour])
    bg = np.array([bg_code >> 16, (bg_code >> 8) & 255, bg_code & 255])
    mask = np.abs(rgb - fg).sum(-1) < np.abs(rgb - bg).sum(-1)
    ys, xs = np.nonzero(mask)
    box = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    if min(box.shape) < 5:
        return out
    fill = float(box.mean())
    top_over_bottom = float(box[0].sum()) / max(float(box[-1].sum()), 1.0)
    if fill < 0.69 and top_over_bottom <= 0.36:
        out["shape"] = "triangle"
    elif 0.72 <= fill <= 0.93 and top_over_bottom > 0.36:
        out["shape"] = "circle"
    elif fill >= 0.945 and top_over_bottom >= 0.7:
        out["shape"] = "rectangle"
    return out
