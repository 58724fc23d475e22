"""Turn Label Studio image references into local files the engine can open.

Task data holds URLs like ``/data/local-files/?d=images/x.png`` or
``/data/upload/3/x.png`` that only make sense relative to Label Studio and
need its credentials. Local files are read from the document root when the
backend runs next to Label Studio; anything else is downloaded once (with the
API token in a header, never in a log line, and only to Label Studio itself)
into a cache. What may be read or fetched is `illume.image_policy`'s rule:
files under the local-files root or ILLUME_IMAGE_ROOTS, URLs to Label Studio
or to the hosts ILLUME_IMAGE_HOSTS allows (public addresses by default).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from illume.image_policy import ImageError, ImagePolicy, origin, safe_url

log = logging.getLogger(__name__)

LABEL_STUDIO_PATHS = ("/data/", "/storage-data/", "/tasks/", "/api/")
"""Paths Label Studio serves files under (uploads, local files, storage proxies)."""


class ImageResolver:
    """Maps task image references to local paths, within the image policy."""

    def __init__(
        self,
        label_studio_url: str,
        auth_headers: Callable[[], dict[str, str]],
        cache_dir: Path,
        local_files_root: str = "",
        timeout: float = 20.0,
        policy: ImagePolicy | None = None,
    ):
        self.base = label_studio_url.rstrip("/")
        self.auth_headers = auth_headers
        self.cache_dir = cache_dir
        self.root = Path(local_files_root) if local_files_root else None
        policy = policy or ImagePolicy.from_env(roots=[local_files_root], timeout=timeout)
        self.policy = replace(
            policy,
            roots=(*(policy.roots or ()), cache_dir),
            trusted_origins=(*policy.trusted_origins, origin(self.base)),
        )

    def resolve(self, ref: str) -> str:
        """A local path for `ref`; ImageError when it cannot be had or is not allowed."""
        if not ref:
            raise ImageError("task has an empty image reference")
        parsed = urlparse(ref)
        if parsed.path.startswith("/data/local-files") and self.root is not None:
            return str(self._local_file(parsed.query))
        if ref.startswith(("http://", "https://")):
            return self._download(ref)
        if ref.startswith(("s3://", "gs://", "azure-blob://")):
            raise ImageError(f"{ref}: cloud storage URLs need Label Studio's presign, unsupported")
        try:
            path = self.policy.check_path(ref)
        except ImageError:
            if ref.startswith(LABEL_STUDIO_PATHS):
                return self._download(self.base + ref)
            raise
        if not path.is_file():
            raise ImageError(f"{ref}: file not found")
        return str(path)

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
        self.policy.check_url(url)  # refused before anything is created or sent
        own = url.startswith(self.base + "/")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".part")
        try:
            with open(tmp, "wb") as sink:
                self.policy.fetch(url, sink, self.auth_headers() if own else None)
            tmp.replace(cached)
        finally:
            tmp.unlink(missing_ok=True)
        log.debug("cached %s", safe_url(url))
        return str(cached)
