"""The prefix alignment's photo examples: never a demo photo, crops of the right kind."""

import importlib.util
import random
from pathlib import Path

from PIL import Image

from illume_bench.data.demo_items import DEMO_ITEMS

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pretrain_prefix.py"


def load_script():
    spec = importlib.util.spec_from_file_location("pretrain_prefix", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_photo_files_skip_demo_photos_small_and_unreadable_images(tmp_path):
    script = load_script()
    Image.new("RGB", (200, 160), "red").save(tmp_path / "motorcycle.png")
    Image.new("RGB", (200, 160), "red").save(tmp_path / "chelsea.png")  # a demo photo's name
    Image.new("RGB", (25, 25), "red").save(tmp_path / "face.png")  # too small to caption
    (tmp_path / "broken.tif").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("text")
    assert (DEMO_ITEMS.parent / "images" / "chelsea.jpg").exists()
    assert [p.name for p in script.photo_files(str(tmp_path))] == ["motorcycle.png"]


def test_crops_keep_the_whole_image_first_and_stay_inside_it():
    script = load_script()
    image = Image.new("L", (300, 200), 128)
    views = script.crops(image, 6, random.Random(0))
    assert len(views) == 6 and views[0].size == (300, 200)
    assert all(v.mode == "RGB" for v in views)
    for v in views[1:]:
        assert 90 <= v.size[0] <= 300 and 60 <= v.size[1] <= 200
