"""The export without a Label Studio: records, the hf dataset folder, cards, adapters, push."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from illume.versions import mark_complete
from ml_backend import export, lsclient, tasks
from tests.ml_backend.annotations import ann as annotation

REPO = Path(__file__).resolve().parents[2]
PHRASINGS = ["what activity is shown?", "what is happening here?"]


def ann(choices=(), text=(), aid=1, created="2030-01-02T00:00:00Z"):
    return annotation(choices, text, aid=aid, created=created)


def task(tid, image, split=None, annotations=(), phrasings=None):
    data = {
        "image": f"/data/local-files/?d=images/{image}",
        "question": "what is he doing?",
        "answer": "running",
        "item_id": f"item-{tid}",
    }
    if split:
        data["split"] = split
    if phrasings:
        data["phrasings"] = phrasings
    cands = [
        {"text": "he is moving fast", "logprob": -1.0, "phrasing": PHRASINGS[1]},
        {"text": "his legs are in the air", "logprob": -2.0, "phrasing": "what is he doing?"},
    ]
    if not phrasings:
        cands = [{k: v for k, v in c.items() if k != "phrasing"} for c in cands]
    data = tasks.with_candidates(data, cands, "v0001")
    data["candidates_generated_at"] = "2030-01-01T00:00:00+00:00"
    return {"id": tid, "data": data, "annotations": list(annotations)}


def test_record_names_the_phrasing_of_each_rationale():
    rec = export.task_record(
        task(1, "a.png", "val", [ann(["he is moving fast"], ["typed one"])], PHRASINGS), {1: "a@x"}
    )
    assert rec["split"] == "val" and rec["phrasings"] == PHRASINGS
    by_text = {f["text"]: f for f in rec["fitting"]}
    assert by_text["he is moving fast"]["phrasing"] == PHRASINGS[1]
    assert by_text["typed one"]["phrasing"] is None
    assert rec["rejected"][0]["phrasing"] == "what is he doing?"
    plain = export.task_record(task(2, "a.png", annotations=[ann(["he is moving fast"])]), {})
    assert plain["fitting"][0]["phrasing"] == "what is he doing?"  # no phrasings: the question
    older = task(3, "a.png", annotations=[ann(["he is moving fast"])], phrasings=PHRASINGS)
    for c in older["data"]["candidates_meta"]:
        del c["phrasing"]  # candidates written before phrasings were recorded
    assert export.task_record(older, {})["fitting"][0]["phrasing"] is None


def test_task_item_carries_phrasings():
    item = tasks.task_item(task(1, "a.png", phrasings="what activity is shown?\nwhat now?"))
    assert item.phrasings == ["what activity is shown?", "what now?"]
    with pytest.raises(tasks.TaskError, match="phrasings"):
        tasks.task_item(task(1, "a.png", phrasings=[1, 2]))


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records calls, reaches nothing."""

    calls: list[tuple] = []

    def create_repo(self, repo_id, repo_type, private, exist_ok):
        self.calls.append(("create", repo_id, repo_type, private))

    def upload_folder(self, repo_id, repo_type, folder_path, commit_message):
        files = sorted(p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*"))
        self.calls.append(("upload", repo_id, repo_type, files))
        return f"https://hub.invalid/{repo_type}/{repo_id}/commit/1"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Project 7 as the export sees it: tasks, users, config, title, one tuned version."""
    root = tmp_path / "files"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (32, 24), (200, 30, 30)).save(root / "images" / "a.png")
    Image.new("RGB", (16, 16), (30, 30, 200)).save(root / "images" / "b.png")
    state = tmp_path / "state"
    version = state / "projects" / "7" / "versions" / "v0001"
    version.mkdir(parents=True)
    (version / "adapters.safetensors").write_bytes(b"weights")
    (version / "model.json").write_text(
        json.dumps({"family": "embedded", "config": {"lm": "SmolLM2-135M", "encoder": "tiny"}})
    )
    metrics = {"version": "v0001", "n_exp": 3, "n_vqa": 9, "losses": [2.0, 1.25], "best_epoch": 0}
    (version / "metrics.json").write_text(json.dumps({**metrics, "val_rouge": [0.5]}))
    mark_complete(version)
    rows = [
        task(1, "a.png", "train", [ann(["he is moving fast"], ["typed one"], aid=11)], PHRASINGS),
        task(2, "b.png", "val", [ann(["none of these fits"], aid=12)]),
        task(3, "b.png", "train"),  # not annotated: not in the dataset
        task(4, "gone.png", "train", [ann(["he is moving fast"], aid=14)]),
    ]
    monkeypatch.setenv("ILLUME_BACKEND_DIR", str(state))
    monkeypatch.delenv("ILLUME_VERSIONS", raising=False)
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(root))
    config = (REPO / "label_config" / "actx.xml").read_text()
    monkeypatch.setattr(lsclient, "make_client", lambda settings: object())
    monkeypatch.setattr(lsclient, "project_exists", lambda c, p: p == 7)
    monkeypatch.setattr(lsclient, "user_emails", lambda c: {1: "ann@example.org"})
    monkeypatch.setattr(lsclient, "label_config", lambda c, p: config)
    monkeypatch.setattr(lsclient, "project_title", lambda c, p: "ACT-X pilot")
    monkeypatch.setattr(lsclient, "iter_tasks", lambda c, p, ids=None: iter(rows))
    FakeHub.calls = []
    monkeypatch.setattr("huggingface_hub.HfApi", FakeHub)
    return tmp_path


def test_hf_export_loads_back_with_its_card_adapters_and_push(project, capsys):
    import datasets

    out = project / "hf"
    argv = ["--project", "7", "--format", "hf", "--out", str(out), "--with-model"]
    assert export.main([*argv, "--push-to-hub", "team/actx", "--private"]) == 0
    printed = capsys.readouterr().out
    assert "1 images_missing" in printed and "rows_train" in printed

    ds = datasets.load_dataset(str(out), cache_dir=str(project / "cache"))
    assert set(ds) == {"train", "val"} and (ds["train"].num_rows, ds["val"].num_rows) == (1, 1)
    assert isinstance(ds["train"].features["image"], datasets.Image)
    row = ds["train"][0]
    assert row["image"].size == (32, 24)  # the bytes are in the Parquet file
    assert row["phrasings"] == PHRASINGS
    assert row["explanations"] == ["he is moving fast", "typed one"]
    fit = {f["text"]: f for f in row["fitting"]}
    assert fit["he is moving fast"]["phrasing"] == PHRASINGS[1]
    assert fit["he is moving fast"]["model_version"] == "v0001" and fit["typed one"]["round"] == 1
    assert fit["typed one"]["annotator"] == "annotator-1"  # a pseudonym, not the e-mail
    assert fit["typed one"]["annotation_id"] == 11 and fit["typed one"]["source"] == "typed"
    assert {r["text"] for r in row["rejected"]} == {"his legs are in the air"}
    val = ds["val"][0]
    assert val["explanations"] == [] and len(val["rejected"]) == 2

    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "other"
    files = header["configs"][0]["data_files"]
    assert {f["split"] for f in files} == {"train", "val"}
    assert {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]} == {
        "train": 1,
        "val": 1,
    }
    assert {"name": "image", "dtype": "image"} in header["dataset_info"]["features"]
    assert "| fitting rationales | 2 |" in card and "| rejected candidates | 3 |" in card
    for text in ("ACT-X pilot", "embedded (lm=SmolLM2-135M, encoder=tiny)", "| v0001 | 1 | 3 |"):
        assert text in card, text
    assert '<Text name="phrasings"' in card and "## Licence" in card
    assert "## Annotators and personal information" in card and "stable pseudonyms" in card
    assert "@article{brack2022illume" in card and "Apache-2.0" in card

    model = project / "hf-model"
    assert (model / "adapters.safetensors").read_bytes() == b"weights"
    model_card = (model / "README.md").read_text()
    assert "ILLUME adapters v0001" in model_card and "3 fitting rationales on 2 tasks" in model_card
    assert "1.25" in model_card and "team/actx" in model_card
    assert FakeHub.calls[0] == ("create", "team/actx", "dataset", True)
    assert FakeHub.calls[1][:3] == ("upload", "team/actx", "dataset")
    assert "data/train-00000-of-00001.parquet" in FakeHub.calls[1][3]
    assert FakeHub.calls[3][:3] == ("upload", "team/actx", "model")
    assert "README.md" in FakeHub.calls[3][3]


def test_push_needs_the_hf_format(project, capsys):
    argv = ["--project", "7", "--format", "jsonl", "--out", str(project / "x.jsonl")]
    assert export.main([*argv, "--push-to-hub", "team/actx"]) == 2
    assert "--format hf" in capsys.readouterr().err and FakeHub.calls == []


def test_imagefolder_and_jsonl_still_work(project):
    out = project / "imgf"
    assert export.main(["--project", "7", "--format", "imagefolder", "--out", str(out)]) == 0
    meta = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert [m["task_id"] for m in meta] == [1]
    assert (out / meta[0]["file_name"]).is_file()
    jsonl = project / "x.jsonl"
    assert export.main(["--project", "7", "--out", str(jsonl)]) == 0
    rows = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert rows[0]["fitting"][0]["phrasing"] == PHRASINGS[1] and len(rows) == 4


def _all_text(path: Path) -> str:
    """Every text the export wrote: files as text, Parquet rows as JSON (images left out)."""
    import pyarrow.parquet as pq

    if path.is_file():
        return path.read_text()
    parts = []
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        if f.suffix == ".parquet":
            rows = pq.read_table(f).drop_columns(["image"]).to_pylist()
            parts.append(json.dumps(rows, default=str))
        elif f.suffix in (".jsonl", ".json", ".md"):
            parts.append(f.read_text())
    return "\n".join(parts)


@pytest.mark.parametrize("fmt", ["jsonl", "vqax", "hf", "imagefolder"])
def test_the_default_export_holds_no_email_address(project, fmt):
    """What a team publishes by default (and --push-to-hub uploads) names nobody by e-mail."""
    out = project / f"out-{fmt}"
    assert export.main(["--project", "7", "--format", fmt, "--out", str(out)]) == 0
    text = _all_text(out)
    assert "annotator-1" in text or fmt == "vqax"  # vqax has no annotator field
    assert "@" not in text.replace("@article{brack2022illume", "")


def test_emails_only_with_the_flag_and_the_card_says_so(project):
    out = project / "hf-emails"
    argv = ["--project", "7", "--format", "hf", "--out", str(out), "--annotator-emails"]
    assert export.main(argv) == 0
    assert "ann@example.org" in _all_text(out)
    assert "names annotators by their Label Studio e-mail" in (out / "README.md").read_text()


def test_candidates_written_into_task_data_keep_their_phrasing(tmp_path):
    from types import SimpleNamespace

    from illume.items import Candidate
    from illume.sample import SampledItem
    from ml_backend.candidates import CandidateWriter
    from ml_backend.config import Settings

    def sample(items):
        (item,) = items
        assert item.phrasings == PHRASINGS
        made = [Candidate("he runs", 0.3, "p", -1.0, phrasing=PHRASINGS[0])]
        return [SampledItem(item.id, made)]

    ls = SimpleNamespace(resolver=SimpleNamespace(resolve=str))
    settings = Settings(data_dir=tmp_path, load_model=False)
    writer = CandidateWriter(settings, SimpleNamespace(sample=sample), None, ls)
    (made,), failed = writer._sample_batch([task(1, "a.png", phrasings=PHRASINGS)], "v0002")
    assert failed == [] and made[1][0]["phrasing"] == PHRASINGS[0]
