"""The few Label Studio SDK (2.x) calls the backend makes, as plain dicts.

Wrapping them keeps SDK objects out of the rest of the backend and gives one
place that knows which calls work against Label Studio 1.23 (see NOTES.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from label_studio_sdk import LabelStudio

from ml_backend.config import Settings
from ml_backend.labels import DEFAULT_LABELS, Labels
from ml_backend.task_images import ImageResolver

log = logging.getLogger(__name__)


class LabelStudioError(RuntimeError):
    """Label Studio refused or failed a call; the message never holds the token."""


def make_client(settings: Settings, timeout: float = 60.0) -> LabelStudio:
    if not settings.api_key:
        raise LabelStudioError(
            "LABEL_STUDIO_API_KEY is not set: the backend needs it to read tasks and "
            "write candidates (a legacy token or a personal access token)"
        )
    return LabelStudio(
        base_url=settings.label_studio_url, api_key=settings.api_key, timeout=timeout
    )


class Connection:
    """One Label Studio for the backend: the client, the image resolver, each project's labels.

    All three are made on first use, so a backend without credentials still
    starts (and /setup can adopt them later).
    """

    def __init__(self, settings: Settings, client: LabelStudio | None = None):
        self.settings = settings
        self._client = client
        self._resolver: ImageResolver | None = None
        self._labels: dict[int, Labels] = {}

    @property
    def client(self) -> LabelStudio:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    @property
    def resolver(self) -> ImageResolver:
        if self._resolver is None:
            self._resolver = ImageResolver(
                self.settings.label_studio_url,
                lambda: auth_headers(self.client),
                self.settings.data_dir / "image-cache",
                self.settings.local_files_root,
            )
        return self._resolver

    def labels(self, project: int | None) -> Labels:
        """The control names of the project's labeling config (read once per process)."""
        if project is None:
            return DEFAULT_LABELS
        if project not in self._labels:
            try:
                self._labels[project] = Labels.from_config(label_config(self.client, project))
            except LabelStudioError as e:
                log.warning("project %s: %s; default control names", project, e)
                return DEFAULT_LABELS
        return self._labels[project]


def auth_headers(client: LabelStudio) -> dict[str, str]:
    """The Authorization header the SDK uses (it exchanges personal access tokens)."""
    headers = client._client_wrapper.get_headers()  # noqa: SLF001 (the SDK's own auth logic)
    return {"Authorization": headers["Authorization"]} if "Authorization" in headers else {}


def _dump(obj: Any) -> dict[str, Any]:
    raw = obj.model_dump() if hasattr(obj, "model_dump") else obj
    return json.loads(json.dumps(raw, default=str))


PAGE_SIZE = 100
"""Tasks per page of the task list: one request each, the most a listing holds at a time."""


def iter_task_pages(
    client: LabelStudio, project: int, after: int = 0, page_size: int = PAGE_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """A project's tasks in id order, one page at a time, starting after task id `after`.

    Keyset paging (ids greater than the last one seen, sorted by id) rather
    than page numbers: a page costs the same at the end of a 10,000-task
    project as at the start, tasks written meanwhile (the candidates job
    writes while it lists) are neither skipped nor listed twice, and a pass
    can resume from the last id it finished. Only one page is held at a time;
    the SDK's pager would also parse every task into a model first.
    """
    last = after
    while True:
        ordered = {"filters": _ids_after(last), "ordering": ["tasks:id"]}
        page = _task_page(client, project, ordered, page_size)
        if page:
            yield page
            last = max(int(t["id"]) for t in page)
        if len(page) < page_size:
            return


def iter_tasks(
    client: LabelStudio,
    project: int,
    task_ids: list[int] | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """A project's tasks (or the given ids) with data, annotations and predictions, streamed."""
    if not task_ids:
        for page in iter_task_pages(client, project, page_size=page_size):
            yield from page
        return
    wanted = sorted(set(task_ids))
    for start in range(0, len(wanted), page_size):
        chunk = wanted[start : start + page_size]
        query = {"selectedItems": {"all": False, "included": chunk}, "ordering": ["tasks:id"]}
        yield from _task_page(client, project, query, page_size)


def _ids_after(last: int) -> dict[str, Any]:
    rule = {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": last}
    return {"conjunction": "and", "items": [rule]}


def _task_page(
    client: LabelStudio, project: int, query: dict[str, Any], page_size: int
) -> list[dict[str, Any]]:
    """One page of GET /api/tasks/ as plain dicts (the data manager's query: filters, order)."""
    params = {
        "project": project,
        "fields": "all",
        "page": 1,
        "page_size": page_size,
        "query": json.dumps(query),
    }
    try:
        resp = client._client_wrapper.httpx_client.request(  # noqa: SLF001 (raw JSON, no models)
            "api/tasks/", method="GET", params=params
        )
        resp.raise_for_status()
        body = resp.json()
    except Exception as e:
        raise LabelStudioError(f"cannot list tasks of project {project}: {_why(e)}") from e
    page = body.get("tasks") if isinstance(body, dict) else None
    if not isinstance(page, list):
        raise LabelStudioError(f"cannot list tasks of project {project}: no task list answered")
    return page


def get_project_task(client: LabelStudio, project: int, task_id: int) -> dict[str, Any] | None:
    """One task of `project` as Label Studio holds it now (None when the project lacks it).

    Read through the project's task list, not GET /api/tasks/<id>: that call
    asks the connected backend for a prediction when the task has none, so a
    read from inside /predict would call /predict again, without end, for a
    task that never gets candidates (until every worker thread times out).
    """
    found = (t for t in iter_tasks(client, project, [task_id]) if t.get("id") == task_id)
    return next(found, None)


def update_task_data(client: LabelStudio, task_id: int, data: dict[str, Any]) -> None:
    try:
        client.tasks.update(id=task_id, data=data)
    except Exception as e:
        raise LabelStudioError(f"cannot update task {task_id}: {_why(e)}") from e


def create_prediction(client: LabelStudio, task_id: int, pred: dict[str, Any]) -> None:
    try:
        client.predictions.create(
            task=task_id,
            result=pred["result"],
            score=pred["score"],
            model_version=pred["model_version"],
        )
    except Exception as e:
        raise LabelStudioError(f"cannot add a prediction to task {task_id}: {_why(e)}") from e


def project_exists(client: LabelStudio, project: int) -> bool:
    try:
        client.projects.get(id=project)
    except Exception as e:
        if getattr(e, "status_code", None) == 404:
            return False
        raise LabelStudioError(f"cannot read project {project}: {_why(e)}") from e
    return True


def label_config(client: LabelStudio, project: int) -> str:
    """The project's labeling config (XML)."""
    try:
        return client.projects.get(id=project).label_config or ""
    except Exception as e:
        raise LabelStudioError(f"cannot read project {project}: {_why(e)}") from e


def project_title(client: LabelStudio, project: int) -> str:
    """The project's title ("" when it cannot be read: a card can do without it)."""
    try:
        return client.projects.get(id=project).title or ""
    except Exception as e:
        log.warning("cannot read the title of project %s: %s", project, _why(e))
        return ""


def user_emails(client: LabelStudio) -> dict[int, str]:
    """User id -> e-mail, to name annotators in the export."""
    try:
        return {u.id: u.email or u.username for u in client.users.list()}
    except Exception as e:
        log.warning("cannot list users (annotators shown by id): %s", _why(e))
        return {}


def status_of(e: BaseException | None) -> int | None:
    """The HTTP status Label Studio answered with, from the SDK's error or httpx's
    HTTPStatusError (raw requests); None when no answer came (refused, timed out)."""
    status = getattr(e, "status_code", None)
    response = getattr(e, "response", None)
    if status is None and response is not None:
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _why(e: Exception) -> str:
    """A short reason: status and detail, not the response headers (cookies, tokens)."""
    status = status_of(e)
    body = getattr(e, "body", None)
    response = getattr(e, "response", None)  # httpx's HTTPStatusError (raw requests)
    if getattr(e, "status_code", None) is None and response is not None:
        body = response.text
    if status is not None:
        detail = body.get("detail") if isinstance(body, dict) else body
        return f"HTTP {status}: {str(detail)[:300]}"
    return f"{type(e).__name__}: {str(e)[:300]}"
