"""Several projects on one backend: one base model, each project's version, a cache of adapters."""

from __future__ import annotations

import time

import pytest
import torch

import illume.models
from illume.versions import latest_version, mark_complete
from ml_backend.config import Settings
from ml_backend.model_host import AdapterCache, ModelHost


def test_the_cache_keeps_the_most_recent_versions(tmp_path):
    cache = AdapterCache(2)
    for name in ("a", "b", "c"):
        cache.put(tmp_path / name, name)
    assert cache.get(tmp_path / "a") is None and cache.get(tmp_path / "b") == "b"
    cache.put(tmp_path / "d", "d")  # "b" was used last: "c" goes
    assert cache.get(tmp_path / "c") is None and cache.get(tmp_path / "b") == "b"
    assert (cache.hits, cache.misses, len(cache)) == (2, 2, 2)
    AdapterCache(0).put(tmp_path / "a", "a")  # size 0: nothing is held


@pytest.fixture
def two_projects(tiny_lm_dir, tmp_path, monkeypatch):
    """Settings for two projects with one published version each, and a counted model loader."""
    from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM

    def build():
        cfg = EmbeddedConfig(lm=str(tiny_lm_dir), encoder="tiny", prefix_weights=None)
        return EmbeddedVLM(cfg)

    settings = Settings(data_dir=tmp_path / "backend")
    maker = build()
    for project, seed in ((1, 1), (2, 2)):
        torch.manual_seed(seed)
        with torch.no_grad():
            for p in maker.trainable_parameters():
                p.add_(torch.randn_like(p))
        maker.save_version(settings.project_versions(project) / "v0001")
        mark_complete(settings.project_versions(project) / "v0001")
        maker.reset_version()
    loads = []
    monkeypatch.setattr(illume.models, "load_model", lambda: loads.append(1) or build())
    return settings, loads


def tuned(host: ModelHost) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in host._model.trainable_state().items()}


def serve_alternately(settings: Settings, host: ModelHost, switches: int) -> list[float]:
    times = []
    for i in range(switches):
        project = 1 + i % 2
        started = time.perf_counter()
        host.use_version(latest_version(settings.project_versions(project)))
        times.append(time.perf_counter() - started)
    return times


def test_two_projects_alternately_load_the_model_once(two_projects):
    settings, loads = two_projects
    host = ModelHost(settings)
    assert host.wait_ready(timeout=120), host.error
    seen = {}
    for project in (1, 2):
        host.use_version(latest_version(settings.project_versions(project)))
        seen[project] = tuned(host)
    assert any(not torch.equal(seen[1][k], seen[2][k]) for k in seen[1])  # they differ

    serve_alternately(settings, host, 6)
    assert loads == [1] and host.model_loads == 1
    assert host.version_loads == 2  # each version read from disk once
    assert host.adapters.hits == 6
    # what the cache put back is exactly the project's version, also after the base model
    host.use_version(None)
    host.use_version(latest_version(settings.project_versions(1)))
    assert all(torch.equal(v, seen[1][k]) for k, v in tuned(host).items())
    assert host.version == "v0001" and host._model.version == "v0001"
    assert host.cache_stats()["adapter_cache"]["held"] == 2


def test_switch_time_with_and_without_the_cache(two_projects):
    """Prints both figures; the cached switch must not be slower than a read from disk."""
    settings, _ = two_projects
    figures = {}
    for size in (0, 4):
        settings.adapter_cache = size
        host = ModelHost(settings)
        assert host.wait_ready(timeout=120), host.error
        serve_alternately(settings, host, 2)  # warm up: both versions read once
        times = serve_alternately(settings, host, 20)
        figures[size] = sorted(times)[len(times) // 2]
        assert host.version_loads == (22 if size == 0 else 2)
    print(
        f"\nswitch between two projects (tiny model, median of 20): "
        f"without cache {figures[0] * 1e3:.2f} ms, with cache {figures[4] * 1e3:.2f} ms"
    )
    assert figures[4] <= figures[0] * 1.5
