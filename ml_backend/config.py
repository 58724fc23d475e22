"""Backend settings, read once from the environment.

Names follow label-studio-ml-backend's examples (LABEL_STUDIO_URL,
LABEL_STUDIO_API_KEY, BASIC_AUTH_USER/PASS) so existing deployments carry over.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from illume.rank import MAX_SHOWN
from ml_backend.labels import PRETICK_MIN_RANK


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw.strip() else default
    except ValueError as e:
        raise ValueError(f"{name} must be a number, got {raw!r}") from e


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError as e:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from e


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1/true/yes or 0/false/no, got {raw!r}")


@dataclass
class Settings:
    """Everything the backend reads from its environment."""

    label_studio_url: str = "http://127.0.0.1:8080"
    label_studio_url_fixed: bool = False
    """The URL came from LABEL_STUDIO_URL (or _HOST) or an adopting /setup: no /setup changes it."""
    adopt_setup_url: bool = False
    """ILLUME_ADOPT_SETUP_URL: without a URL in the environment, the first /setup may set it.
    Off by default: a caller of /setup would choose where the backend's Label Studio calls,
    and its token, go."""
    api_key: str = field(default="", repr=False)
    """Legacy token or personal access token; kept out of repr so it never lands in logs."""
    basic_auth_user: str = ""
    basic_auth_pass: str = field(default="", repr=False)
    data_dir: Path = Path(".illume-backend")
    """Event log, job state, image cache and (by default) model versions."""
    versions_dir: Path | None = None
    local_files_root: str = ""
    """LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT: read /data/local-files/ images from disk."""
    train_every: int = 10
    """Start a tuning round after this many new annotation events (0: only on demand)."""
    round_debounce_s: float = 60.0
    """A round due by the count starts once no annotation event came for this many s (a burst
    settles first), at the latest ROUND_MAX_WAIT_FACTOR times this after the first one."""
    pretick: int = 3
    """At most how many candidates the prediction pre-ticks (the best ranked)."""
    pretick_min_rank: float = PRETICK_MIN_RANK
    """The rank a candidate needs to be pre-ticked (ml_backend.labels.PRETICK_MIN_RANK)."""
    batch_tasks: int = 8
    """Tasks per sampling batch in the background job."""
    max_options: int = MAX_SHOWN
    """Options written into a task, the best ranked first (illume.rank.shown; 0: all kept).
    The rest are dropped, not stored: the next version samples the task afresh."""
    n_per_temperature: int = 5
    max_new_tokens: int = 24
    tune_args: list[str] = field(default_factory=list)
    """Extra arguments passed to `illume tune` (ILLUME_TUNE_ARGS, space-separated)."""
    max_body_bytes: int = 64 * 2**20
    """Largest request body /setup, /predict and /webhook read (413 beyond)."""
    max_json_depth: int = 100
    """Deepest JSON nesting accepted (400 beyond), checked before parsing: Label Studio's
    payloads nest under 15 levels; 5,000 would exhaust Python's recursion limit."""
    adapter_cache: int = 4
    """Versions whose tuned weights stay in memory, so switching between projects
    copies tensors instead of reading a version folder (0: no cache)."""
    load_model: bool = True
    """False for tests of the HTTP layer: no engine is imported."""
    redis_url: str = ""
    """ILLUME_REDIS_URL: jobs go to Redis through RQ and `illume worker` processes run them
    (ml_backend/rqueue.py); empty: the in-process durable queue (ml_backend/jobqueue.py)."""
    sample_timeout_s: int = 900
    """RQ job timeout of one sampling batch (batch_tasks tasks); a worker that dies mid-batch
    has its job retried after this plus rq_grace_s."""
    train_timeout_s: int = 6 * 3600
    """RQ job timeout of a `train` queue job (it may run a whole tuning round)."""
    sample_retries: int = 3
    """How often RQ retries a sampling job that failed or whose worker died."""
    rq_grace_s: int = 60
    """Seconds past a job's timeout before RQ takes its worker for dead (RQ's own default)."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        data_dir = Path(env.get("ILLUME_BACKEND_DIR") or ".illume-backend")
        versions = env.get("ILLUME_VERSIONS")
        url = env.get("LABEL_STUDIO_URL") or env.get("LABEL_STUDIO_HOST")
        return cls(
            label_studio_url=(url or cls.label_studio_url).rstrip("/"),
            label_studio_url_fixed=bool(url),
            adopt_setup_url=_flag("ILLUME_ADOPT_SETUP_URL"),
            api_key=env.get("LABEL_STUDIO_API_KEY") or env.get("LABEL_STUDIO_ACCESS_TOKEN") or "",
            basic_auth_user=env.get("BASIC_AUTH_USER", ""),
            basic_auth_pass=env.get("BASIC_AUTH_PASS", ""),
            data_dir=data_dir,
            versions_dir=Path(versions) if versions else None,
            local_files_root=env.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", ""),
            train_every=_int("ILLUME_TRAIN_EVERY", 10),
            round_debounce_s=max(0.0, _float("ILLUME_ROUND_DEBOUNCE_S", 60.0)),
            pretick=_int("ILLUME_PRETICK", 3),
            pretick_min_rank=_float("ILLUME_PRETICK_MIN_RANK", PRETICK_MIN_RANK),
            batch_tasks=_int("ILLUME_BATCH_TASKS", 8),
            max_options=max(0, _int("ILLUME_MAX_OPTIONS", MAX_SHOWN)),
            n_per_temperature=_int("ILLUME_N_PER_TEMPERATURE", 5),
            max_new_tokens=_int("ILLUME_MAX_NEW_TOKENS", 24),
            tune_args=env.get("ILLUME_TUNE_ARGS", "").split(),
            max_body_bytes=_int("ILLUME_MAX_BODY_BYTES", 64 * 2**20),
            max_json_depth=_int("ILLUME_MAX_JSON_DEPTH", 100),
            adapter_cache=_int("ILLUME_ADAPTER_CACHE", 4),
            load_model=env.get("ILLUME_NO_MODEL", "") not in ("1", "true", "yes"),
            redis_url=env.get("ILLUME_REDIS_URL", ""),
            sample_timeout_s=_int("ILLUME_SAMPLE_TIMEOUT_S", 900),
            train_timeout_s=_int("ILLUME_TRAIN_TIMEOUT_S", 6 * 3600),
            sample_retries=max(1, _int("ILLUME_SAMPLE_RETRIES", 3)),
            rq_grace_s=max(1, _int("ILLUME_RQ_GRACE_S", 60)),
        )

    def project_dir(self, project: int) -> Path:
        return self.data_dir / "projects" / str(project)

    def project_versions(self, project: int) -> Path:
        """Each project tunes its own versions: rationales never cross projects."""
        if self.versions_dir is not None:
            return self.versions_dir / str(project)
        return self.project_dir(project) / "versions"
