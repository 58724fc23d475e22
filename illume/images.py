"""Open an item's image from a path or URL, whatever its mode or size.

Every failure becomes an `ImageError` whose message says which image and why,
so a run can record it against the item and go on with the others.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024
URL_TIMEOUT_S = 20


class ImageError(ValueError):
    """An image that cannot be opened; the message names the image and the cause."""


def open_image(ref: str) -> Image.Image:
    """Return the image at `ref` (a file path or http(s) URL) as RGB.

    Transparent images are composited on white so a shape drawn on a
    transparent background keeps its colour instead of turning black.
    """
    data = _read_url(ref) if ref.startswith(("http://", "https://")) else _read_file(ref)
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ImageError(f"{ref}: not a readable image ({e.__class__.__name__})") from e
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _read_file(ref: str) -> bytes:
    path = Path(ref)
    if not path.exists():
        raise ImageError(f"{ref}: file not found")
    if not path.is_file():
        raise ImageError(f"{ref}: not a file")
    return path.read_bytes()


def _read_url(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as resp:
            ctype = resp.headers.get("Content-Type", "")
            if ctype and not ctype.startswith("image/") and "octet-stream" not in ctype:
                raise ImageError(f"{url}: not an image (Content-Type {ctype})")
            data = resp.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.URLError as e:
        raise ImageError(f"{url}: cannot download ({e.reason})") from e
    except (TimeoutError, OSError) as e:
        raise ImageError(f"{url}: cannot download ({e})") from e
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ImageError(f"{url}: larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB")
    return data
