"""Versions on a folder several workers share: only complete versions are ever served."""

from __future__ import annotations

import json

from illume.versions import (
    COMPLETE,
    clean_partial,
    latest_version,
    list_versions,
    next_name,
    publish,
)


class Saver:
    """The one method publish needs from a model: write its tuned weights into a folder."""

    def save_version(self, folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapters.bin").write_bytes(b"\0" * 64)


def test_publish_writes_the_marker_last_and_leaves_no_temporary_folder(tmp_path):
    path = publish(Saver(), tmp_path, {"loss": 1.0}, [{"item": "a"}])
    assert path.name == "v0001" and (path / COMPLETE).is_file()
    assert json.loads((path / "metrics.json").read_text())["version"] == "v0001"
    assert [p.name for p in tmp_path.iterdir()] == ["v0001"]
    assert latest_version(tmp_path) == path


def test_a_half_written_version_is_skipped_and_the_previous_one_served(tmp_path):
    v1 = publish(Saver(), tmp_path, {}, [])
    # a copy that arrives file by file (rsync to a shared folder): no marker yet
    half = tmp_path / "v0002"
    half.mkdir()
    (half / "adapters.bin").write_bytes(b"\0" * 8)
    # and a publish in progress (or killed) on another machine
    (tmp_path / ".tmp-v0003-123").mkdir()
    (tmp_path / ".tmp-v0003-123" / COMPLETE).write_text("complete\n")
    assert latest_version(tmp_path) == v1
    assert list_versions(tmp_path) == [v1]
    # the next publish does not reuse a name a half-written folder holds
    assert next_name(tmp_path) == "v0003"
    (half / COMPLETE).write_text("complete\n")  # the copy finished
    assert latest_version(tmp_path) == half
    assert clean_partial(tmp_path) == 1 and latest_version(tmp_path) == half


def test_no_versions_means_the_base_model(tmp_path):
    assert latest_version(tmp_path / "missing") is None
    (tmp_path / "v0001").mkdir()
    assert latest_version(tmp_path) is None
