"""The real embedded model on the bundled demo photos (the issue's acceptance check)."""

import pytest

from illume.cli import main
from illume.data.demo_items import DEMO_ITEMS
from illume.items import read_jsonl

pytestmark = pytest.mark.slow


def test_real_model_gives_ten_distinct_candidates_per_demo_photo(tmp_path):
    out = tmp_path / "demo.jsonl"
    assert main(["sample", "--items", str(DEMO_ITEMS), "--out", str(out)]) == 0
    rows = list(read_jsonl(out))
    assert len(rows) >= 12
    for row in rows:
        assert "error" not in row, row
        texts = {c["text"].strip().lower() for c in row["candidates"]}
        assert len(texts) >= 10 and all(texts), (row["id"], texts)
        assert len({c["temperature"] for c in row["candidates"]}) >= 3
