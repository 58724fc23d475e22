"""In a real Label Studio: the data manager sorted by prediction score opens the
highest-value task first in the labeling stream (`GET /api/projects/<id>/next`)."""

from __future__ import annotations

import httpx
import pytest

from ml_backend import lsclient, order, tasks
from tests.ml_backend.test_integration import (
    make_project,
    tick,
    wait_for,
    wait_for_candidates,
)

pytestmark = pytest.mark.integration


def next_task(label_studio, project: int, view: int) -> int:
    """The task Label Studio's labeling stream opens next for the view (as "Label All Tasks")."""
    resp = httpx.get(
        f"{label_studio.url}/api/projects/{project}/next",
        params={"view": view},
        headers={"Authorization": f"Token {label_studio.token}"},
        timeout=30,
    )
    resp.raise_for_status()
    return resp.json()["id"]


def test_the_stream_opens_the_highest_value_task_first(ls_client, label_studio, backend):
    project = make_project(ls_client, label_studio, "illume order")
    ls_client.ml.create(url=backend.url, project=project, title="illume", is_interactive=False)
    wait_for_candidates(ls_client, project)
    # the background job adds a prediction per task; its score is the order rule's value
    scores = wait_for(
        lambda: (
            (
                s := {
                    t["id"]: [p["score"] for p in t["predictions"]]
                    for t in _tasks(ls_client, project)
                }
            )
            and all(s.values())
            and s
        ),
        what="a prediction on every task",
    )
    ids = sorted(scores)
    for t in _tasks(ls_client, project):
        expected = order.task_score(tasks.stored_candidates(t), "likely")
        assert scores[t["id"]] == [pytest.approx(expected, rel=1e-5)]
    best = max(s[0] for s in scores.values())
    worst = min(s[0] for s in scores.values())
    assert best > worst, f"the tiny model gave every task the same score: {scores}"

    by_value = ls_client.views.create(
        project=project, data={"ordering": ["-tasks:predictions_score"]}
    )
    first = next_task(label_studio, project, by_value.id)
    assert scores[first][0] == best
    assert first != min(ids) or scores[min(ids)][0] == best  # not just the import order
    # once that task is annotated, the stream goes on with the next most valuable one
    ls_client.annotations.create(id=first, result=[tick(["none of these fits"])])
    second = next_task(label_studio, project, by_value.id)
    assert scores[second][0] == sorted((s[0] for s in scores.values()), reverse=True)[1]
    assert worst < best


def _tasks(client, project: int) -> list[dict]:
    return list(lsclient.iter_tasks(client, project))
