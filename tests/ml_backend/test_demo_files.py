"""The demo's task rows: the first N photo items and N easy-vqa-x items, images in place."""

from ml_backend.demo.__main__ import prepare_files, source_items


def test_prepare_files_takes_the_first_photos_and_the_shapes(tmp_path):
    rows = prepare_files(tmp_path, easy_vqa=2, photos=2)
    assert [r["item_id"].startswith("demo-") for r in rows] == [True, True, False, False]
    for row in rows:
        rel = row["image"].split("?d=", 1)[1]
        assert (tmp_path / rel).is_file(), rel
        assert row["explanations"] and row["candidates"] == []
    assert rows[0]["image"].startswith("/data/local-files/?d=demo/")
    assert rows[2]["image"].startswith("/data/local-files/?d=easy-vqa-x/")
    facts = {it.id: it.facts for it in source_items(tmp_path, 2, 2)}
    assert facts[rows[2]["item_id"]]  # the shapes' colour and shape, for the annotator
