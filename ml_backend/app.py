"""The HTTP side: Label Studio 1.23's ML-backend protocol on Flask.

Routes: POST /setup, POST /predict, POST /webhook, GET /health,
GET /status (JSON), GET /metrics (Prometheus' text format), GET /versions,
and GET / (the progress page for people: ml_backend/progress_page.py).
Every request is answered from memory or the job queue; nothing here waits
for the model or a tuning round, so /setup and /health stay fast (Label
Studio gives /setup 3 s and /webhook 1 s).
Bad input gets a 4xx naming what is wrong, never a 5xx.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from itertools import accumulate
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ml_backend import lsclient, metrics, order, progress_page
from ml_backend.config import Settings
from ml_backend.jobs import event_project
from ml_backend.model import IllumeModel
from ml_backend.progress import PageCache

log = logging.getLogger(__name__)

KNOWN_EVENTS = {
    "START_TRAINING",
    "ANNOTATION_CREATED",
    "ANNOTATION_UPDATED",
    "ANNOTATIONS_DELETED",
}
IGNORED_EVENTS = {
    "PROJECT_UPDATED",
    "PROJECT_CREATED",
    "PROJECT_DELETED",
    "TASKS_CREATED",
    "TASKS_DELETED",
    "ANNOTATIONS_CREATED",
    "LABEL_LINK_CREATED",
}


class BadRequest(Exception):
    """A 4xx with a message for the caller."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def create_app(model: IllumeModel | None = None, settings: Settings | None = None) -> Flask:
    """The Flask app around one model instance (built from the environment if not given)."""
    settings = settings or (model.settings if model else Settings.from_env())
    order.rule_from_env()  # a wrong ILLUME_ORDER stops the start, not every prediction
    model = model or IllumeModel(settings).start()
    app = Flask("ml_backend")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["illume_model"] = model
    registry = metrics.registry_for(model)
    pages = PageCache()

    @app.before_request
    def basic_auth() -> Response | None:
        if not settings.basic_auth_user:
            return None
        auth = request.authorization
        ok = (
            auth is not None
            and hmac.compare_digest(auth.username or "", settings.basic_auth_user)
            and hmac.compare_digest(auth.password or "", settings.basic_auth_pass)
        )
        if ok:
            return None
        resp = jsonify(error="authentication required")
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Basic realm="illume"'
        return resp

    @app.errorhandler(BadRequest)
    def bad_request(e: BadRequest):
        model.counters.webhooks_rejected += request.path == "/webhook"
        log.info("%s %s -> %d: %s", request.method, request.path, e.status, e)
        return jsonify(error=str(e)), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return jsonify(error=e.description or e.name), e.code

    @app.get("/health")
    def health():
        return jsonify(model.health())

    @app.get("/")
    def progress():
        """The progress page; the computed page is reused for a short time (PageCache)."""
        pids = model.projects_seen()
        wanted = request.args.get("project")
        if wanted is not None:
            pids = [int(wanted)] if wanted.isascii() and wanted.isdigit() else []
        fresh = request.args.get("fresh") == "1"
        try:
            html = pages.get(tuple(pids), lambda: render_progress(pids), fresh=fresh)
        except lsclient.LabelStudioError as e:
            raise BadRequest(f"cannot read Label Studio for the progress page: {e}", 502) from e
        return Response(html, content_type="text/html; charset=utf-8")

    def render_progress(pids: list[int]) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        projects = progress_page.collect(model, pids)
        return progress_page.render(projects, stamp, pages.ttl)

    def json_object() -> dict[str, Any]:
        return read_json_object(settings.max_json_depth)

    @app.post("/setup")
    def setup():
        body = json_object()
        project = parse_project(body.get("project"))
        schema = body.get("schema") or body.get("label_config")
        if isinstance(schema, str) and schema and 'name="rationales"' not in schema:
            raise BadRequest(
                'the labeling config has no <Choices name="rationales" value="$candidates">: '
                "use label_config/rationales.xml"
            )
        adopt_credentials(settings, body)
        return jsonify(model_version=model.setup(project))

    @app.post("/predict")
    def predict():
        body = json_object()
        task_list = parse_tasks(body.get("tasks"))
        project = parse_project(body.get("project"))
        if project is None and task_list:
            project = parse_project(task_list[0].get("project"))
        started = time.monotonic()
        results = model.predict(task_list, {"project": project, "params": body.get("params")})
        log.info("/predict: %d tasks in %.3f s", len(task_list), time.monotonic() - started)
        return jsonify(results=results, model_version=model.version_for(project))

    @app.post("/webhook")
    def webhook():
        body = json_object()
        model.counters.webhooks += 1
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise BadRequest("webhook payload needs an 'action' string")
        if action not in KNOWN_EVENTS:
            status = "ignored" if action in IGNORED_EVENTS else f"unknown action {action!r} ignored"
            return jsonify(status=status), 200
        project = event_project(body)
        if project is None:
            raise BadRequest(f"{action}: payload names no project (project.id or task.project)")
        # no Label Studio call before the answer: the worker checks the project
        result = model.fit(action, body)
        return jsonify(status="queued", **result), 201

    @app.get("/status")
    def status():
        return jsonify(model.metrics())

    @app.get("/metrics")
    def prometheus():
        return Response(
            metrics.exposition(registry), mimetype=None, content_type=metrics.CONTENT_TYPE
        )

    @app.get("/versions")
    def versions():
        return jsonify(versions_of(model, request.args.get("project")))

    return app


_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """How deep brackets nest in a JSON text, without parsing it (strings skipped)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if c in b"[{" else -1 for c in brackets), default=0)


def read_json_object(max_depth: int) -> dict[str, Any]:
    """The body as a JSON object; 413 past the size limit, 400 past the depth limit.

    Both limits apply before parsing, so no body can exhaust memory or the
    parser's recursion (a RecursionError would be a 500).
    """
    raw = request.get_data(cache=True)  # werkzeug: 413 past MAX_CONTENT_LENGTH
    depth = json_depth(raw)
    if depth > max_depth:
        raise BadRequest(f"the JSON nests {depth} levels deep; at most {max_depth} are accepted")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


MAX_TASK_ID = 2**63 - 1
"""Label Studio's ids are 64-bit database keys."""


def parse_tasks(raw: Any) -> list[dict[str, Any]]:
    """/predict's tasks: objects with an integer id, an object as data (400 otherwise)."""
    if not isinstance(raw, list):
        raise BadRequest("'tasks' must be a list of task objects")
    for i, task in enumerate(raw):
        if not isinstance(task, dict):
            raise BadRequest(f"tasks[{i}] must be a task object, got {type(task).__name__}")
        tid = task.get("id")
        if not _is_int(tid) or not 0 < tid <= MAX_TASK_ID:
            raise BadRequest(f"tasks[{i}].id must be a positive integer task id, got {_show(tid)}")
        if not isinstance(task.get("data", {}), dict):
            raise BadRequest(f"tasks[{i}].data must be an object")
        if "project" in task:
            parse_project(task["project"])
    return raw


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _show(x: Any) -> str:
    return type(x).__name__ if isinstance(x, dict | list) else repr(x)[:40]


def parse_project(raw: Any) -> int | None:
    """Label Studio sends "<id>.<timestamp>" in /setup and /predict, an int elsewhere."""
    if raw is None or raw == "":
        return None
    if _is_int(raw) and raw >= 0:
        return raw
    head = raw.split(".", 1)[0] if isinstance(raw, str) else ""
    if head.isascii() and head.isdigit() and len(head) < 20:
        return int(head)
    if isinstance(raw, dict) and _is_int(raw.get("id")) and raw["id"] >= 0:
        return raw["id"]
    raise BadRequest(f"'project' must be a project id, got {_show(raw)}")


def adopt_credentials(settings: Settings, body: dict[str, Any]) -> None:
    """Use the token Label Studio sends in /setup when the env gives none.

    The URL is the operator's: a /setup body names one, but whoever can call /setup
    could then send the backend's Label Studio calls, and the token with them,
    anywhere. It is taken only from the first /setup, only without a URL in the
    environment, and only when ILLUME_ADOPT_SETUP_URL allows it; any other URL a
    body names is ignored (logged once per URL).
    """
    token, host = body.get("access_token"), body.get("hostname")
    if isinstance(host, str) and host.startswith(("http://", "https://")):
        host = host.rstrip("/")
        if host != settings.label_studio_url:
            _adopt_url(settings, host)
    if settings.api_key:
        return
    if isinstance(token, str) and token:
        settings.api_key = token
        log.info("using the token from /setup (url %s)", settings.label_studio_url)


_IGNORED_URLS: set[str] = set()
"""Body URLs already logged as ignored (Label Studio sends one with every /setup)."""


def _adopt_url(settings: Settings, host: str) -> None:
    if settings.adopt_setup_url and not settings.label_studio_url_fixed:
        settings.label_studio_url = host
        settings.label_studio_url_fixed = True
        log.info("using the Label Studio URL from /setup: %s", host)
        return
    if host not in _IGNORED_URLS and len(_IGNORED_URLS) < 100:
        _IGNORED_URLS.add(host)
        log.warning(
            "/setup names Label Studio at %r; ignored, the backend calls %s "
            "(LABEL_STUDIO_URL; ILLUME_ADOPT_SETUP_URL=1 lets the first /setup set it "
            "when the environment names none)",
            host[:200],
            settings.label_studio_url,
        )


def versions_of(model: IllumeModel, project: str | None) -> dict[str, Any]:
    """Published versions per project, newest last."""
    try:
        from illume.versions import list_versions
    except ImportError:  # pragma: no cover (engine without version bookkeeping)
        return {"versions": [], "model_version": model.model_version}
    pids = model.jobs.store.projects()
    if project is not None:
        pids = [int(project)] if project.isascii() and project.isdigit() else []
    out = {
        str(pid): [p.name for p in list_versions(model.settings.project_versions(pid))]
        for pid in pids
    }
    flat = sorted({v for vs in out.values() for v in vs})
    return {
        "versions": flat,
        "projects": out,
        "latest": {pid: vs[-1] if vs else None for pid, vs in out.items()},
        "model_version": model.model_version,
    }
