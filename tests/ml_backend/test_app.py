"""The HTTP layer with Flask's test client: protocol shapes and bad input (4xx, never 5xx)."""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import replace

import pytest

from illume.versions import mark_complete
from ml_backend.app import create_app
from ml_backend.config import Settings
from ml_backend.model import IllumeModel


@pytest.fixture
def model(tmp_path) -> IllumeModel:
    """No engine, no Label Studio: the HTTP layer alone (jobs are queued, not run)."""
    return IllumeModel(Settings(data_dir=tmp_path, load_model=False)).start()


@pytest.fixture
def client(model):
    return create_app(model).test_client()


TASK = {
    "id": 7,
    "data": {
        "image": "/data/upload/1/x.png",
        "question": "what colour?",
        "answer": "red",
        "candidates": [{"value": "it is red"}, {"value": "its round shape is bright red"}],
        "candidates_meta": [
            {"text": "it is red", "logprob": -0.5, "rank": 0.9},
            {"text": "its round shape is bright red", "logprob": -2.0, "rank": 0.8},
        ],
        "candidates_version": "v0002",
    },
}


def test_health_and_setup_are_fast(client):
    started = time.perf_counter()
    assert client.get("/health").json["status"] == "UP"
    r = client.post(
        "/setup", json={"project": "3.1712345", "schema": '<Choices name="rationales"/>'}
    )
    assert r.status_code == 200 and r.json["model_version"] == "zero-shot"
    assert time.perf_counter() - started < 0.1


def test_setup_queues_one_candidate_scan(client, model):
    for _ in range(3):
        client.post("/setup", json={"project": "3.1"})
    assert [j["kind"] for j in model.queue.pending()] == ["generate"]


def test_setup_rejects_a_foreign_labeling_config(client):
    r = client.post("/setup", json={"project": "3.1", "schema": "<View><Labels/></View>"})
    assert r.status_code == 400 and "rationales" in r.json["error"]


def test_predict_answers_from_stored_candidates(client):
    r = client.post("/predict", json={"tasks": [TASK], "project": "3.1"})
    assert r.status_code == 200
    pred = r.json["results"][0]
    assert pred["model_version"] == "v0002"
    # the best ranked candidate merely restates the answer: never pre-ticked
    assert pred["result"][0]["value"]["choices"] == ["its round shape is bright red"]
    assert pred["result"][0]["from_name"] == "rationales"


def test_predict_without_candidates_and_no_model_gives_empty_prediction(client):
    task = {"id": 8, "data": {"image": "x", "question": "q", "answer": "a", "candidates": []}}
    r = client.post("/predict", json={"tasks": [task], "project": "3.1"})
    assert r.status_code == 200 and r.json["results"] == [
        {"result": [], "score": 0.0, "model_version": "zero-shot"}
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        json.dumps({"tasks": "nope"}).encode(),
        json.dumps({"tasks": [1, 2]}).encode(),
        json.dumps({"tasks": [], "project": "abc"}).encode(),
        json.dumps({"tasks": [], "project": True}).encode(),
    ],
)
def test_predict_bad_input_is_400(client, body):
    r = client.post("/predict", data=body, content_type="application/json")
    assert r.status_code == 400 and r.json["error"]


@pytest.mark.parametrize(
    "body, needle",
    [
        (b"", "JSON object"),
        (b"{oops", "JSON object"),
        (b'"ANNOTATION_CREATED"', "JSON object"),
        (b"{}", "action"),
        (json.dumps({"action": 5}).encode(), "action"),
        (json.dumps({"action": "START_TRAINING"}).encode(), "project"),
        (json.dumps({"action": "START_TRAINING", "project": {"id": "x"}}).encode(), "project"),
        (json.dumps({"action": "ANNOTATION_CREATED", "annotation": None}).encode(), "project"),
        (json.dumps({"action": "ANNOTATION_CREATED", "task": [1]}).encode(), "project"),
    ],
)
def test_webhook_bad_input_is_400(client, model, body, needle):
    r = client.post("/webhook", data=body, content_type="application/json")
    assert r.status_code == 400 and needle in r.json["error"]
    assert model.queue.pending() == []


def test_webhook_records_before_acknowledging(client, model, tmp_path):
    event = {"action": "ANNOTATION_CREATED", "task": {"id": 1, "project": 4}, "annotation": {}}
    r = client.post("/webhook", json=event)
    assert r.status_code == 201 and r.json["project"] == 4
    assert model.queue.pending()[0]["event"]["action"] == "ANNOTATION_CREATED"
    lines = (tmp_path / "queue" / "jobs.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["event"]["task"]["project"] == 4  # on disk, fsynced


def test_webhook_unknown_action_is_acknowledged_and_ignored(client, model):
    r = client.post("/webhook", json={"action": "SOMETHING_NEW", "project": {"id": 1}})
    assert r.status_code == 200 and "ignored" in r.json["status"]
    assert model.queue.pending() == []


def test_unknown_routes_and_methods_are_json_4xx(client):
    assert client.get("/nope").status_code == 404
    r = client.get("/predict")
    assert r.status_code == 405 and r.json["error"]


def test_status_and_versions(client, model, tmp_path):
    (tmp_path / "projects" / "2" / "versions" / "v0001").mkdir(parents=True)
    mark_complete(tmp_path / "projects" / "2" / "versions" / "v0001")
    (tmp_path / "projects" / "2" / "versions" / ".tmp-v0002-1").mkdir()
    (tmp_path / "projects" / "2" / "versions" / "v0003").mkdir()  # still being copied in
    m = client.get("/status").json
    assert m["model"]["version"] == "zero-shot" and m["jobs"]["pending"] == 0
    v = client.get("/versions?project=2").json
    assert v["projects"] == {"2": ["v0001"]} and v["latest"] == {"2": "v0001"}
    r = client.post("/setup", json={"project": "2.5"})
    assert r.json["model_version"] == "v0001"


def test_basic_auth(tmp_path):
    settings = Settings(
        data_dir=tmp_path, load_model=False, basic_auth_user="ls", basic_auth_pass="secret"
    )
    client = create_app(IllumeModel(settings).start()).test_client()
    assert client.get("/health").status_code == 401
    bad = base64.b64encode(b"ls:wrong").decode()
    assert client.get("/health", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    good = base64.b64encode(b"ls:secret").decode()
    assert client.get("/health", headers={"Authorization": f"Basic {good}"}).status_code == 200


def test_token_never_in_repr_or_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = Settings(data_dir=tmp_path, load_model=False, api_key="SECRET-TOKEN-123")
    client = create_app(IllumeModel(settings).start()).test_client()
    client.post("/setup", json={"project": "1.1", "access_token": "OTHER-SECRET"})
    assert "SECRET-TOKEN-123" not in repr(settings)
    assert "SECRET" not in caplog.text


def setup_body(host: str, token: str = "t") -> dict:
    return {"project": "1.1", "hostname": host, "access_token": token}


def test_setup_adopts_the_token_but_never_the_url_by_default(tmp_path, caplog):
    """A /setup caller must not choose where the backend's calls (and token) go."""
    settings = Settings(data_dir=tmp_path, load_model=False)
    client = create_app(IllumeModel(settings).start()).test_client()
    client.post("/setup", json=setup_body("http://127.0.0.1:9/evil"))
    client.post("/setup", json=setup_body("http://127.0.0.1:9/evil", "other"))
    assert settings.api_key == "t"
    assert settings.label_studio_url == "http://127.0.0.1:8080"
    ignored = [r for r in caplog.records if "127.0.0.1:9/evil" in r.getMessage()]
    assert len(ignored) == 1 and "ignored" in ignored[0].getMessage()


def test_a_url_from_the_environment_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("ILLUME_ADOPT_SETUP_URL", "1")
    monkeypatch.setenv("ILLUME_BACKEND_DIR", str(tmp_path))
    settings = replace(Settings.from_env(), load_model=False)
    client = create_app(IllumeModel(settings).start()).test_client()
    client.post("/setup", json=setup_body("http://127.0.0.1:9/env"))
    assert settings.label_studio_url == "http://127.0.0.1:8081"


def test_the_operator_may_let_the_first_setup_name_the_url(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_HOST", raising=False)
    monkeypatch.setenv("ILLUME_ADOPT_SETUP_URL", "yes")
    monkeypatch.setenv("ILLUME_BACKEND_DIR", str(tmp_path))
    settings = replace(Settings.from_env(), load_model=False)
    client = create_app(IllumeModel(settings).start()).test_client()
    client.post("/setup", json=setup_body("http://127.0.0.1:9/first/"))
    client.post("/setup", json=setup_body("http://127.0.0.1:9/second"))
    assert settings.label_studio_url == "http://127.0.0.1:9/first"


def test_adopting_the_url_is_a_yes_or_no_setting(monkeypatch):
    monkeypatch.setenv("ILLUME_ADOPT_SETUP_URL", "maybe")
    with pytest.raises(ValueError, match="ILLUME_ADOPT_SETUP_URL"):
        Settings.from_env()
