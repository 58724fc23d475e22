"""Time to switch the served version between two projects, with and without the adapter cache.

Loads the model once ($ILLUME_MODEL, default the embedded one), publishes one
version per project (the model's adapters, perturbed differently per project),
then serves the two projects alternately through the backend's ModelHost: with
ILLUME_ADAPTER_CACHE=0 every switch reads the version folder, with the default
cache a switch back copies the kept tensors.

    .venv/bin/python bench/switch_bench.py [--switches 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from illume.versions import latest_version, mark_complete  # noqa: E402
from ml_backend.config import Settings  # noqa: E402
from ml_backend.model_host import ModelHost  # noqa: E402


def publish_versions(host: ModelHost, settings: Settings) -> None:
    import torch

    model = host._model  # noqa: SLF001 (a bench may reach in)
    for project in (1, 2):
        torch.manual_seed(project)
        with torch.no_grad():
            for p in model.trainable_parameters():
                p.add_(0.01 * torch.randn_like(p))
        model.save_version(settings.project_versions(project) / "v0001")
        mark_complete(settings.project_versions(project) / "v0001")
        model.reset_version()


def alternate(host: ModelHost, settings: Settings, n: int) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        host.use_version(latest_version(settings.project_versions(1 + i % 2)))
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--switches", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="illume-switch-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        host = ModelHost(settings)
        started = time.perf_counter()
        if not host.wait_ready():
            raise SystemExit(f"model failed to load: {host.error}")
        print(f"model loaded in {time.perf_counter() - started:.1f} s (once)")
        publish_versions(host, settings)
        size = sum(t.numel() * t.element_size() for t in host._model.trainable_state().values())
        print(f"adapters per version: {size / 2**20:.1f} MiB")
        for cache in (0, settings.adapter_cache or 4):
            host.adapters.size = cache
            host.adapters._states.clear()  # noqa: SLF001
            alternate(host, settings, 2)
            times = alternate(host, settings, args.switches)
            print(
                f"switch between two projects, cache {cache}: "
                f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
            )
        print(f"model loads: {host.model_loads}, version reads: {host.version_loads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
