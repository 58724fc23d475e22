"""The model host: load the model once, serve its versions, sample candidates.

The model is built in a background thread so /setup and /health answer at
once while it loads; every use of the model goes through one lock, so the
background job and a /predict call never sample at the same time.
Nothing here touches tensors: `illume` does the machine learning. The
adapter cache holds the model's own `trainable_state()` dicts as opaque
values and hands them back to `load_trainable_state()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from illume.versions import BASE_VERSION
from ml_backend.config import Settings

log = logging.getLogger(__name__)


class AdapterCache:
    """The tuned weights of the most recently served versions, keyed by version folder.

    Several projects share one base model; each serves its own newest version.
    Switching between projects would read the version's adapters from disk
    every time; with the states of the last `size` versions kept in memory a
    switch back only copies tensors. Published versions never change (a round
    publishes a new folder), so an entry never goes stale.
    """

    def __init__(self, size: int):
        self.size = size
        self._states: OrderedDict[str, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(path: Path) -> str:
        return str(Path(path).resolve())

    def get(self, path: Path) -> Any | None:
        state = self._states.get(self.key(path))
        if state is None:
            self.misses += 1
            return None
        self._states.move_to_end(self.key(path))
        self.hits += 1
        return state

    def put(self, path: Path, state: Any) -> None:
        if self.size <= 0:
            return
        self._states[self.key(path)] = state
        self._states.move_to_end(self.key(path))
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def __len__(self) -> int:
        return len(self._states)


class ModelHost:
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
        self.adapters = AdapterCache(settings.adapter_cache)
        self.model_loads = 0
        """Times the base model was built (once per process)."""
        self.version_loads = 0
        """Times a version's adapters were read from disk (the cache's misses)."""
        self.switch_seconds = 0.0

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
            from illume import api
            from illume.models import load_model

            model = load_model()
            self.model_loads += 1
            cfg = self.settings.sample
            with self._lock:
                self._model = model
                self._sampler = api.sampler(model, cfg)
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
        built twice in memory. A version served lately comes from the adapter
        cache (a copy in memory), any other from its folder.
        """
        if path == self._version_path:
            return self.version
        started = time.monotonic()
        with self._lock:
            if path is None:
                self._model.reset_version()
            elif (state := self.adapters.get(path)) is not None:
                self._model.load_trainable_state(state)
                self._model.version = Path(path).name
            else:
                self._model.load_version(path)
                self.version_loads += 1
                self.adapters.put(path, self._model.trainable_state())
            self._version_path = path
        took = time.monotonic() - started
        self.switch_seconds += took
        log.info("now serving model version %s (switched in %.3f s)", self.version, took)
        return self.version

    def cache_stats(self) -> dict[str, Any]:
        """Loads and switches, for /status."""
        return {
            "model_loads": self.model_loads,
            "version_loads": self.version_loads,
            "adapter_cache": {
                "size": self.adapters.size,
                "held": len(self.adapters),
                "hits": self.adapters.hits,
                "misses": self.adapters.misses,
            },
            "switch_seconds": round(self.switch_seconds, 4),
        }

    def sample(self, items: list) -> list:
        """Candidates for engine Items (list of illume.sample.SampledItem), one batch."""
        if not self.wait_ready(timeout=0 if self.state == "failed" else None):
            raise RuntimeError(f"model unavailable: {self.error}")
        with self._lock:
            return self._sampler.sample_items(items)
