"""bench/tune_bench.py without its data: one clear line, no traceback."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "bench" / "tune_bench.py"


def test_missing_items_say_how_to_build_them(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--items", str(tmp_path / "items.jsonl")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "illume data easy-vqa-x" in proc.stderr
    assert "Traceback" not in proc.stderr
