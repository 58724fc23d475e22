"""The backend's settings: one dataclass, read once from the environment.

Every field is a variable (`illume.envconfig` derives its name, parses it and lists it in
docs/guide/settings.md, which `python -m ml_backend.settings_table` writes). Names follow
label-studio-ml-backend's examples where they exist (LABEL_STUDIO_URL,
LABEL_STUDIO_API_KEY, BASIC_AUTH_USER/PASS) so existing deployments carry over; the
sampler's settings are `illume.sample.SampleConfig`'s own fields (ILLUME_N_PER_TEMPERATURE,
ILLUME_MAX_NEW_TOKENS, ILLUME_BATCH_ITEMS, ...), defaults and all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from illume.envconfig import from_env
from illume.rank import MAX_SHOWN
from illume.sample import SampleConfig
from ml_backend.labels import PRETICK_MIN_RANK

URL_VARS = ("LABEL_STUDIO_URL", "LABEL_STUDIO_HOST")


@dataclass
class Settings:
    """Everything the backend reads from its environment."""

    ENV_PREFIX = "ILLUME_"

    label_studio_url: str = field(
        default="http://127.0.0.1:8080",
        metadata={
            "help": "where Label Studio is (also for image downloads); a URL a /setup body "
            "names is ignored",
            "env": "LABEL_STUDIO_URL",
            "env_aliases": ("LABEL_STUDIO_HOST",),
        },
    )
    label_studio_url_fixed: bool = field(
        default=False,
        metadata={
            "help": "the URL came from the environment or an adopting /setup: none changes it",
            "env": False,
        },
    )
    adopt_setup_url: bool = field(
        default=False,
        metadata={
            "help": "without LABEL_STUDIO_URL, the first /setup may set it. Off by default: a "
            "caller of /setup would choose where the backend's calls, and its token, go"
        },
    )
    api_key: str = field(
        default="",
        repr=False,  # never in a log line
        metadata={
            "help": "Label Studio legacy token or personal access token",
            "env": "LABEL_STUDIO_API_KEY",
            "env_aliases": ("LABEL_STUDIO_ACCESS_TOKEN",),
        },
    )
    basic_auth_user: str = field(
        default="",
        metadata={"help": "HTTP basic auth Label Studio must send", "env": "BASIC_AUTH_USER"},
    )
    basic_auth_pass: str = field(
        default="",
        repr=False,
        metadata={"help": "its password", "env": "BASIC_AUTH_PASS"},
    )
    host: str = field(default="127.0.0.1", metadata={"help": "`illume serve` binds this address"})
    port: int = field(default=9090, metadata={"help": "`illume serve` listens on this port"})
    threads: int = field(default=8, metadata={"help": "request threads of the one worker"})
    data_dir: Path = field(
        default=Path(".illume-backend"),
        metadata={
            "help": "event log, job state, image cache and (by default) model versions",
            "env": "ILLUME_BACKEND_DIR",
        },
    )
    versions_dir: Path | None = field(
        default=None,
        metadata={
            "help": "model versions, one subfolder per project (unset: under the backend "
            "dir); with workers on several machines, a folder every process mounts at the same "
            "path",
            "env": "ILLUME_VERSIONS",
        },
    )
    local_files_root: str = field(
        default="",
        metadata={
            "help": "read /data/local-files/ images from this folder (Label Studio's own "
            "setting of the same name)",
            "env": "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT",
        },
    )
    train_every: int = field(
        default=10,
        metadata={"help": "a tuning round after this many new annotations (0: on demand only)"},
    )
    round_debounce_s: float = field(
        default=60.0,
        metadata={
            "help": "a round due by the count starts once no annotation came for this many "
            "seconds (a burst settles first), at the latest a few times this after the first",
            "min": 0.0,
        },
    )
    pretick: int = field(
        default=3, metadata={"help": "at most how many candidates a prediction pre-ticks"}
    )
    pretick_min_rank: float = field(
        default=PRETICK_MIN_RANK,
        metadata={"help": "the rank (illume.rank) a candidate needs to be pre-ticked"},
    )
    max_options: int = field(
        default=MAX_SHOWN,
        metadata={
            "help": "options written into a task, best ranked first (illume.rank.shown), after "
            "dropping those unrelated to the image's context; the rest are dropped, not stored: "
            "the next version samples the task afresh (0: every kept candidate)",
            "min": 0,
        },
    )
    sample: SampleConfig = field(
        default_factory=SampleConfig,
        metadata={"help": "the sampler's settings (illume.sample.SampleConfig)"},
    )
    tune_args: list[str] = field(
        default_factory=list,
        metadata={
            "help": "`illume tune` flags for the rounds: any TuneConfig field and the "
            "launcher's, e.g. `--epochs 2 --lr 3e-4 --nproc 2` (`illume tune --help`)"
        },
    )
    max_body_bytes: int = field(
        default=64 * 2**20,
        metadata={"help": "largest request body /setup, /predict and /webhook read (413 beyond)"},
    )
    max_json_depth: int = field(
        default=100,
        metadata={
            "help": "deepest JSON nesting accepted (400 beyond), checked before parsing: Label "
            "Studio's payloads nest under 15 levels"
        },
    )
    adapter_cache: int = field(
        default=4,
        metadata={
            "help": "versions whose tuned weights stay in memory, so switching projects copies "
            "tensors instead of reading a folder (0: no cache)"
        },
    )
    load_model: bool = field(
        default=True,
        metadata={"help": "False in tests of the HTTP layer: no model is imported", "env": False},
    )
    redis_url: str = field(
        default="",
        metadata={
            "help": "jobs go to Redis through RQ and `illume worker` runs them; empty: the "
            "in-process durable queue"
        },
    )
    sample_timeout_s: int = field(
        default=900,
        metadata={
            "help": "RQ timeout of one sampling batch; a worker that dies mid-batch has its job "
            "retried after this plus the grace"
        },
    )
    train_timeout_s: int = field(
        default=6 * 3600, metadata={"help": "RQ timeout of a tuning round"}
    )
    sample_retries: int = field(
        default=3, metadata={"help": "how often RQ retries a failed sampling job", "min": 1}
    )
    rq_grace_s: int = field(
        default=60,
        metadata={
            "help": "seconds past a job's timeout before RQ takes its worker for dead",
            "min": 1,
        },
    )

    @classmethod
    def from_env(cls, env=None) -> Settings:
        env = os.environ if env is None else env
        settings = from_env(cls, env)
        return replace(
            settings,
            label_studio_url=settings.label_studio_url.rstrip("/"),
            label_studio_url_fixed=any(env.get(n, "").strip() for n in URL_VARS),
        )

    def project_dir(self, project: int) -> Path:
        return self.data_dir / "projects" / str(project)

    def project_versions(self, project: int) -> Path:
        """Each project tunes its own versions: rationales never cross projects."""
        if self.versions_dir is not None:
            return self.versions_dir / str(project)
        return self.project_dir(project) / "versions"
