"""The bridge to the ILLUME engine: load the model once, sample candidates.

The model is built in a background thread so /setup and /health answer at
once while it loads; every use of the model goes through one lock, so the
background job and a /predict call never sample at the same time.
Nothing here touches tensors: `illume` does the machine learning.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from illume.versions import BASE_VERSION
from ml_backend.config import Settings

log = logging.getLogger(__name__)


class Engine:
    """One model per process (any family: $ILLUME_MODEL), its state, and a sampling lock."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.state = "idle"  # idle -> loading -> ready | failed
        self.error: str | None = None
        self.load_seconds: float | None = None
        self._model: Any = None
        self._sampler: Any = None
        self._version_path: Path | None = None
        self._lock = threading.RLock()
        self._loaded = threading.Event()

    @property
    def version(self) -> str:
        """The model_version shown in Label Studio: the version folder's name."""
        return self._version_path.name if self._version_path else BASE_VERSION

    def start_loading(self) -> None:
        """Build the base model in a daemon thread; requests never wait for it."""
        if self.state != "idle":
            return
        self.state = "loading"
        threading.Thread(target=self._load, name="illume-model-load", daemon=True).start()

    def _load(self) -> None:
        started = time.monotonic()
        try:
            from illume.models import load_model
            from illume.sample import SampleConfig, Sampler

            model = load_model()
            cfg = SampleConfig(
                n_per_temperature=self.settings.n_per_temperature,
                max_new_tokens=self.settings.max_new_tokens,
                batch_items=self.settings.batch_tasks,
            )
            with self._lock:
                self._model = model
                self._sampler = Sampler(model, cfg)
            self.state = "ready"
            self.load_seconds = round(time.monotonic() - started, 2)
            log.info("model loaded in %.1f s", self.load_seconds)
        except Exception as e:  # reported by /health and /status, never raised into a request
            self.state = "failed"
            self.error = f"{type(e).__name__}: {e}"
            log.exception("model failed to load")
        finally:
            self._loaded.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        self.start_loading()
        self._loaded.wait(timeout)
        return self.state == "ready"

    def use_version(self, path: Path | None) -> str:
        """Serve `path`'s adapters (None: the base model). Returns the version name.

        Switching only swaps tuned weights; going back to the base model (another
        project without versions) resets them in place: a large model is never
        built twice in memory.
        """
        if path == self._version_path:
            return self.version
        with self._lock:
            if path is None:
                self._model.reset_version()
            else:
                self._model.load_version(path)
            self._version_path = path
        log.info("now serving model version %s", self.version)
        return self.version

    def sample(self, items: list) -> list:
        """Candidates for engine Items (list of illume.sample.SampledItem), one batch."""
        if not self.wait_ready(timeout=0 if self.state == "failed" else None):
            raise RuntimeError(f"model unavailable: {self.error}")
        with self._lock:
            return self._sampler.sample_items(items)
