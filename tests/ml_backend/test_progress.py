"""The progress page's figures from tasks with known annotations, and the page itself."""

from __future__ import annotations

import base64

import pytest

from ml_backend import progress_page
from ml_backend.app import create_app
from ml_backend.config import Settings
from ml_backend.model import IllumeModel
from ml_backend.progress import Agreement, PageCache, compute, explanation_prompt


def cand(text: str, temperature: float, explanation: str = "because") -> dict:
    return {
        "text": text,
        "logprob": -1.0,
        "temperature": temperature,
        "prompt": f"Q: what is it? A: a cat, {explanation}",
    }


def task(tid: int, cands: list[dict], anns: list[dict], version="zero-shot", **data) -> dict:
    return {
        "id": tid,
        "data": {
            "question": "what is it?",
            "answer": "a cat",
            "candidates": [{"value": c["text"]} for c in cands],
            "candidates_meta": cands,
            "candidates_version": version,
            "candidates_generated_at": "2026-01-01T00:00:00+00:00",
            **data,
        },
        "annotations": anns,
    }


def ann(who: int, ticked: list[str], none_fits: bool = False, at="2026-01-02T00:00:00+00:00"):
    choices = ticked + (["none of these fits"] if none_fits else [])
    return {
        "id": who * 100,
        "completed_by": who,
        "created_at": at,
        "result": [{"from_name": "rationales", "type": "choices", "value": {"choices": choices}}],
    }


REFS = ["the animal has whiskers and fur"]
TASKS = [
    # two annotators: 1 ticks 1 of 3, 2 ticks 2 of 3
    task(
        1,
        [
            cand("it has whiskers and fur", 0.1),
            cand("it is red", 0.9),
            cand("it purrs", 0.9, "seeing that"),
        ],
        [ann(1, ["it has whiskers and fur"]), ann(2, ["it has whiskers and fur", "it purrs"])],
        explanations=REFS,
    ),
    # only "none fits"
    task(2, [cand("it is blue", 0.1), cand("it flies", 0.9)], [ann(1, [], none_fits=True)]),
    # not annotated
    task(3, [cand("x", 0.1)], []),
]
ROUNDS = [
    {
        "reason": "START_TRAINING",
        "started": "2026-01-03T00:00:00+00:00",
        "finished": "2026-01-03T00:01:30+00:00",
        "ok": True,
        "version": "v0001",
        "rationales": 2,
        "items": 3,
    }
]


def test_figures_of_a_project_with_known_annotations():
    p = compute(7, iter(TASKS), ROUNDS, names={1: "ann@x", 2: "bob@x"})
    assert (p.tasks, p.annotated, p.resolved, p.none_fits) == (3, 2, 1, 1)
    assert p.rv == pytest.approx(1 / 3)
    assert p.distinct == [3, 2, 1]
    v = p.by_version["zero-shot"]
    assert (v.shown, v.ticked) == (3 + 3 + 2, 1 + 2 + 0)
    assert p.resolved_by_version["zero-shot"] == 1
    t01, t09 = p.by_temperature[0.1], p.by_temperature[0.9]
    assert (t01.shown, t01.ticked) == (3, 2) and (t09.shown, t09.ticked) == (5, 1)
    assert p.by_prompt["seeing that"].ticked == 1 and p.by_prompt["because"].shown == 6
    assert p.by_annotator["ann@x"].share == pytest.approx(1 / 5)
    assert p.by_annotator["bob@x"].share == pytest.approx(2 / 3)
    assert p.annotations_by == {"ann@x": 2, "bob@x": 1}
    assert p.rounds[0]["seconds"] == 90.0 and p.rounds[0]["outcome"] == "published"
    # task 1 only has references: 2 annotations x 3 candidates; ROUGE accepts the whiskers one
    a = p.agreement
    assert (a.both, a.critic_only, a.people_only, a.neither) == (2, 0, 1, 3)
    assert a.precision == 1.0 and a.recall == pytest.approx(2 / 3)


def test_cohens_kappa():
    a = Agreement(both=20, critic_only=5, people_only=10, neither=15)
    # observed 0.7, chance 0.5*0.6 + 0.5*0.4 = 0.5
    assert a.kappa == pytest.approx(0.4)
    assert Agreement().kappa is None and Agreement(neither=3).kappa is None


def test_explanation_prompt_of_a_recorded_prompt():
    assert explanation_prompt("Q: q? A: yes, because", "yes") == "because"
    assert explanation_prompt("Q: q? A: a, b, seeing that", "a, b") == "seeing that"
    assert explanation_prompt(None, "a") == "(not recorded)"


def test_the_cache_serves_the_same_page_for_a_while():
    now = [0.0]
    cache, made = PageCache(ttl=30, clock=lambda: now[0]), []
    make = lambda: made.append(1) or len(made)  # noqa: E731
    assert cache.get("k", make) == 1 and cache.get("k", make) == 1
    now[0] = 31.0
    assert cache.get("k", make) == 2 and cache.get("k", make, fresh=True) == 3


def test_the_page_behind_basic_auth_and_health_apart(tmp_path, monkeypatch):
    settings = Settings(
        data_dir=tmp_path, load_model=False, basic_auth_user="ls", basic_auth_pass="pw"
    )
    model = IllumeModel(settings).start()
    model.setup(7)
    calls = []

    def collect(m, pids):
        calls.append(pids)
        return [compute(pid, iter(TASKS), ROUNDS, title="cats") for pid in pids]

    monkeypatch.setattr(progress_page, "collect", collect)
    client = create_app(model).test_client()
    assert client.get("/").status_code == 401
    auth = {"Authorization": "Basic " + base64.b64encode(b"ls:pw").decode()}
    page = client.get("/", headers=auth)
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "Project 7: cats" in html and "1 (33.3%)" in html and html.count("<svg") == 4
    assert "66.7%" in html  # bob's tick rate and the critic's recall
    # the rounds table: 2 rationales over 3 items (a row key named `items` once printed
    # `<built-in method items of dict ...>`: Jinja found the dict's method first)
    assert "<td>2</td><td>3</td>" in html and "built-in method" not in html
    client.get("/", headers=auth)
    assert calls == [[7]]  # the reload came from the cache
    assert client.get("/health", headers=auth).get_json()["status"] == "UP"
    assert client.get("/?project=x", headers=auth).status_code == 200
