"""The backend's image resolver under the image policy: what a task's author may make it read."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from illume.image_policy import NOT_ALLOWED_PATH, ImagePolicy
from illume.images import ImageError
from ml_backend.task_images import ImageResolver
from tests.image_server import serve


@pytest.fixture
def root(image_dir):
    """A local-files document root holding one image, next to files outside it."""
    r = image_dir / "ls-root"
    (r / "images").mkdir(parents=True)
    (r / "images" / "ok.png").write_bytes((image_dir / "rgb.png").read_bytes())
    return r


def resolver(root, tmp_path, url="http://127.0.0.1:9", policy=None):
    return ImageResolver(
        url, lambda: {"Authorization": "Token secret"}, tmp_path / "cache", str(root), policy=policy
    )


def test_local_files_under_the_root(root, tmp_path):
    r = resolver(root, tmp_path)
    assert r.resolve("/data/local-files/?d=images/ok.png") == str(root / "images" / "ok.png")
    assert r.resolve(str(root / "images" / "ok.png")) == str(root / "images" / "ok.png")
    for ref in ("/data/local-files/?d=../../etc/passwd", "/data/local-files/?d=../rgb.png"):
        with pytest.raises(ImageError, match="outside LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"):
            r.resolve(ref)


def test_absolute_paths_outside_the_roots_say_nothing_about_the_file(root, image_dir, tmp_path):
    r = resolver(root, tmp_path)
    answers = set()
    for ref in (str(image_dir / "rgb.png"), str(image_dir / "gone.png"), "/etc/passwd", "rgb.png"):
        with pytest.raises(ImageError) as err:
            r.resolve(ref)
        answers.add(str(err.value))
    assert answers == {NOT_ALLOWED_PATH}


def test_image_roots_setting_adds_folders(root, image_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ILLUME_IMAGE_ROOTS", str(image_dir))
    assert resolver(root, tmp_path).resolve(str(image_dir / "rgb.png")) == str(
        image_dir / "rgb.png"
    )


@pytest.mark.parametrize(
    "ref", ["http://10.0.0.7/x.png", "http://169.254.169.254/latest/", "http://[fe80::1]/x"]
)
def test_urls_to_private_hosts_refused_before_connecting(root, tmp_path, monkeypatch, ref):
    monkeypatch.setattr(httpx.Client, "send", lambda *a, **k: pytest.fail("connected"))
    with pytest.raises(ImageError, match="not an allowed image host"):
        resolver(root, tmp_path).resolve(ref)
    assert not (tmp_path / "cache").exists()


def test_label_studio_urls_fetched_with_the_token_only_there(root, image_dir, tmp_path):
    with serve(image_dir) as (ls, seen), serve(image_dir) as (other, other_seen):
        r = resolver(root, tmp_path, url=ls)
        path = r.resolve("/data/../rgb.png")  # a Label Studio path: fetched from it
        assert Path(path).read_bytes().startswith(b"\x89PNG")
        assert seen[0][1]["Authorization"] == "Token secret"
        with pytest.raises(ImageError, match="not an allowed image host"):
            r.resolve(f"{other}/rgb.png")  # another loopback server is not Label Studio
        with pytest.raises(ImageError, match="not an allowed image host"):
            r.resolve(f"{ls}/redirect?to={other}/rgb.png")  # nor via a redirect
        assert other_seen == []
        allowed = resolver(root, tmp_path, url=ls, policy=ImagePolicy(hosts=("127.0.0.1",)))
        allowed.resolve(f"{ls}/redirect?to={other}/gray.jpg")
        assert "Authorization" not in other_seen[0][1]  # the token stays with Label Studio
