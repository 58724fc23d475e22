"""`illume import` without a server: items JSONL or images + CSV -> task rows and image URLs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ml_backend.import_items import ImportError_, prepare, read_items
from ml_backend.tasks import REFERENCES, references

DEMO = Path(__file__).resolve().parents[2] / "illume_bench" / "data" / "demo" / "images"


def write_items(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_items_outside_the_root_are_copied_below_it_and_keep_their_references(tmp_path):
    src = tmp_path / "team"
    src.mkdir()
    shutil.copy(DEMO / "chelsea.jpg", src / "cat.jpg")
    items = write_items(
        src / "items.jsonl",
        [
            {"id": "c1", "image": "cat.jpg", "question": "what animal?", "answer": "cat",
             "explanations": ["it has whiskers"], "split": "val"},
            {"id": "web", "image": "https://example.org/x.png", "question": "q?", "answer": "a"},
            {"id": "gone", "image": "missing.jpg", "question": "q?", "answer": "a"},
        ],
    )  # fmt: skip
    root = tmp_path / "root"
    root.mkdir()
    got = prepare(read_items(str(items))[0], root, copy_to="team")
    rows = {r["item_id"]: r for r in got.rows}
    assert rows["c1"]["image"] == "/data/local-files/?d=team/cat.jpg"
    assert (root / "team" / "cat.jpg").read_bytes() == (src / "cat.jpg").read_bytes()
    assert references(rows["c1"]) == ["it has whiskers"] and REFERENCES == "explanations"
    assert rows["c1"]["candidates"] == [] and rows["c1"]["split"] == "val"
    assert rows["web"]["image"] == "https://example.org/x.png"
    assert got.folders == {"team"}
    assert [rid for rid, _ in got.refused] == ["gone"]
    assert "not found" in got.refused[0][1]


def test_a_local_image_outside_the_root_is_refused_without_copy(tmp_path):
    shutil.copy(DEMO / "coffee.jpg", tmp_path / "coffee.jpg")
    items = write_items(
        tmp_path / "i.jsonl",
        [{"id": "a", "image": "coffee.jpg", "question": "q?", "answer": "a"}],
    )
    got = prepare(read_items(str(items))[0], tmp_path / "elsewhere")
    assert not got.rows and "--copy-images" in got.refused[0][1]
    with pytest.raises(ImportError_, match="LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"):
        prepare(read_items(str(items))[0], None, copy_to="x")


def test_a_different_file_of_the_same_name_gets_its_own_name(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, photo in ((a, "chelsea.jpg"), (b, "coffee.jpg")):
        d.mkdir()
        shutil.copy(DEMO / photo, d / "x.jpg")
    rows = [
        {"id": "1", "image": str(a / "x.jpg"), "question": "q?", "answer": "a"},
        {"id": "2", "image": str(b / "x.jpg"), "question": "q?", "answer": "a"},
    ]
    items, _ = read_items(str(write_items(tmp_path / "i.jsonl", rows)))
    got = prepare(items, tmp_path / "root", copy_to="imgs")
    urls = [r["image"] for r in got.rows]
    assert urls[0].endswith("imgs/x.jpg") and urls[1] != urls[0]


def test_csv_rows_become_items_with_their_references(tmp_path):
    shutil.copy(DEMO / "rocket.jpg", tmp_path / "rocket.jpg")
    (tmp_path / "q.csv").write_text(
        "image,question,answer,explanation 1,explanation 2,split\n"
        'rocket.jpg,what is about to launch?,a rocket,"it stands on a pad",,test\n'
        "rocket.jpg,,no question,,,\n"
    )
    items, errors = read_items(None, str(tmp_path), str(tmp_path / "q.csv"))
    assert len(items) == 1 and items[0].explanations == ["it stands on a pad"]
    assert items[0].split == "test" and Path(items[0].image) == tmp_path / "rocket.jpg"
    assert len(errors) == 1 and "line 3" in errors[0][1] and "question" in errors[0][1]


@pytest.mark.parametrize(
    ("header", "needle"),
    [("picture,question,answer\n", "missing: image"), ("", "found: none")],
)
def test_a_csv_without_the_needed_columns_is_refused(tmp_path, header, needle):
    (tmp_path / "q.csv").write_text(header)
    with pytest.raises(ImportError_, match=needle):
        read_items(None, str(tmp_path), str(tmp_path / "q.csv"))


def test_both_or_neither_source_is_refused(tmp_path):
    with pytest.raises(ImportError_, match="either"):
        read_items("a.jsonl", str(tmp_path), "b.csv")
    with pytest.raises(ImportError_, match="nothing to import"):
        read_items(None, None, None)
