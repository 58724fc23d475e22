"""The main job: Label Studio + the ILLUME backend + a project with candidates, in one command.

    .venv/bin/python -m ml_backend.demo            # then open the printed URL

Installs Label Studio into .venv-ls if missing, starts it on 127.0.0.1
(SQLite, a pre-created user and token, local image serving), starts the
backend under gunicorn, creates a project with the bundled demo photos and
an easy-vqa-x sample, connects the backend, waits until every task shows
candidates and prints the URL and login. Ctrl-C stops what it started.
Everything lives under .demo/ (delete it to start from scratch). The server
allows backends on loopback (ML_BLOCK_LOCAL_IP=false): local use only.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from ml_backend import server
from ml_backend.demo.ls_server import REPO, LabelStudioServer, ensure_installed, wait_http
from ml_backend.import_items import prepare
from ml_backend.project_setup import import_project
from ml_backend.testing.fit_counts import describe, fit_summary

log = logging.getLogger("illume.demo")

PROJECT_TITLE = "ILLUME rationales (demo)"


def source_items(root: Path, easy_vqa: int, photos: int | None = None) -> list:
    """The demo's items (illume.items.Item, with references and facts): the first `photos`
    bundled photo items (None: all), then `easy_vqa` easy-vqa-x items built under `root`."""
    from illume_bench.data.demo_items import demo_items

    items = demo_items()[:photos]
    if easy_vqa > 0:
        from illume.items import load_items
        from illume_bench.data.easyvqa import build_easy_vqa_x

        out = root / "easy-vqa-x"
        if not (out / "items.jsonl").exists():
            build_easy_vqa_x(out, max_train=easy_vqa, max_val=0, max_test=0)
        built, _ = load_items(out / "items.jsonl")
        items += built[:easy_vqa]
    return items


def prepare_files(root: Path, easy_vqa: int, photos: int | None = None) -> list[dict]:
    """Task rows for import, as `illume import --copy-images demo` makes them: the photos
    copied under the local-files root, the easy-vqa-x images used where they were built."""
    prepared = prepare(source_items(root, easy_vqa, photos), root, copy_to="demo")
    if prepared.refused:
        raise RuntimeError(f"demo items refused: {prepared.refused}")
    return prepared.rows


def start_backend(
    ls: LabelStudioServer, port: int, data_dir: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """The backend under gunicorn in its own process group; `extra_env`: ILLUME_* settings."""
    env = {
        **(extra_env or {}),
        "LABEL_STUDIO_URL": ls.url,
        "LABEL_STUDIO_API_KEY": ls.token,
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(ls.local_files_root),
        "ILLUME_BACKEND_DIR": str(data_dir / "backend"),
    }
    logf = open(data_dir / "backend.log", "ab")  # noqa: SIM115 (lives with the process)
    proc = server.start(port, env, logf, new_session=True)
    wait_http(f"http://127.0.0.1:{port}/health", 60, proc)
    return proc


def ensure_project(client, ls: LabelStudioServer, rows: list[dict], backend_url: str) -> int:
    """The demo project through `illume import`'s code: created once (by title), its
    interface kept current, a storage per image folder, new tasks only, this backend alone."""
    folders = {r["image"].split("?d=", 1)[1].split("/", 1)[0] for r in rows}
    return import_project(
        client,
        rows,
        title=PROJECT_TITLE,
        config=(REPO / "label_config" / "rationales.xml").read_text(),
        set_config=True,
        document_root=ls.local_files_root,
        folders=folders,
        backend_url=backend_url,
        replace_backends=True,
    ).project


def wait_for_candidates(
    client, project: int, started: float, timeout: float, usable_msg: str
) -> tuple[int, int]:
    """Poll until every task has candidates (or an error); print progress.

    The project is usable as soon as the first tasks have candidates (they
    come in a small first batch): say so then, and keep filling in the rest.
    """
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        ts = list(client.tasks.list(project=project, fields="all"))
        done = sum(1 for t in ts if (t.data or {}).get("candidates_version"))
        if done != last:
            print(f"  [{time.monotonic() - started:6.1f} s] candidates on {done}/{len(ts)} tasks")
            if last <= 0 < done < len(ts):
                print(f"  usable after {time.monotonic() - started:.0f} s: {usable_msg}")
            last = done
        if done == len(ts) or time.monotonic() > deadline:
            return done, len(ts)
        time.sleep(2)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ml_backend.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--dir", default=str(REPO / ".demo"), help="state folder (default .demo/)")
    ap.add_argument("--port", type=int, default=8080, help="Label Studio port")
    ap.add_argument("--backend-port", type=int, default=9090)
    ap.add_argument("--easy-vqa", type=int, default=20, help="easy-vqa-x items to add")
    ap.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="stop everything once candidates are ready (for CI and timing)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.monotonic()
    data_dir = Path(args.dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / ".gitignore").write_text("*\n")  # the folder ignores itself
    ensure_installed()
    ls = LabelStudioServer(
        data_dir / "label-studio", port=args.port, local_files_root=data_dir / "files"
    )
    rows = prepare_files(ls.local_files_root, args.easy_vqa)
    backend = None
    # Ctrl-C and SIGTERM both stop what this command started (a shell may start us
    # with SIGINT ignored, so install the handler explicitly).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"starting Label Studio on http://127.0.0.1:{args.port} ...")
        ls.start()
        print(f"  [{time.monotonic() - started:6.1f} s] Label Studio is up")
        backend_url = f"http://127.0.0.1:{args.backend_port}"
        backend = start_backend(ls, args.backend_port, data_dir)
        print(f"  [{time.monotonic() - started:6.1f} s] backend is up on {backend_url}")
        from label_studio_sdk import LabelStudio

        client = LabelStudio(base_url=ls.url, api_key=ls.token)
        project = ensure_project(client, ls, rows, backend_url)
        done, total = wait_for_candidates(
            client, project, started, 1800, f"start labeling at {ls.url}/projects/{project}/data"
        )
        ready = time.monotonic() - started
        datas = [t.data or {} for t in client.tasks.list(project=project, fields="all")]
        print("What the candidates offer at this version (automatic critic):")
        print(describe(fit_summary(datas)))
        print(
            f"\nReady in {ready:.0f} s: candidates on {done}/{total} tasks.\n"
            f"  Open   {ls.url}/projects/{project}/data\n"
            f"  Login  {ls.username} / {ls.password}\n"
            f"  Token  in {ls.data_dir / '.illume-token'} (LABEL_STUDIO_API_KEY)\n"
            f"  Progress {backend_url}/ (rounds, tick rates, annotators)\n"
            f"  Backend {backend_url} (/status, /metrics, /versions); logs in {data_dir}\n"
            "Press Ctrl-C to stop."
        )
        while not args.exit_when_ready:
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping ...")
    finally:
        if backend is not None and backend.poll() is None:
            os.killpg(backend.pid, signal.SIGTERM)
            backend.wait(timeout=20)
        ls.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
