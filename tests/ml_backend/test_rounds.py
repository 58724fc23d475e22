"""What a round tunes on: the annotators' verdicts, as rationale records."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from ml_backend.config import Settings
from ml_backend.labels import DEFAULT_LABELS
from ml_backend.rounds import RoundRunner
from ml_backend.state import Counters, StateStore
from ml_backend.tasks import with_candidates


class FakeLabelStudio:
    """Just enough of lsclient.Connection: images resolve to themselves, default labels."""

    client = None

    class resolver:  # noqa: N801 (stands for the ImageResolver instance)
        @staticmethod
        def resolve(ref: str) -> str:
            return ref

    def labels(self, project):
        return DEFAULT_LABELS


@pytest.fixture
def png_file(tmp_path):
    path = tmp_path / "cat.png"
    Image.new("RGB", (8, 8), "orange").save(path)
    return str(path)


def tick(choices=(), typed=()):
    result = [{"from_name": "rationales", "type": "choices", "value": {"choices": list(choices)}}]
    result.append({"from_name": "rationale", "type": "textarea", "value": {"text": list(typed)}})
    return {"id": 1, "result": result, "completed_by": 1, "created_at": "2030-01-05T00:00:00Z"}


def task(tid, item_id, annotations, image):
    data = {"item_id": item_id, "image": image, "question": "q?", "answer": "cat"}
    data = with_candidates(data, [{"text": "old one"}], "zero-shot")
    data["candidates_generated_at"] = "2030-01-01T00:00:00+00:00"
    offered = [{"text": "It purrs", "explanation": "since"}, {"text": "it barks"}]
    data = with_candidates(data, offered, "v0002")
    data["candidates_generated_at"] = "2030-01-02T00:00:00+00:00"
    return {"id": tid, "data": data, "annotations": annotations}


def test_rationales_come_from_verdicts_with_proposer_and_round(tmp_path, png_file):
    runner = RoundRunner(
        Settings(data_dir=tmp_path), Counters(), StateStore(tmp_path), FakeLabelStudio()
    )
    tasks = [
        task(1, "cat-1", [tick(["It purrs", "old one"], typed=["it has whiskers"])], png_file),
        task(2, "cat-1", [tick(["it  PURRS"])], png_file),  # the same item, the same text
        task(3, "cat-2", [tick([DEFAULT_LABELS.none_fits])], png_file),
        task(4, "cat-3", [tick(["it barks"])], str(tmp_path / "missing.png")),
    ]
    rationales, items = runner.rationales(tasks, DEFAULT_LABELS)
    assert [it.id for it in items] == ["cat-1", "cat-2"]  # one engine id per item
    got = {(r.item_id, r.text): (r.source, r.version, r.round) for r in rationales}
    assert got == {
        ("cat-1", "It purrs"): ("annotator", "v0002", 2),
        ("cat-1", "old one"): ("annotator", "zero-shot", 0),
        ("cat-1", "it has whiskers"): ("annotator", None, 0),
    }
    # tuned under the explanation prompt it was sampled with ("since")
    assert {r.text: r.explanation for r in rationales}["It purrs"] == "since"


ANY_TICK = ["--min-rationales", "1", "--min-items", "1"]


def test_a_round_writes_rationale_rows_the_tuning_job_reads(tmp_path, png_file, monkeypatch):
    settings = Settings(data_dir=tmp_path, tune_args=ANY_TICK)
    runner = RoundRunner(settings, Counters(), StateStore(tmp_path), FakeLabelStudio())
    monkeypatch.setattr(
        "ml_backend.rounds.lsclient.iter_tasks",
        lambda client, project: iter([task(1, "cat-1", [tick(["It purrs"])], png_file)]),
    )
    seen = {}

    def tune(items, rationales, *rest):
        seen["rows"] = [r.to_row() for r in rationales]
        return None, "no tuning here"

    monkeypatch.setattr(runner, "tune", tune)
    assert runner.run(7, "test") is False
    (row,) = seen["rows"]
    assert row["id"] == "cat-1" and row["text"] == "It purrs" and row["source"] == "annotator"
    assert StateStore(tmp_path).load(7).rounds[-1]["rationales"] == 1


def test_a_round_waits_below_the_minimum_and_says_why(tmp_path, png_file, monkeypatch):
    runner = RoundRunner(
        Settings(data_dir=tmp_path), Counters(), StateStore(tmp_path), FakeLabelStudio()
    )
    monkeypatch.setattr(
        "ml_backend.rounds.lsclient.iter_tasks",
        lambda client, project: iter([task(1, "cat-1", [tick(["It purrs"])], png_file)]),
    )
    monkeypatch.setattr(runner, "tune", lambda *a: pytest.fail("a waiting round must not tune"))
    assert runner.run(7, "test") is False
    record = StateStore(tmp_path).load(7).rounds[-1]
    assert record["skipped"] and "1 distinct over 1 items" in record["waiting"]
    live = runner.status()
    assert live["state"] == "waiting" and "from 8 over 4 items" in live["note"]


def test_a_round_that_changed_nothing_says_so_with_its_figures(tmp_path, png_file, monkeypatch):
    from illume.tunejob import NothingChanged

    settings = Settings(data_dir=tmp_path, tune_args=ANY_TICK)
    runner = RoundRunner(settings, Counters(), StateStore(tmp_path), FakeLabelStudio())
    monkeypatch.setattr(
        "ml_backend.rounds.lsclient.iter_tasks",
        lambda client, project: iter([task(1, "cat-1", [tick(["It purrs"])], png_file)]),
    )
    metrics = {"select_by": "nll", "dev_start": -2.0, "dev_scores": [-2.5, -2.4]}
    why = NothingChanged({**metrics, "changed_nothing": "this round changed nothing: ..."})
    monkeypatch.setattr(runner, "tune", lambda *a: (None, why))
    assert runner.run(7, "test") is False
    record = StateStore(tmp_path).load(7).rounds[-1]
    assert record["unchanged"] and record["dev_scores"] == [-2.5, -2.4]
    assert "changed nothing" in record["note"] and "the base model keeps serving" in record["note"]
    assert runner.status()["state"] == "unchanged"
    from ml_backend.progress import round_rows

    assert round_rows([record])[0]["outcome"] == "changed nothing"


def test_a_round_with_bad_tune_args_fails_clearly(tmp_path, png_file, monkeypatch):
    settings = Settings(data_dir=tmp_path, tune_args=["--epochs", "many"])
    runner = RoundRunner(settings, Counters(), StateStore(tmp_path), FakeLabelStudio())
    monkeypatch.setattr(
        "ml_backend.rounds.lsclient.iter_tasks",
        lambda client, project: iter([task(1, "cat-1", [tick(["It purrs"])], png_file)]),
    )
    assert runner.run(7, "test") is False
    record = StateStore(tmp_path).load(7).rounds[-1]
    assert record["ok"] is False and "ILLUME_TUNE_ARGS" in record["error"]


def test_unticked_candidates_become_pairs_with_the_items_rationales(tmp_path, png_file):
    from illume.pairs import build_pairs

    runner = RoundRunner(
        Settings(data_dir=tmp_path), Counters(), StateStore(tmp_path), FakeLabelStudio()
    )
    tasks = [
        task(1, "cat-1", [tick(["It purrs"])], png_file),  # saw v0002's set: "it barks" unticked
        task(2, "cat-2", [tick([DEFAULT_LABELS.none_fits])], png_file),  # rejects, no rationale
    ]
    rejected = runner.rejected(tasks, 7)
    assert rejected == [("cat-1", "it barks"), ("cat-2", "It purrs"), ("cat-2", "it barks")]
    rationales, _ = runner.rationales(tasks, DEFAULT_LABELS)
    pairs = build_pairs(((r.item_id, r.text) for r in rationales), rejected)
    assert [(p.item_id, p.chosen, p.rejected) for p in pairs] == [("cat-1", "It purrs", "it barks")]


@pytest.mark.deepspeed
def test_a_real_round_shows_its_progress_in_status_and_metrics(
    tmp_path, png_file, monkeypatch, tiny_lm_dir
):
    """A round through the real DeepSpeed job on a tiny model: /status while it runs."""
    from prometheus_client.parser import text_string_to_metric_families

    from ml_backend.app import create_app
    from ml_backend.model import IllumeModel

    monkeypatch.setenv("ILLUME_LM", str(tiny_lm_dir))
    monkeypatch.setenv("ILLUME_ENCODER", "tiny")
    tune_args = ["--steps", "0", "--epochs", "2", "--batch-size", "2", "--vqa-ratio", "1"]
    tune_args += ["--min-rationales", "1", "--min-items", "1"]
    model = IllumeModel(Settings(data_dir=tmp_path, load_model=False, tune_args=tune_args))
    runner = model.jobs.rounds
    runner.ls = FakeLabelStudio()
    texts = ["It purrs", "it barks"]
    project_tasks = [task(k, f"cat-{k}", [tick([texts[k % 2]])], png_file) for k in range(4)]
    monkeypatch.setattr(
        "ml_backend.rounds.lsclient.iter_tasks", lambda client, project: iter(project_tasks)
    )
    client = create_app(model).test_client()
    during = []
    report = runner.progress

    def progress(record):
        report(record)
        during.append(client.get("/status").get_json()["round"])

    monkeypatch.setattr(runner, "progress", progress)
    assert runner.run(7, "test") is True, StateStore(tmp_path).load(7).rounds[-1]
    assert during, "no progress record reached the backend while the job ran"
    first = during[0]
    assert first["project"] == 7 and first["state"] == "tuning" and first["step"] == 1
    assert math.isfinite(first["loss"]) and first["rationales"] == 4
    after = client.get("/status").get_json()["round"]
    assert after["state"] == "done" and after["version"] == "v0001"
    assert (after["epoch"], after["epochs"]) == (2, 2)
    assert after["global_step"] == after["total_steps"] >= 2
    record = StateStore(tmp_path).load(7).rounds[-1]
    assert record["progress"]["loss"] == after["loss"]
    # a process that ran no round (a web process beside a tuning worker) shows the same
    elsewhere = RoundRunner(model.settings, Counters(), StateStore(tmp_path), FakeLabelStudio())
    assert elsewhere.status() == after
    text = client.get("/metrics").get_data(as_text=True)
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples["illume_tuning_running"].value == 0
    assert samples["illume_tuning_step"].labels == {"project": "7"}
    assert samples["illume_tuning_step"].value == after["global_step"]
    assert samples["illume_tuning_loss"].value == pytest.approx(after["loss"])
