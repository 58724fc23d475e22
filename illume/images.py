"""Open an item's image from a path or URL, whatever its mode or size.

Every failure becomes an `ImageError` whose message says which image and why,
so a run can record it against the item and go on with the others. Where an
image may come from is `illume.image_policy`'s decision: by default (the
command line) any local file the user named, and URLs only to public hosts
or the ones listed in ILLUME_IMAGE_HOSTS.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from illume.image_policy import ImageError, ImagePolicy

__all__ = ["ImageError", "open_image", "to_rgb"]


def open_image(ref: str, policy: ImagePolicy | None = None) -> Image.Image:
    """Return the image at `ref` (a file path or http(s) URL) as RGB.

    Transparent images are composited on white so a shape drawn on a
    transparent background keeps its colour instead of turning black.
    """
    policy = policy or ImagePolicy.from_env()
    if ref.startswith(("http://", "https://")):
        buf = io.BytesIO()
        policy.fetch(ref, buf)
        data = buf.getvalue()
    else:
        data = policy.read_file(ref)
    try:
        img = Image.open(io.BytesIO(data))
        policy.check_pixels(ref, img)
        img.load()
    except Image.DecompressionBombError as e:
        raise ImageError(policy.bomb_message(ref)) from e
    except (UnidentifiedImageError, OSError) as e:
        raise ImageError(f"{ref}: not a readable image ({e.__class__.__name__})") from e
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")
