"""The demo project worked round after round by a careful annotator.

Against the real demo stack (Label Studio + the ILLUME backend + the embedded
model), in a throwaway folder under runs/ (deleted at the end unless --keep):

1. start Label Studio and the backend, create the demo project (the bundled
   photo items, or the first --photos of them, + --easy-vqa shape items) and
   wait until every task shows candidates;
2. each round (--rounds): every unresolved task's candidates are read through
   the SDK and judged by a critic (--annotator-critic: `annotator`, the
   simulated careful annotator of docs/guide/critics.md, or `rouge`, coco ROUGE-L
   >= 0.7) against the task's reference rationales (and the item's facts);
   an annotation ticks exactly the fitting ones, or says "none of these
   fits" (the task then stays unresolved and gets the next version's
   candidates, as the backend expects: ml_backend/labels.is_resolved);
3. "Start training" (the SDK's ml.train: Label Studio posts START_TRAINING to
   the backend's /webhook; ILLUME_TRAIN_EVERY=0, so only that starts a
   round), then it waits for the new version and for every open task to show
   its candidates, printing progress every ~15 s;
4. per round and group (photos: item ids "demo-...", shapes: the rest): open
   tasks, those offered a fitting candidate (by the annotator critic and by
   ROUGE-L >= 0.7), the share of the options shown on open tasks that the
   annotator ticks (per version: is v1's list better than v0's on tasks it has
   no tick on?), resolved this round and in all, the versions judged
   and published, seconds. A JSON (--json) and a table; a few ticked photo
   candidates as examples.

Everything it started stops at the end, on Ctrl-C and on error.

    .venv/bin/python bench/annotator_demo.py                       # the measurement
    .venv/bin/python bench/annotator_demo.py --photos 3 --easy-vqa 3 --rounds 1 \\
        --n-per-temperature 1 --tune-args "--epochs 1" --json runs/smoke.json   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from illume_bench.critics import CriticConfig, make_critic  # noqa: E402
from ml_backend.demo.__main__ import (  # noqa: E402
    ensure_project,
    prepare_files,
    source_items,
    start_backend,
    wait_for_candidates,
)
from ml_backend.demo.ls_server import LabelStudioServer, ensure_installed, free_port  # noqa: E402
from ml_backend.labels import Labels, is_resolved  # noqa: E402
from ml_backend.testing.careful_annotator import annotation_result, judge_open_tasks, round_counts  # noqa: E402
from ml_backend.testing.fit_counts import group_of  # noqa: E402

PROGRESS_S = 15.0


def all_tasks(client, project: int) -> list[dict[str, Any]]:
    """Every task as plain JSON (data, annotations), read from Label Studio."""
    return [
        json.loads(json.dumps(t.model_dump(), default=str))
        for t in client.tasks.list(project=project, fields="all")
    ]


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def wait_round(
    client, project: int, backend_url: str, rounds_before: int, labels: Labels, timeout: float
) -> dict[str, Any]:
    """Until the round ran, and after a published version until every open task shows that
    version's candidates (or an error for it). Returns the round's record from /status."""
    start = last_print = time.monotonic()
    since = datetime.now(timezone.utc).isoformat(timespec="seconds")[:19]
    deadline = start + timeout
    record: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        status = get_json(f"{backend_url}/status")
        proj = status["projects"].get(str(project)) or {}
        ran = proj.get("rounds_run", 0) > rounds_before and not proj.get("round_running")
        if record is None and ran:
            record = proj.get("last_round") or {}
        live = status.get("round") or {}
        if str(live.get("started") or "")[:19] < since:
            live = {}  # an earlier round's
        version = (record or {}).get("version") if (record or {}).get("ok") else None
        version = version or live.get("version")
        open_tasks = [t for t in all_tasks(client, project) if not is_resolved(t, labels)]
        shown = sum(1 for t in open_tasks if t["data"].get("candidates_version") == version)
        if record is not None and (not record.get("ok") or shown == len(open_tasks)):
            return record
        if time.monotonic() - last_print >= PROGRESS_S:
            last_print = time.monotonic()
            what = f"round {live.get('state', 'queued')}"
            if "global_step" in live:
                what += f", step {live['global_step']}/{live.get('total_steps')}"
            if version:
                what += f"; {version}: candidates on {shown}/{len(open_tasks)} open tasks"
            print(f"  [{time.monotonic() - start:6.0f} s] {what}", flush=True)
        time.sleep(2)
    raise TimeoutError(f"the round did not finish within {timeout:.0f} s")


def run_round(
    n: int,
    client,
    project: int,
    ml_id: int,
    backend_url: str,
    critics: tuple[Any, Any],
    facts: dict[str, dict[str, str]],
    labels: Labels,
    timeout: float,
    examples: list[dict[str, Any]],
    group=group_of,
) -> dict[str, Any]:
    """Judge and annotate every open task (held-out ones: judged only), start training, wait
    for the new candidates."""
    t0 = time.monotonic()
    before = all_tasks(client, project)
    judged = judge_open_tasks(before, *critics, facts=facts, labels=labels, group=group)
    counts = held_out_unresolved(round_counts(before, judged, labels, group))
    data_of = {t["id"]: t["data"] for t in before}
    for j in judged:
        if j.group == HELD_OUT:
            continue
        client.annotations.create(id=j.task_id, result=annotation_result(j.ticks, labels))
        if j.group == "photos":
            d = data_of[j.task_id]
            examples += [
                {"round": n, "item_id": d.get("item_id"), "question": d.get("question"),
                 "answer": d.get("answer"), "ticked": t, "version": j.version}
                for t in j.ticks
            ]  # fmt: skip
    annotated_s = time.monotonic() - t0
    runs = get_json(f"{backend_url}/status")["projects"].get(str(project)) or {}
    print(
        f"round {n}: {sum(bool(j.ticks) for j in judged)}/{len(judged)} open tasks ticked; "
        "Start training ...",
        flush=True,
    )
    client.ml.train(id=ml_id)
    record = wait_round(client, project, backend_url, runs.get("rounds_run", 0), labels, timeout)
    return {
        "round": n,
        "judged_versions": sorted({j.version or "none" for j in judged}),
        "groups": {g: asdict(c) for g, c in counts.items()},
        "published": record.get("version") if record.get("ok") else None,
        "round_error": None if record.get("ok") else record.get("error"),
        "rationales": record.get("rationales"),
        "annotate_s": round(annotated_s, 1),
        "seconds": round(time.monotonic() - t0, 1),
    }


def final_offer(client, project: int, critics, facts, labels, group=group_of) -> dict[str, Any]:
    """What the last version offers the still open tasks (judged, not annotated)."""
    tasks = all_tasks(client, project)
    judged = judge_open_tasks(tasks, *critics, facts=facts, labels=labels, group=group)
    counts = held_out_unresolved(round_counts(tasks, judged, labels, group))
    return {
        "judged_versions": sorted({j.version or "none" for j in judged}),
        "groups": {g: asdict(c) for g, c in counts.items()},
    }


HELD_OUT = "held-out"
"""The group of shape tasks the annotator never annotates (--held-out): every version's
candidates on them are judged, so v0, v1, v2 are compared on the same tasks, none of
which any version was tuned on a tick of."""


def held_out_grouping(rows: list[dict[str, Any]], n: int):
    """A task's group: "held-out" for the last n shape items, else photos / shapes."""
    shapes = [r["item_id"] for r in rows if group_of(r) == "shapes"]
    held = set(shapes[len(shapes) - n :]) if n else set()
    return lambda data: HELD_OUT if data.get("item_id") in held else group_of(data)


def held_out_unresolved(counts: dict[str, Any]) -> dict[str, Any]:
    """Held-out tasks are never annotated: what a fit offered there resolves nothing."""
    if HELD_OUT in counts:
        counts[HELD_OUT].resolved_this_round = counts[HELD_OUT].resolved_total = 0
    return counts


def one_per_item(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first ticked candidate of each photo item and round (the rest are alike)."""
    seen: set[tuple[Any, Any]] = set()
    out = []
    for e in examples:
        if (e["item_id"], e["round"]) not in seen:
            seen.add((e["item_id"], e["round"]))
            out.append(e)
    return out


def table(rows: list[dict[str, Any]], final: dict[str, Any]) -> str:
    head = (
        "| round | group | judged | open | fit (annotator) | fit (rouge) "
        "| options ticked | resolved | total | published | s |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in [*rows, {"round": "after", **final}]:
        for g, c in row["groups"].items():
            lines.append(
                f"| {row['round']} | {g} | {','.join(row['judged_versions'])} | {c['open']} "
                f"| {c['offered_fit_annotator']} | {c['offered_fit_rouge']} "
                f"| {c['options_fit']}/{c['options_shown']} "
                f"| {c['resolved_this_round'] if row['round'] != 'after' else '-'} "
                f"| {c['resolved_total']}/{c['tasks']} | {row.get('published') or '-'} "
                f"| {row.get('seconds', '-')} |"
            )
    return "\n".join(lines)


def stop_group(proc) -> None:
    """Stop a process started in its own session, and its children (the tuning job)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--easy-vqa", type=int, default=20, help="easy-vqa-x shape tasks")
    ap.add_argument("--photos", type=int, default=None, help="first N photo items (default all)")
    ap.add_argument(
        "--held-out",
        type=int,
        default=0,
        help="of the shape tasks, the last N are never annotated: each version's options "
        "on them are judged only (is v1 better than v0 on tasks it learned nothing of?)",
    )
    ap.add_argument("--annotator-critic", choices=("annotator", "rouge"), default="annotator")
    ap.add_argument("--n-per-temperature", type=int, default=None, help="ILLUME_N_PER_TEMPERATURE")
    ap.add_argument("--tune-args", default=None, help='ILLUME_TUNE_ARGS, e.g. "--epochs 1"')
    ap.add_argument(
        "--json", default=str(REPO / "docs" / "results" / "bench" / "annotator-demo.json")
    )
    ap.add_argument("--dir", default=str(REPO / "runs" / "annotator-demo"), help="work folder")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--timeout", type=float, default=3600, help="s per wait (candidates, round)")
    args = ap.parse_args(argv)

    work = Path(args.dir).resolve() / datetime.now().strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True)
    ensure_installed()
    ls = LabelStudioServer(work / "label-studio", local_files_root=work / "files")
    rows = prepare_files(ls.local_files_root, args.easy_vqa, args.photos)
    group = held_out_grouping(rows, args.held_out)
    facts = {
        it.id: it.facts for it in source_items(ls.local_files_root, args.easy_vqa, args.photos)
    }
    env = {"ILLUME_TRAIN_EVERY": "0", "ILLUME_ROUND_DEBOUNCE_S": "0"}
    if args.n_per_temperature is not None:
        env["ILLUME_N_PER_TEMPERATURE"] = str(args.n_per_temperature)
    if args.tune_args is not None:
        env["ILLUME_TUNE_ARGS"] = args.tune_args
    config = CriticConfig()
    critic = make_critic(config, args.annotator_critic)
    critics = (critic, make_critic(config, "rouge"))
    load_before = os.getloadavg()
    started = time.monotonic()
    backend = None
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        ls.start()
        print(f"[{time.monotonic() - started:6.0f} s] Label Studio is up on {ls.url}", flush=True)
        backend_url = f"http://127.0.0.1:{free_port()}"
        backend = start_backend(ls, int(backend_url.rsplit(":", 1)[1]), work, env)
        print(f"[{time.monotonic() - started:6.0f} s] backend is up on {backend_url}", flush=True)
        from label_studio_sdk import LabelStudio

        client = LabelStudio(base_url=ls.url, api_key=ls.token)
        project = ensure_project(client, ls, rows, backend_url)
        ml_id = next(b.id for b in client.ml.list(project=project) if b.url == backend_url)
        labels = Labels.from_config(client.projects.get(id=project).label_config)
        done, total = wait_for_candidates(client, project, started, args.timeout, "(benchmark)")
        if done < total:
            raise TimeoutError(f"candidates on only {done}/{total} tasks")
        ready_s = time.monotonic() - started
        results: list[dict[str, Any]] = []
        examples: list[dict[str, Any]] = []
        for n in range(1, args.rounds + 1):
            row = run_round(
                n, client, project, ml_id, backend_url, critics, facts, labels,
                args.timeout, examples, group,
            )  # fmt: skip
            results.append(row)
            print(f"round {n} done in {row['seconds']:.0f} s: published {row['published']}")
        final = final_offer(client, project, critics, facts, labels, group)
        photos = results[-1]["groups"].get("photos", {}) if results else {}
        out = {
            "what": "demo project worked by a careful annotator",
            "command": shlex.join(["python", "bench/annotator_demo.py", *(argv or sys.argv[1:])]),
            "settings": {
                "rounds": args.rounds,
                "photos": sum(group_of(r) == "photos" for r in rows),
                "shapes": sum(group_of(r) == "shapes" for r in rows),
                "held_out": args.held_out,
                "annotator_critic": args.annotator_critic,
                "backend_env": env,
            },
            "ready_s": round(ready_s, 1),
            "rounds": results,
            "after_last_round": final,
            "photos_resolved_after_last_round": photos.get("resolved_total"),
            "every_round_offers_a_fit": all(
                any(c["offered_fit_annotator"] for c in r["groups"].values()) for r in results
            ),
            "examples_photos": one_per_item(examples)[:10],
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "total_s": round(time.monotonic() - started, 1),
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print("\n" + table(results, final))
        print("\nticked on photo tasks (examples):")
        for e in one_per_item(examples)[:5]:
            print(
                f"  {e['item_id']} ({e['version']}): {e['question']} {e['answer']} -> {e['ticked']}"
            )
        if not examples:
            print("  none")
        print(f"\nwrote {args.json} ({out['total_s']:.0f} s in all)")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping ...")
        return 130
    finally:
        if backend is not None:
            stop_group(backend)
        ls.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
