"""The backend's `illume` subcommands, registered through the entry-point group
`illume.commands` (pyproject.toml), so the engine's command line never imports
the backend:

    illume serve   --host H --port P      the Label Studio ML backend (gunicorn)
    illume export  --project ID --format jsonl|vqax|hf|imagefolder --out PATH
                   [--with-model] [--push-to-hub REPO]
    illume worker  --queues sample,train [--name N] [--burst] [--maintenance-s S]
                   an RQ worker (needs ILLUME_REDIS_URL; ml_backend/rqworker.py)
    illume import  --items F | --images DIR --csv F  [--project ID | --title T]
                   [--backend-url URL]   items into a Label Studio project
"""

from __future__ import annotations

import argparse

from ml_backend.export_flags import add_export_arguments

MODEL_HELP = (
    "embedded, hf:<hub id or folder> or magma:<folder> (default: $ILLUME_MODEL, else embedded); "
    "device and precision from $ILLUME_DEVICE, $ILLUME_DTYPE"
)


def use_model(model: str | None) -> None:
    """`--model` for the processes that load one: checked now (a missing folder, a device that
    is not there), then passed on as ILLUME_MODEL, which the backend and its jobs read."""
    import os

    from illume.models import ModelChoice

    ModelChoice.from_env(model=model).check()
    if model is not None:
        os.environ["ILLUME_MODEL"] = model


def warn_without_key(settings) -> bool:
    """Say on stderr when LABEL_STUDIO_API_KEY is unset; True when it is. The backend still
    starts: Label Studio's /setup brings a legacy token (when legacy tokens are enabled) and
    the backend adopts it, but until then it can neither read tasks nor write candidates."""
    import sys

    if settings.api_key:
        return True
    print(
        "illume serve: warning: LABEL_STUDIO_API_KEY is not set; the backend waits for the "
        "token Label Studio sends with /setup (legacy tokens only) and writes no candidates "
        "until then. Set it to a token of a Label Studio user (Account & Settings).",
        file=sys.stderr,
    )
    return False


def cmd_serve(args: argparse.Namespace) -> int:
    from ml_backend.config import Settings
    from ml_backend.server import serve

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be 1 to 65535, got {args.port}")
    if args.threads < 1:
        raise ValueError(f"--threads must be 1 or more, got {args.threads}")
    use_model(args.model)
    warn_without_key(Settings.from_env())
    serve(args.host, args.port, threads=args.threads)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ml_backend.export import run

    return run(args)


def cmd_import(args: argparse.Namespace) -> int:
    from ml_backend.project_setup import run

    return run(args)


def cmd_worker(args: argparse.Namespace) -> int:
    import logging
    import os

    from ml_backend.rqworker import parse_queues, run

    queues = parse_queues(args.queues)
    use_model(args.model)

    # a worker has no HTTP port: its log is where each job's outcome shows
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return run(queues, args.name, args.burst, args.maintenance_s)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve`, `export`, `import` and `worker` to the `illume` command line."""
    from ml_backend.config import Settings

    try:
        settings = Settings.from_env()
    except ValueError:  # a malformed variable: `illume serve` reads them again and says which
        settings = Settings()
    p = sub.add_parser(
        "serve",
        help="run the Label Studio ML backend (gunicorn)",
        description="The ILLUME ML backend for Label Studio, under gunicorn (one worker "
        "process, threads). Label Studio is reached at $LABEL_STUDIO_URL with "
        "$LABEL_STUDIO_API_KEY; every other setting is an ILLUME_* variable "
        "(docs/guide/settings.md). Connect it in the project's Settings -> Model, or with "
        "`illume import --backend-url`.",
    )
    p.add_argument(
        "--host",
        default=settings.host,
        help="address to bind (default $ILLUME_HOST, else 127.0.0.1: this machine only; the "
        "Docker image sets 0.0.0.0 so that Label Studio in another container reaches it)",
    )
    p.add_argument(
        "--port", type=int, default=settings.port, help="port (default $ILLUME_PORT, else 9090)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=settings.threads,
        help="request threads of the one worker process (default $ILLUME_THREADS, else 8)",
    )
    p.add_argument("--model", help=MODEL_HELP)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export", help="export the curated rationale dataset of a project")
    add_export_arguments(p)
    p.set_defaults(func=cmd_export)

    from ml_backend.project_setup import __doc__ as import_doc
    from ml_backend.project_setup import add_arguments as import_arguments

    p = sub.add_parser(
        "import",
        help="items JSONL or images + CSV into a Label Studio project, backend connected",
        description=import_doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    import_arguments(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("worker", help="run an RQ worker for the sample and/or train queue")
    p.add_argument(
        "--queues", default="sample,train", help="sample, train or sample,train (default both)"
    )
    p.add_argument("--name", default=None, help="worker name in RQ (default: RQ's own)")
    p.add_argument("--burst", action="store_true", help="stop once the queues are empty")
    p.add_argument(
        "--maintenance-s",
        type=int,
        default=600,
        help="seconds between RQ's registry clean-ups (where dead workers' jobs are retried)",
    )
    p.add_argument("--model", help=MODEL_HELP)
    p.set_defaults(func=cmd_worker)
