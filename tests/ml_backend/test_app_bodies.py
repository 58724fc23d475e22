"""No body gets a 5xx: size and depth limits before parsing, validated fields, and
property-based bodies (hypothesis) for /setup, /predict and /webhook."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_backend.app import KNOWN_EVENTS, create_app, json_depth
from ml_backend.config import Settings
from ml_backend.model import IllumeModel

ENDPOINTS = ("/setup", "/predict", "/webhook")
TALLY = {"bodies": 0, "5xx": 0}
"""Bodies tried and 5xx answers over this module (printed at the end with -s)."""


@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("backend"), load_model=False)
    model = IllumeModel(settings).start()
    logging.getLogger("ml_backend").setLevel(logging.WARNING)
    yield create_app(model).test_client(), settings
    print(f"\nmalformed bodies tried: {TALLY['bodies']}, answered 5xx: {TALLY['5xx']}")


def post(app_client, path: str, body: bytes, content_type: str = "application/json") -> int:
    client, settings = app_client
    status = client.post(path, data=body, content_type=content_type).status_code
    settings.api_key, settings.label_studio_url = "", "http://127.0.0.1:9"  # /setup may adopt
    TALLY["bodies"] += 1
    TALLY["5xx"] += status >= 500
    return status


# ---- fixed cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("opener, closer", [("[", "]"), ('{"a":', "}")])
def test_deep_nesting_is_400(app_client, path, opener, closer):
    body = (opener * 5000 + "1" + closer * 5000).encode()
    assert post(app_client, path, body) == 400


@pytest.mark.parametrize("path", ENDPOINTS)
def test_too_large_is_413(tmp_path, path):
    settings = Settings(data_dir=tmp_path, load_model=False, max_body_bytes=1000)
    client = create_app(IllumeModel(settings).start()).test_client()
    r = client.post(path, json={"tasks": [], "pad": "x" * 2000})
    assert r.status_code == 413 and r.json["error"]


@pytest.mark.parametrize(
    "tid, needle",
    [({"id": 1}, "got dict"), ([1], "got list"), ("7", "got '7'"), (True, "got True"),
     (None, "got None"), (-3, "got -3"), (2**64, "got 1844"), (1.5, "got 1.5")],
)  # fmt: skip
def test_predict_task_ids_must_be_integers(app_client, tid, needle):
    client, _ = app_client
    r = client.post("/predict", json={"tasks": [{"id": tid, "data": {}}], "project": 3})
    assert r.status_code == 400 and "tasks[0].id" in r.json["error"] and needle in r.json["error"]


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"tasks": [{"id": 1, "data": [1]}]}, "tasks[0].data"),
        ({"tasks": [{"id": 1, "project": {"id": True}}]}, "project"),
        ({"tasks": [], "project": "²"}, "project"),
        ({"tasks": [], "project": "9" * 5000}, "project"),
    ],
)
def test_predict_fields_validated(app_client, body, needle):
    client, _ = app_client
    r = client.post("/predict", json=body)
    assert r.status_code == 400 and needle in r.json["error"]


def test_webhook_odd_project_ids_are_4xx(app_client):
    for project in ("²", "9" * 5000, {"id": True}):
        body = json.dumps({"action": "START_TRAINING", "project": project}).encode()
        assert post(app_client, "/webhook", body) == 400


def test_depth_limit_counts_brackets_not_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0 and json_depth(b"") == 0
    assert json_depth(b"[" * 101 + b"]" * 101) == 101


def test_nesting_within_the_limit_is_fine(app_client):
    client, _ = app_client
    data = {"image": "x", "question": "q", "answer": "a", "deep": json.loads("[" * 90 + "]" * 90)}
    r = client.post("/predict", json={"tasks": [{"id": 1, "data": data}], "project": 3})
    assert r.status_code == 200


# ---- property-based ---------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)


def _nest(inner):
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


values = st.recursive(scalars, _nest, max_leaves=12)
ids = st.integers(-2, 2**70) | values
projects = values | st.integers(0, 10).map(lambda p: f"{p}.1712345") | st.builds(dict, id=ids)
task_data = st.fixed_dictionaries(
    {},
    optional={
        k: values | st.text(max_size=30)
        for k in ("image", "question", "answer", "candidates", "candidates_meta")
    },
)
tasks_ = st.fixed_dictionaries(
    {"id": ids}, optional={"data": task_data | values, "project": projects}
)
predict_bodies = st.fixed_dictionaries(
    {}, optional={"tasks": st.lists(tasks_, max_size=3) | values, "project": projects,
                  "params": values}
)  # fmt: skip
webhook_bodies = st.fixed_dictionaries(
    {"action": st.sampled_from(sorted(KNOWN_EVENTS)) | values},
    optional={
        "project": projects,
        "task": st.fixed_dictionaries({}, optional={"id": ids, "project": ids}) | values,
        "annotation": st.fixed_dictionaries({}, optional={"id": ids, "result": values}) | values,
    },
)
setup_bodies = st.fixed_dictionaries(
    {},
    optional={
        "project": projects,
        "schema": values | st.just('<Choices name="rationales"/>'),
        "label_config": values,
        "access_token": values,
        "hostname": values,
    },
)
RUNS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _encode(body) -> bytes:
    return json.dumps(body, allow_nan=True).encode()


@RUNS
@given(body=predict_bodies)
def test_predict_never_5xx(app_client, body):
    assert post(app_client, "/predict", _encode(body)) < 500


@RUNS
@given(body=webhook_bodies)
def test_webhook_never_5xx(app_client, body):
    assert post(app_client, "/webhook", _encode(body)) < 500


@RUNS
@given(body=setup_bodies)
def test_setup_never_5xx(app_client, body):
    assert post(app_client, "/setup", _encode(body)) < 500


@RUNS
@given(path=st.sampled_from(ENDPOINTS), body=values.map(_encode) | st.binary(max_size=200))
def test_any_json_or_bytes_never_5xx(app_client, path, body):
    assert post(app_client, path, body) < 500
