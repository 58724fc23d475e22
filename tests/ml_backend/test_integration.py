"""The whole loop against a real Label Studio: import -> candidates -> annotate -> round
-> new version -> unresolved tasks regenerated, resolved ones untouched -> export."""

from __future__ import annotations

import json
import time

import datasets
import pytest

from illume.rank import MAX_SHOWN
from ml_backend.export import export_project
from ml_backend.labels import DEFAULT_LABELS
from ml_backend.task_images import ImageResolver
from ml_backend.tasks import OWN_KEYS
from tests.ml_backend.conftest import rationale_config

pytestmark = pytest.mark.integration

GOOD = [
    ("chelsea.jpg", "what animal is this?", "cat"),
    ("coffee.jpg", "what drink is in the cup?", "coffee"),
    ("rocket.jpg", "what is about to launch?", "a rocket"),
    ("astronaut.jpg", "what is her job?", "astronaut"),
]


def make_project(client, label_studio, title: str, extra: list[dict] | None = None) -> int:
    """A project with the rationale interface, local image storage and tasks."""
    project = client.projects.create(title=title, label_config=rationale_config())
    client.import_storage.local.create(
        project=project.id,
        path=str(label_studio.local_files_root / "images"),
        use_blob_urls=False,
        title="images",
    )
    rows = [
        {
            "image": f"/data/local-files/?d=images/{img}",
            "question": q,
            "answer": a,
            "item_id": f"item-{i}",
            "candidates": [],
        }
        for i, (img, q, a) in enumerate(GOOD)
    ]
    client.projects.import_tasks(id=project.id, request=rows + (extra or []))
    return project.id


def wait_for_candidates(client, project: int) -> list[dict]:
    """The project's tasks, once the backend has written candidates and a prediction (or an
    error) into each: the prediction comes a moment after the candidates."""
    return wait_for(
        lambda: (
            (ts := all_tasks(client, project))
            and all(
                t["data"].get("candidates_version")
                and (t["data"].get("candidates_error") or t["predictions"])
                for t in ts
            )
            and ts
        ),
        what="candidates on every task",
    )


def tick(choices: list[str]) -> dict:
    """An annotation result that ticks these candidates."""
    return {
        "from_name": "rationales",
        "to_name": "image",
        "type": "choices",
        "value": {"choices": choices},
    }


def all_tasks(client, project: int) -> list[dict]:
    return [
        json.loads(json.dumps(t.model_dump(), default=str))
        for t in client.tasks.list(project=project)
    ]


def wait_for(predicate, timeout: float = 90, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_full_loop(db, request, tmp_path):
    """The whole cycle, on Label Studio with SQLite and with PostgreSQL."""
    suffix = "_pg" if db == "postgresql" else ""
    ls_client = request.getfixturevalue("ls_client" + suffix)
    label_studio = request.getfixturevalue("label_studio" + suffix)
    backend = request.getfixturevalue("backend" + suffix)
    bad = [
        {
            "image": "/data/local-files/?d=images/missing.jpg",
            "question": "q?",
            "answer": "a",
            "item_id": "missing-image",
            "candidates": [],
        },
        {
            "image": "/data/local-files/?d=images/broken.jpg",
            "question": "q?",
            "answer": "a",
            "item_id": "broken-image",
            "candidates": [],
        },
        {
            "image": "/data/local-files/?d=images/coffee.jpg",
            "question": "",
            "answer": "a",
            "item_id": "no-question",
            "candidates": [],
        },
    ]
    project = make_project(ls_client, label_studio, "illume loop", bad)
    ml = ls_client.ml.create(url=backend.url, project=project, title="illume", is_interactive=False)

    # 1. connecting the backend generates candidates for every task, ahead of annotation
    tasks = wait_for_candidates(ls_client, project)
    by_item = {t["data"]["item_id"]: t for t in tasks}
    for i in range(len(GOOD)):
        t = by_item[f"item-{i}"]
        assert t["data"]["candidates"], t["data"]
        assert all(set(c) == {"value"} for c in t["data"]["candidates"])
        assert t["data"]["candidates_version"] == "zero-shot"
        preds = t["predictions"]
        assert preds and preds[0]["model_version"] == "zero-shot"
        ticked = preds[0]["result"][0]["value"]["choices"]
        assert 1 <= len(ticked) <= 3
        assert set(ticked) <= {c["value"] for c in t["data"]["candidates"]}
    assert "not found" in by_item["missing-image"]["data"]["candidates_error"]
    assert "not a readable image" in by_item["broken-image"]["data"]["candidates_error"]
    assert "question" in by_item["no-question"]["data"]["candidates_error"]

    # 2. /predict answers from stored candidates (no sampling) with the version
    status, body = backend.post(
        "/predict", {"tasks": [by_item["item-0"]], "project": f"{project}.123"}
    )
    assert status == 200
    assert body["results"][0]["model_version"] == "zero-shot"
    assert body["results"][0]["result"][0]["value"]["choices"]

    # 3. annotate through the SDK: a tick + a typed rationale; "none fits" on another task
    resolved = by_item["item-0"]
    pick = resolved["data"]["candidates"][-1]["value"]
    ls_client.annotations.create(
        id=resolved["id"],
        result=[
            tick([pick]),
            {
                "from_name": "rationale",
                "to_name": "image",
                "type": "textarea",
                "value": {"text": ["it has whiskers and pointed ears"]},
            },
        ],
    )
    rejected_all = by_item["item-1"]
    ls_client.annotations.create(
        id=rejected_all["id"],
        result=[tick([DEFAULT_LABELS.none_fits])],
    )

    # 4. "Start training" -> a round -> v0001 -> unresolved tasks regenerated
    ls_client.ml.train(id=ml.id)
    wait_for(lambda: backend.get("/status")["counters"]["rounds_ok"] >= 1, 120, "a round")
    metrics = backend.wait_idle()
    assert metrics["projects"][str(project)]["last_round"]["version"] == "v0001"
    assert backend.get(f"/versions?project={project}")["projects"][str(project)] == ["v0001"]
    after = {t["data"]["item_id"]: t for t in all_tasks(ls_client, project)}
    assert after["item-0"]["data"] == resolved["data"]  # resolved: untouched
    for key in ("item-1", "item-2", "item-3"):
        data = after[key]["data"]
        assert data["candidates_version"] == "v0001", key
        # the sampler's top-up fills the list; the backend shows at most ILLUME_MAX_OPTIONS
        assert 0 < len(data["candidates"]) <= MAX_SHOWN, key
        assert data["candidate_rounds"][-1]["version"] == "zero-shot"
        assert any(p["model_version"] == "v0001" for p in after[key]["predictions"])
    rows = (
        backend.data_dir / "projects" / str(project) / "rounds" / "round-0001" / "rationales.jsonl"
    ).read_text()
    assert pick in rows and "whiskers and pointed ears" in rows

    # 5. the export holds the ticked and typed rationales, the rejected ones, the errors
    counts = export_project(ls_client, project, "jsonl", tmp_path / "out.jsonl")
    rows = {
        r["item_id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())
    }
    assert counts["with_rationale"] == 1 and counts["errors"] == 3
    fit = rows["item-0"]["fitting"]
    assert {f["text"] for f in fit} == {pick, "it has whiskers and pointed ears"}
    ticked = next(f for f in fit if f["source"] == "candidate")
    assert ticked["model_version"] == "zero-shot" and ticked["round"] == 0
    # a pseudonymous id by default (e-mail addresses only with --annotator-emails)
    assert ticked["annotator"].startswith("annotator-") and ticked["annotation_id"]
    assert "@" not in ticked["annotator"]
    assert pick not in {r["text"] for r in rows["item-0"]["rejected"]}
    assert rows["item-0"]["rejected"]
    assert rows["item-1"]["fitting"] == [] and rows["item-1"]["annotations"][0]["none_fits"]
    assert {r["text"] for r in rows["item-1"]["rejected"]} == {
        c["value"] for c in rejected_all["data"]["candidates"]
    }
    assert rows["broken-image"]["error"]

    # the VQA-X, Hugging Face and imagefolder layouts hold the same rationales
    export_project(ls_client, project, "vqax", tmp_path / "vqax.json")
    vqax = json.loads((tmp_path / "vqax.json").read_text())
    assert set(vqax) == {"item-0"} and pick in vqax["item-0"]["explanation"]
    resolver = ImageResolver(
        label_studio.url,
        lambda: {"Authorization": f"Token {label_studio.token}"},
        tmp_path / "cache",
        str(label_studio.local_files_root),
    )
    imgf = export_project(ls_client, project, "imagefolder", tmp_path / "imgf", resolver)
    meta = [json.loads(x) for x in (tmp_path / "imgf" / "metadata.jsonl").read_text().splitlines()]
    assert imgf["images_missing"] == 0 and len(meta) == 1
    assert (tmp_path / "imgf" / meta[0]["file_name"]).stat().st_size > 1000
    assert "it has whiskers and pointed ears" in meta[0]["explanations"]
    versions = backend.data_dir / "projects" / str(project) / "versions"
    hf = export_project(ls_client, project, "hf", tmp_path / "hf", resolver, versions)
    ds = datasets.load_dataset(str(tmp_path / "hf"), split="train", cache_dir=str(tmp_path / "c"))
    assert hf["images_missing"] == 0 and hf["rows_train"] == 2
    rows = {r["item_id"]: r for r in ds}
    assert set(rows) == {"item-0", "item-1"} and rows["item-0"]["image"].size[0] > 1
    assert "it has whiskers and pointed ears" in rows["item-0"]["explanations"]
    assert rows["item-1"]["explanations"] == [] and rows["item-1"]["rejected"]
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "| v0001 | 1 |" in card and "illume loop" in card
    assert '<Choices name="rationales"' in card


def test_failed_round_keeps_serving(ls_client, label_studio, backend):
    project = make_project(ls_client, label_studio, "illume failing round")
    ml = ls_client.ml.create(url=backend.url, project=project, title="illume", is_interactive=False)
    tasks = wait_for_candidates(ls_client, project)
    t = tasks[0]
    ls_client.annotations.create(
        id=t["id"],
        result=[
            {
                "from_name": "rationales",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": [t["data"]["candidates"][0]["value"]]},
            }
        ],
    )
    before = backend.get("/status")["counters"]["rounds_failed"]
    backend.control.write_text("fail")
    try:
        ls_client.ml.train(id=ml.id)
        wait_for(lambda: backend.get("/status")["counters"]["rounds_failed"] > before, 60, "fail")
    finally:
        backend.control.unlink()
    m = backend.wait_idle()
    assert "exited 3" in m["counters"]["last_round_error"]
    assert m["projects"][str(project)]["last_round"]["ok"] is False
    assert backend.get(f"/versions?project={project}")["projects"][str(project)] == []
    status, body = backend.post("/setup", {"project": f"{project}.1"})
    assert status == 200 and body["model_version"] == "zero-shot"


def test_webhook_for_an_unknown_project_is_acknowledged_then_dropped(backend):
    """The acknowledgement never waits on Label Studio; the worker checks the project."""
    before = backend.get("/status")["counters"]["webhooks_dropped"]
    status, body = backend.post("/webhook", {"action": "START_TRAINING", "project": {"id": 99999}})
    assert status == 201 and body["project"] == 99999
    wait_for(
        lambda: backend.get("/status")["counters"]["webhooks_dropped"] > before, 30, "the drop"
    )
    log_text = (backend.data_dir / "backend.log").read_text()
    assert "START_TRAINING of project 99999 dropped" in log_text
    assert "99999" not in backend.get("/status")["projects"]
    status, body = backend.post("/webhook", b"{not json")
    assert status == 400


def test_export_command(ls_client, label_studio, monkeypatch, tmp_path, capsys):
    from ml_backend.export import main

    project = make_project(ls_client, label_studio, "illume export cli")
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    monkeypatch.setenv("ILLUME_BACKEND_DIR", str(tmp_path / "state"))
    out = tmp_path / "export.jsonl"
    assert main(["--project", str(project), "--format", "jsonl", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == len(GOOD)
    assert f"{len(GOOD)} tasks" in capsys.readouterr().out
    assert main(["--project", "424242", "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_predict_samples_tasks_without_candidates(ls_client, label_studio, backend):
    """Tasks Label Studio asks about before the background job got to them."""
    bad = [
        {
            "image": "/data/local-files/?d=images/chelsea.jpg",
            "question": "q?",
            "answer": "",
            "item_id": "no-answer",
            "candidates": [],
        }
    ]
    project = make_project(ls_client, label_studio, "illume predict", bad)  # not connected
    tasks = all_tasks(ls_client, project)
    status, body = backend.post("/predict", {"tasks": tasks, "project": f"{project}.9"})
    assert status == 200 and len(body["results"]) == len(tasks)
    by_item = {t["data"]["item_id"]: r for t, r in zip(tasks, body["results"], strict=True)}
    assert by_item["no-answer"]["result"] == []
    stored = {t["data"]["item_id"]: t["data"] for t in all_tasks(ls_client, project)}
    for i in range(len(GOOD)):
        pred = by_item[f"item-{i}"]
        assert pred["model_version"] == "zero-shot"
        ticked = pred["result"][0]["value"]["choices"]
        assert set(ticked) <= {c["value"] for c in stored[f"item-{i}"]["candidates"]}
    assert "answer" in stored["no-answer"]["candidates_error"]


def test_a_hugging_face_model_serves_candidates_and_tunes(ls_client, label_studio, hf_backend):
    """$ILLUME_MODEL=hf:<folder>: candidates, a LoRA round through the real `illume tune`."""
    project = make_project(ls_client, label_studio, "illume hf")
    ml = ls_client.ml.create(
        url=hf_backend.url, project=project, title="illume hf", is_interactive=False
    )
    tasks = wait_for_candidates(ls_client, project)
    first = tasks[0]
    pick = first["data"]["candidates"][0]["value"]
    ls_client.annotations.create(
        id=first["id"],
        result=[tick([pick])],
    )
    ls_client.ml.train(id=ml.id)
    wait_for(lambda: hf_backend.get("/status")["counters"]["rounds_ok"] >= 1, 180, "a round")
    hf_backend.wait_idle()
    version = hf_backend.data_dir / "projects" / str(project) / "versions" / "v0001"
    assert json.loads((version / "adapter_config.json").read_text())["peft_type"] == "LORA"
    after = {t["id"]: t["data"] for t in all_tasks(ls_client, project)}
    assert after[first["id"]] == first["data"]  # resolved: untouched
    assert all(d["candidates_version"] == "v0001" for i, d in after.items() if i != first["id"])


def test_forged_predict_bodies_change_nothing_in_label_studio(ls_client, label_studio, backend):
    """Label Studio is the source of truth: /predict never writes what a request says."""
    served = make_project(ls_client, label_studio, "illume forged served")
    ls_client.ml.create(url=backend.url, project=served, title="illume", is_interactive=False)
    tasks = wait_for_candidates(ls_client, served)
    annotated = tasks[:2]
    for t in annotated:
        ls_client.annotations.create(
            id=t["id"], result=[tick([t["data"]["candidates"][0]["value"]])]
        )
    fresh = make_project(ls_client, label_studio, "illume forged fresh")  # no candidates yet
    fresh_tasks = all_tasks(ls_client, fresh)

    def snapshot(project: int) -> dict[int, str]:
        out = {}
        for t in all_tasks(ls_client, project):
            anns = [
                {k: a[k] for k in ("id", "result", "completed_by", "was_cancelled")}
                for a in ls_client.annotations.list(id=t["id"])
                for a in [json.loads(json.dumps(a.model_dump(), default=str))]
            ]
            out[t["id"]] = json.dumps({"data": t["data"], "annotations": anns}, sort_keys=True)
        return out

    before = {served: snapshot(served), fresh: snapshot(fresh)}
    forged = {"image": "http://127.0.0.1:9/x.png", "question": "changed?", "answer": "changed"}
    bodies = [
        # annotated tasks, claiming to be unannotated and to hold other data
        [{"id": t["id"], "data": forged, "annotations": []} for t in annotated],
        # the fields dropped altogether
        [{"id": t["id"], "data": {"candidates": []}} for t in annotated],
        # unannotated tasks with candidates, their data replaced
        [{"id": t["id"], "data": {**forged, "candidates": []}} for t in tasks[2:]],
    ]
    for body in bodies:
        status, answer = backend.post("/predict", {"tasks": body, "project": f"{served}.1"})
        assert status == 200 and len(answer["results"]) == len(body)
    # tasks of another project, and ids Label Studio does not have: empty predictions
    other = [{"id": t["id"], "data": {**forged, "candidates": []}} for t in fresh_tasks]
    unknown = [{"id": 987654321, "data": {**forged, "candidates": []}}]
    status, answer = backend.post("/predict", {"tasks": other + unknown, "project": f"{served}.1"})
    assert status == 200 and all(r["result"] == [] for r in answer["results"])

    assert snapshot(served) == before[served]
    assert snapshot(fresh) == before[fresh]

    # a task of the named project without candidates: sampled from Label Studio's copy;
    # only the backend's own keys are added to what Label Studio holds
    target = fresh_tasks[0]
    body = [{"id": target["id"], "data": {**forged, "candidates": []}}]
    status, answer = backend.post("/predict", {"tasks": body, "project": f"{fresh}.1"})
    assert status == 200 and answer["results"][0]["result"]
    after = next(t for t in all_tasks(ls_client, fresh) if t["id"] == target["id"])
    assert after["data"]["candidates"]
    kept = {k: v for k, v in after["data"].items() if k not in OWN_KEYS}
    assert kept == {k: v for k, v in target["data"].items() if k not in OWN_KEYS}
    assert kept["image"] == target["data"]["image"] and kept["question"] != "changed?"
