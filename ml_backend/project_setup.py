"""`illume import`: a team's items into a new or existing Label Studio project, ready to label.

    illume import --items items.jsonl --title "Our rationales" --backend-url http://HOST:9090
    illume import --images photos/ --csv questions.csv --project 7 --copy-images photos

One command does what a team would otherwise click through: the labeling
interface (label_config/rationales.xml, or actx.xml for items with
phrasings), a local-files storage for every image folder (Label Studio serves
local files only below a storage's folder), the tasks (items already in the
project, by `item_id`, are skipped, so a second run adds only what is new),
and the backend connection. Connecting a backend makes Label Studio add the
project webhook `<backend>/webhook` that starts tuning rounds; this command
checks that it is there and adds it if not. Label Studio is reached with
LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, as every backend command.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_backend.import_items import ImportError_, prepare, read_items

LABEL_CONFIGS = Path(__file__).resolve().parents[1] / "label_config"
DEFAULT_TITLE = "ILLUME rationales"
DESCRIPTION = "Tick every rationale that explains why the answer fits the image."


@dataclass
class ImportResult:
    """What one import did, for the summary line and the tests."""

    project: int
    created: bool
    imported: int
    skipped: int
    refused: list[tuple[str, str]]
    storages: list[str]
    backend: str | None = None
    webhook: str | None = None


def default_config(rows: list[dict[str, Any]]) -> str:
    """The labeling interface for these rows: actx.xml when any item has phrasings."""
    name = "actx.xml" if any(r.get("phrasings") for r in rows) else "rationales.xml"
    return (LABEL_CONFIGS / name).read_text()


def shows_candidates(config: str) -> bool:
    """Whether a labeling config has the dynamic Choices the backend fills (`$candidates`)."""
    return bool(re.search(r"<Choices\b[^>]*value=\"\$candidates\"", config or ""))


def ensure_project(
    client,
    project: int | None,
    title: str,
    config: str,
    set_config: bool = False,
) -> tuple[int, bool]:
    """The project id (an existing one by id, else by title, else a new one) and whether it
    was created. An existing project keeps its interface unless it lacks the candidates
    control or `set_config` asks for ours."""
    if project is not None:
        found = client.projects.get(id=project)
    else:
        found = next((p for p in client.projects.list(title=title) if p.title == title), None)
    if found is None:
        made = client.projects.create(title=title, label_config=config, description=DESCRIPTION)
        return made.id, True
    if (set_config or not shows_candidates(found.label_config or "")) and (
        found.label_config != config
    ):
        client.projects.update(id=found.id, label_config=config)
    return found.id, False


def ensure_storages(client, project: int, root: Path, folders: set[str]) -> list[str]:
    """A local-files import storage per image folder below `root` (existing ones kept)."""
    have = {s.path for s in client.import_storage.local.list(project=project)}
    added = []
    for folder in sorted(folders):
        path = str(root / folder)
        if path not in have:
            client.import_storage.local.create(
                project=project, path=path, use_blob_urls=False, title=folder
            )
            added.append(path)
    return added


def existing_item_ids(client, project: int) -> set[str]:
    """The `item_id` of every task already in the project."""
    from ml_backend import lsclient

    return {
        str((t.get("data") or {}).get("item_id"))
        for t in lsclient.iter_tasks(client, project)
        if (t.get("data") or {}).get("item_id") not in (None, "")
    }


def connect_backend(client, project: int, url: str, replace: bool = False) -> str:
    """Connect the backend at `url` (once; `replace`: drop other backends first) and make
    sure the project webhook `<url>/webhook` exists; return the webhook URL."""
    url = url.rstrip("/")
    backends = list(client.ml.list(project=project))
    if not any(b.url.rstrip("/") == url for b in backends):
        if replace:
            for b in backends:
                client.ml.delete(id=b.id)
        client.ml.create(url=url, project=project, title="ILLUME", is_interactive=False)
    hook = url + "/webhook"
    if not any(w.url == hook for w in client.webhooks.list(project=project)):
        client.webhooks.create(
            url=hook, project=project, send_payload=True, send_for_all_actions=True
        )
    return hook


def import_project(
    client,
    rows: list[dict[str, Any]],
    *,
    project: int | None = None,
    title: str = DEFAULT_TITLE,
    config: str | None = None,
    set_config: bool = False,
    document_root: Path | None = None,
    folders: set[str] | None = None,
    backend_url: str | None = None,
    replace_backends: bool = False,
) -> ImportResult:
    """The project with its interface, storages, the new tasks and (optionally) the backend."""
    config = config or default_config(rows)
    pid, created = ensure_project(client, project, title, config, set_config)
    storages = ensure_storages(client, pid, document_root, folders) if folders else []
    have = set() if created else existing_item_ids(client, pid)
    new = [r for r in rows if str(r["item_id"]) not in have]
    if new:
        client.projects.import_tasks(id=pid, request=new)
    result = ImportResult(pid, created, len(new), len(rows) - len(new), [], storages)
    if backend_url:
        result.backend = backend_url
        result.webhook = connect_backend(client, pid, backend_url, replace_backends)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `illume import`."""
    src = p.add_argument_group("items (one of)")
    src.add_argument("--items", help="items JSONL (id, image, question, answer, explanations...)")
    src.add_argument("--images", help="a folder of images, with --csv")
    src.add_argument(
        "--csv",
        help="CSV with columns image (a file in --images, or a URL), question, answer; "
        "optional id, split, phrasings and explanation... columns (reference rationales)",
    )
    dst = p.add_argument_group("Label Studio project (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY)")
    dst.add_argument("--project", type=int, help="an existing project id (default: by --title)")
    dst.add_argument(
        "--title",
        default=DEFAULT_TITLE,
        help="the project to create, or to add to if one has this title "
        f"(default {DEFAULT_TITLE!r})",
    )
    dst.add_argument(
        "--label-config",
        help="labeling interface XML (default label_config/rationales.xml, or actx.xml when "
        "items have phrasings)",
    )
    dst.add_argument(
        "--set-config",
        action="store_true",
        help="replace an existing project's interface even if it already shows candidates",
    )
    img = p.add_argument_group("images")
    img.add_argument(
        "--document-root",
        help="the folder Label Studio serves local files from (default: "
        "$LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT, as set on the Label Studio server)",
    )
    img.add_argument(
        "--copy-images",
        metavar="FOLDER",
        help="copy images that are not below the document root into DOCUMENT_ROOT/FOLDER",
    )
    p.add_argument(
        "--backend-url",
        help="connect the ILLUME backend at this URL, as Label Studio reaches it "
        "(e.g. http://illume:9090 in Docker); Label Studio then adds its webhook",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the items and images and print what would be imported; no Label Studio call",
    )


def run(args: argparse.Namespace) -> int:
    """`illume import`: errors are one line on stderr and exit 2."""
    import os

    import httpx
    from label_studio_sdk.core.api_error import ApiError

    from ml_backend import lsclient
    from ml_backend.config import Settings

    root = args.document_root or os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT") or None
    try:
        items, errors = read_items(args.items, args.images, args.csv)
        prepared = prepare(items, root, args.copy_images)
    except ImportError_ as e:
        return _fail(str(e))
    refused = errors + prepared.refused
    for rid, why in refused:
        print(f"skipped {rid}: {why}", file=sys.stderr)
    if not prepared.rows:
        return _fail(f"no item can be imported ({len(refused)} refused; see above)")
    if prepared.cloud:
        print(
            f"note: {', '.join(sorted(prepared.cloud))} image URLs: add the matching cloud "
            "storage to the project in Label Studio so it can sign them",
            file=sys.stderr,
        )
    if args.dry_run:
        print(f"{len(prepared.rows)} tasks ready, {len(refused)} refused (dry run: nothing sent)")
        return 0
    config = None
    if args.label_config:
        if not Path(args.label_config).is_file():
            return _fail(f"no labeling config {args.label_config}")
        config = Path(args.label_config).read_text()
    settings = Settings.from_env()
    try:
        client = lsclient.make_client(settings)
        if args.project is not None and not lsclient.project_exists(client, args.project):
            return _fail(f"project {args.project} does not exist")
        result = import_project(
            client,
            prepared.rows,
            project=args.project,
            title=args.title,
            config=config,
            set_config=args.set_config,
            document_root=Path(root).resolve() if root else None,
            folders=prepared.folders,
            backend_url=args.backend_url,
        )
    except lsclient.LabelStudioError as e:
        return _fail(str(e))
    except (ApiError, httpx.HTTPError, OSError) as e:  # refused or unreachable: one line
        return _fail(f"Label Studio at {settings.label_studio_url}: {lsclient._why(e)}")
    print(summary(result, len(refused)))
    return 0


def summary(r: ImportResult, refused: int) -> str:
    what = "created" if r.created else "existing"
    lines = [
        f"project {r.project} ({what}): {r.imported} tasks imported, "
        f"{r.skipped} already there, {refused} refused"
    ]
    lines += [f"  storage {s}" for s in r.storages]
    if r.backend:
        lines.append(f"  backend {r.backend} connected; webhook {r.webhook}")
    else:
        lines.append("  no --backend-url: connect the backend in the project's Model settings")
    return "\n".join(lines)


def _fail(msg: str) -> int:
    print(f"illume import: error: {msg}", file=sys.stderr)
    return 2
