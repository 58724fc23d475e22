"""The backend's `illume` subcommands, registered through the entry-point group
`illume.commands` (pyproject.toml), so the engine's command line never imports
the backend:

    illume serve   --host H --port P      the Label Studio ML backend (gunicorn)
    illume export  --project ID --format jsonl|vqax|hf|imagefolder --out PATH
                   [--with-model] [--push-to-hub REPO]
"""

from __future__ import annotations

import argparse

from ml_backend.export_flags import add_export_arguments


def cmd_serve(args: argparse.Namespace) -> int:
    from ml_backend.server import serve

    serve(args.host, args.port, threads=args.threads)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ml_backend.export import run

    return run(args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve` and `export` to the `illume` command line."""
    p = sub.add_parser("serve", help="run the Label Studio ML backend (gunicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9090)
    p.add_argument("--threads", type=int, default=8)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export", help="export the curated rationale dataset of a project")
    add_export_arguments(p)
    p.set_defaults(func=cmd_export)
