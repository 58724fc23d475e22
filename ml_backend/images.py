"""Turn Label Studio image references into something the engine can open.

Task data holds URLs like ``/data/local-files/?d=images/x.png`` or
``/data/upload/3/x.png`` that only make sense relative to Label Studio and
need its credentials. Local files are read from the document root when the
backend runs next to Label Studio; anything else is downloaded once (with the
API token in a header, never in a log line) into a cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import httpx

from illume.images import ImageError

log = logging.getLogger(__name__)

MAX_BYTES = 32 * 1024 * 1024


class ImageResolver:
    """Maps task image references to local paths (or to URLs the engine may fetch)."""

    def __init__(
        self,
        label_studio_url: str,
        auth_headers: Callable[[], dict[str, str]],
        cache_dir: Path,
        local_files_root: str = "",
        timeout: float = 20.0,
    ):
        self.base = label_studio_url.rstrip("/")
        self.auth_headers = auth_headers
        self.cache_dir = cache_dir
        self.root = Path(local_files_root) if local_files_root else None
        self.timeout = timeout

    def resolve(self, ref: str) -> str:
        """A local path or public URL for `ref`; ImageError when it cannot be had."""
        if not ref:
            raise ImageError("task has an empty image reference")
        parsed = urlparse(ref)
        if parsed.path.startswith("/data/local-files") and self.root is not None:
            return str(self._local_file(parsed.query))
        if ref.startswith("/"):
            if Path(ref).is_file():  # a plain absolute path from a hand-written task
                return ref
            return self._download(self.base + ref)
        if ref.startswith(("http://", "https://")):
            if ref.startswith(self.base + "/"):
                return self._download(ref)
            return ref  # a public URL: the engine fetches it
        if ref.startswith(("s3://", "gs://", "azure-blob://")):
            raise ImageError(f"{ref}: cloud storage URLs need Label Studio's presign, unsupported")
        return ref

    def _local_file(self, query: str) -> Path:
        rel = unquote((parse_qs(query).get("d") or [""])[0])
        if not rel:
            raise ImageError("local-files URL without ?d=")
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ImageError(f"{rel}: outside LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
        if not path.is_file():
            raise ImageError(f"{rel}: not found under LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
        return path

    def _download(self, url: str) -> str:
        name = hashlib.sha1(url.encode()).hexdigest()
        cached = self.cache_dir / name
        if cached.is_file():
            return str(cached)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            resp = httpx.get(
                url, headers=self.auth_headers(), timeout=self.timeout, follow_redirects=True
            )
        except httpx.HTTPError as e:
            raise ImageError(f"{_safe(url)}: cannot download ({type(e).__name__})") from e
        if resp.status_code != 200:
            raise ImageError(f"{_safe(url)}: Label Studio answered HTTP {resp.status_code}")
        if len(resp.content) > MAX_BYTES:
            raise ImageError(f"{_safe(url)}: larger than {MAX_BYTES // 2**20} MiB")
        tmp = cached.with_suffix(".part")
        tmp.write_bytes(resp.content)
        tmp.replace(cached)
        log.debug("cached %s", _safe(url))
        return str(cached)


def _safe(url: str) -> str:
    """The URL without a query string that might carry a token."""
    p = urlparse(url)
    return p._replace(query="" if "token" in p.query.lower() else p.query).geturl()
