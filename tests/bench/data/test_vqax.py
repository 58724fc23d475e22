"""The VQA-X annotation importer, on small synthetic files."""

from __future__ import annotations

import json

import pytest

from illume.items import load_items
from illume_bench.data.vqax import coco_image_path, import_vqax

RECORDS = {
    "262148000": {
        "question": "What is the man doing?",
        "answers": [
            {"answer": "surfing", "answer_confidence": "yes", "answer_id": 1},
            {"answer": "swimming", "answer_confidence": "maybe", "answer_id": 2},
            {"answer": "surfing", "answer_confidence": "yes", "answer_id": 3},
        ],
        "image_id": 262148,
        "image_name": "COCO_val2014_000000262148.jpg",
        "explanation": ["he is standing on a surfboard", "he rides a wave on a board"],
    },
    "1": {  # a tie: the answer seen first wins
        "question": "Is it sunny?",
        "answers": [
            {"answer": "no", "answer_confidence": "yes", "answer_id": 1},
            {"answer": "yes", "answer_confidence": "yes", "answer_id": 2},
            {"answer": "yes", "answer_confidence": "yes", "answer_id": 3},
            {"answer": "no", "answer_confidence": "yes", "answer_id": 4},
        ],
        "image_id": 9,
        "image_name": "COCO_train2014_000000000009.jpg",
        "explanation": ["the sky is gray and cloudy"],
    },
    "2": {  # an explicit answer field wins over the answer list
        "question": "What animal is this?",
        "multiple_choice_answer": "dog",
        "answers": [{"answer": "cat", "answer_id": 1}],
        "image_id": 10,
        "image_name": "COCO_train2014_000000000010.jpg",
        "explanation": "it has floppy ears and a leash",
    },
    "3": {  # no image name: skipped
        "question": "What color is the bus?",
        "answers": [{"answer": "red", "answer_id": 1}],
        "image_id": 11,
        "explanation": ["the bus is painted red"],
    },
    "4": {  # no answers at all: skipped
        "question": "Where is this?",
        "answers": [],
        "image_id": 12,
        "image_name": "COCO_val2014_000000000012.jpg",
        "explanation": ["there are tracks and a platform"],
    },
    "5": "not a record",
}


@pytest.fixture
def ann(tmp_path):
    path = tmp_path / "vqaX_test.json"
    path.write_text(json.dumps(RECORDS))
    return path


def test_import(ann, tmp_path):
    warnings: list[str] = []
    items = import_vqax(ann, tmp_path / "coco", "test", warnings=warnings)
    assert [it.id for it in items] == ["vqax-test-262148000", "vqax-test-1", "vqax-test-2"]
    surf, sunny, dog = items
    assert surf.answer == "surfing" and surf.split == "test"
    assert surf.question == "What is the man doing?"
    assert surf.explanations == ["he is standing on a surfboard", "he rides a wave on a board"]
    assert sunny.answer == "no"
    assert dog.answer == "dog" and dog.explanations == ["it has floppy ears and a leash"]
    assert len(warnings) == 3
    assert any("record 3" in w and "image_name" in w for w in warnings)
    assert any("record 4" in w and "answer" in w for w in warnings)
    assert any("record 5" in w for w in warnings)
    # images need not exist: the direct path is used
    assert surf.image == str(tmp_path / "coco" / "COCO_val2014_000000262148.jpg")


def test_image_root_with_coco_folders(ann, tmp_path):
    root = tmp_path / "coco"
    (root / "val2014").mkdir(parents=True)
    (root / "train2014").mkdir()
    items = import_vqax(ann, root, "test")
    assert items[0].image == str(root / "val2014" / "COCO_val2014_000000262148.jpg")
    assert items[1].image == str(root / "train2014" / "COCO_train2014_000000000009.jpg")
    # a root that is the folder itself, or holds the file directly
    val = root / "val2014"
    assert coco_image_path(val, "COCO_val2014_1.jpg") == val / "COCO_val2014_1.jpg"
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "COCO_val2014_2.jpg").write_bytes(b"")
    assert coco_image_path(flat, "COCO_val2014_2.jpg") == flat / "COCO_val2014_2.jpg"


def test_out_path_round_trip(ann, tmp_path):
    root = tmp_path / "coco"
    out = tmp_path / "items" / "vqax_test.jsonl"
    items = import_vqax(ann, root, "test", out_path=out)
    loaded, errors = load_items(out)
    assert errors == []
    assert [it.id for it in loaded] == [it.id for it in items]
    row = json.loads(out.read_text().splitlines()[0])
    assert row["image"] == "../coco/COCO_val2014_000000262148.jpg"
    assert [it.answer for it in loaded] == [it.answer for it in items]


def test_list_form_and_bad_file(tmp_path):
    path = tmp_path / "list.json"
    rec = dict(RECORDS["262148000"], question_id=77)
    path.write_text(json.dumps([rec]))
    (item,) = import_vqax(path, tmp_path, "val")
    assert item.id == "vqax-val-77"
    bad = tmp_path / "bad.json"
    bad.write_text("3")
    with pytest.raises(ValueError):
        import_vqax(bad, tmp_path, "val")
