"""`illume`: one command-line entry point for every user-facing job.

    illume sample    --items F --out F      candidate rationales per item
    illume critique  --candidates F --items F --out F
    illume evaluate  --predictions F --items F [--json F]
    illume prompts   --items F              pick the explanation prompt (Table 2 form)
    illume zeroshot  --models A,B --items F --out DIR   Table 2 across models
    illume tune      --items F --feedback F --versions DIR   one tuning round (DeepSpeed)
    illume loop      --items F --critic rouge --rounds N --out DIR
    illume serve     --host H --port P      the Label Studio ML backend
    illume export    --project ID --format jsonl|vqax|hf --out PATH
    illume data      easy-vqa-x | shapes-x | vqa-x   build or import item files
    illume magma-import --checkpoint F --out DIR   MAGMA's checkpoint -> --model magma:DIR

Every command is offline; `--help` on each says more.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from illume.items import load_items, write_jsonl

log = logging.getLogger("illume")


def _model_args(p: argparse.ArgumentParser) -> None:
    from illume.models import ModelChoice

    ModelChoice.add_arguments(p)
    p.add_argument("--model-version", help="a tuned version folder to load (adapters)")
    p.add_argument("--seed", type=int, default=0)


def _load_model(args: argparse.Namespace):
    from illume.models import ModelChoice, load_model

    return load_model(ModelChoice.from_args(args), args.model_version)


def _items_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--items", required=required, help="items JSONL (id, image, question, answer, ...)"
    )
    p.add_argument("--split", help="only items of this split (train, val, test)")
    p.add_argument("--limit", type=int, help="only the first N items")


def _read_items(args: argparse.Namespace):
    items, errors = load_items(args.items, split=args.split)
    if args.limit:
        items = items[: args.limit]
    return items, errors


def cmd_sample(args: argparse.Namespace) -> int:
    from illume.sample import SampleConfig, Sampler

    items, errors = _read_items(args)
    cfg = SampleConfig(
        n_per_temperature=args.n,
        temperatures=tuple(args.temperatures),
        explanation_prompts=tuple(args.prompts),
        batch_items=args.batch_items,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
    )
    sampler = Sampler(_load_model(args), cfg)
    stats = {"ok": 0, "failed": len(errors), "candidates": 0}

    def rows():
        for rid, err in errors:
            log.warning("item %s failed: %s", rid, err)
            yield {"id": rid, "error": err}
        for result in sampler.sample(items):
            if result.error:
                stats["failed"] += 1
                log.warning("item %s failed: %s", result.id, result.error)
            else:
                stats["ok"] += 1
                stats["candidates"] += len(result.candidates)
            yield result.to_dict()

    write_jsonl(args.out, rows())
    print(
        f"{stats['ok']} items sampled, {stats['failed']} failed, "
        f"{stats['candidates']} candidates -> {args.out}"
    )
    return 0


def cmd_critique(args: argparse.Namespace) -> int:
    from illume.critique import CriticConfig, critique_file, format_summary

    summary = critique_file(
        args.candidates, args.items, args.out, CriticConfig(threshold=args.threshold)
    )
    print(format_summary(summary))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from illume.evaluate import evaluate_file, format_table

    result = evaluate_file(args.predictions, args.items, json_out=args.json)
    print(format_table(result))
    return 0


def cmd_prompts(args: argparse.Namespace) -> int:
    from illume.prompts import score_prompts

    items, _ = _read_items(args)
    rows = score_prompts(_load_model(args), items, args.prompts)
    print("| explanation prompt | n | B-4 | R-L | CIDEr |\n|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['prompt']} | {r['n']} | {100 * r['Bleu_4']:.2f} | "
            f"{100 * r['ROUGE_L']:.2f} | {100 * r['CIDEr']:.2f} |"
        )
    print(f"best explanation prompt: {rows[0]['prompt']!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def cmd_zeroshot(args: argparse.Namespace) -> int:
    from illume.models import ModelChoice
    from illume.sample import SampleConfig
    from illume.zeroshot import ZeroShotConfig, compare, write

    items, _ = _read_items(args)
    models = [
        ModelChoice.from_env(
            model=spec.strip(), dtype=args.dtype, device=args.device, device_map=args.device_map
        )
        for spec in args.models.split(",")
        if spec.strip()
    ]
    for choice in models:
        _ = choice.family  # a typo fails before any model loads
    config = ZeroShotConfig(
        prompts=tuple(args.prompts),
        sample=SampleConfig(n_per_temperature=args.n, seed=args.seed),
        sample_items=args.sample_items,
    )
    print(write(args.out, compare(models, items, config)))
    print(f"report: {args.out}/zeroshot.md, {args.out}/zeroshot.png")
    return 0


def cmd_magma_import(args: argparse.Namespace) -> int:
    from illume.models.magma_cli import main as magma_import_main

    return magma_import_main(args)


def cmd_tune(args: argparse.Namespace) -> int:
    """One tuning round as a job: in this process, or under a launcher for several ranks."""
    import subprocess

    forward = [
        "--items",
        args.items,
        "--feedback",
        args.feedback,
        "--versions",
        args.versions,
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--train-split",
        args.train_split,
    ]
    from illume.models import ModelChoice

    if args.base:
        forward += ["--base", args.base]
    forward += ModelChoice.from_args(args).to_args()
    if args.nproc > 1 or args.launcher == "deepspeed":
        launcher = (
            ["deepspeed", "--num_gpus", str(args.nproc)]
            if args.launcher == "deepspeed"
            else ["torchrun", "--nproc_per_node", str(args.nproc)]
        )
        return subprocess.call([*launcher, "-m", "training.train", *forward])
    from training.train import main as train_main

    return train_main(forward)


def cmd_loop(args: argparse.Namespace) -> int:
    from illume.critique import CriticConfig
    from illume.loop import LoopConfig, run_loop
    from illume.models import ModelChoice
    from illume.sample import SampleConfig

    config = LoopConfig(
        rounds=args.rounds,
        train_limit=args.train_limit,
        val_limit=args.val_limit,
        test_limit=args.test_limit,
        baselines=tuple(args.baseline),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        model=ModelChoice.from_args(args),
        sample=SampleConfig(
            n_per_temperature=args.n, explanation_prompts=(args.prompt,), seed=args.seed
        ),
        critic=CriticConfig(threshold=args.threshold),
        launcher=(["torchrun", "--nproc_per_node", str(args.nproc)] if args.nproc > 1 else []),
    )
    if args.critic != "rouge":
        raise ValueError(
            "the loop without people uses --critic rouge (Label Studio is the human one)"
        )
    report = run_loop(args.items, args.out, config)
    from illume.report import final_table, rounds_table, summary_lines

    print(rounds_table(report["rounds"]))
    print()
    print(final_table(report["final"]))
    print("\n".join(summary_lines(report["rounds"], report["final"])))
    print(f"report: {args.out}/report.md, {args.out}/report.png")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ml_backend.server import serve

    serve(args.host, args.port, threads=args.threads)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ml_backend.export import main as export_main

    return export_main(["--project", str(args.project), "--format", args.format, "--out", args.out])


def cmd_data(args: argparse.Namespace) -> int:
    if args.dataset == "shapes-x":
        from illume.data.shapesx import cli_data

        return cli_data(args)
    if args.dataset == "easy-vqa-x":
        from illume.data.easyvqa import build_easy_vqa_x

        counts = build_easy_vqa_x(
            args.out,
            seed=args.seed,
            max_train=args.max_train,
            max_val=args.max_val,
            max_test=args.max_test,
            with_explanations=not args.no_explanations,
        )
        print(f"easy-vqa-x -> {args.out}/items.jsonl: {counts}")
    else:
        from illume.data.vqax import import_vqax

        items = import_vqax(args.json, args.image_root, args.split)
        n = write_jsonl(args.out, (it.to_dict() for it in items))
        print(f"VQA-X {args.split}: {n} items -> {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from illume.models import ModelChoice
    from illume.sample import EXPLANATION_PROMPTS, SampleConfig

    defaults = SampleConfig()
    ap = argparse.ArgumentParser(
        prog="illume", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="sample candidate rationales for items")
    _items_arg(p)
    _model_args(p)
    p.add_argument("--out", required=True, help="candidates JSONL to write")
    p.add_argument(
        "--n", type=int, default=defaults.n_per_temperature, help="samples per temperature"
    )
    p.add_argument("--temperatures", type=float, nargs="+", default=list(defaults.temperatures))
    p.add_argument(
        "--prompts",
        nargs="+",
        default=list(defaults.explanation_prompts),
        help="explanation prompt(s)",
    )
    p.add_argument("--batch-items", type=int, default=defaults.batch_items)
    p.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("critique", help="score candidates against reference explanations (ROUGE-L)")
    p.add_argument("--candidates", required=True)
    p.add_argument("--items", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threshold", type=float, default=0.7, help="fitting if ROUGE-L >= this")
    p.set_defaults(func=cmd_critique)

    p = sub.add_parser("evaluate", help="BLEU-1..4, METEOR, ROUGE-L, CIDEr (pycocoevalcap)")
    p.add_argument("--predictions", required=True, help='JSONL lines {"id", "text"}')
    p.add_argument("--items", required=True)
    p.add_argument("--json", help="also write the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("prompts", help="score explanation prompts zero-shot, pick the best")
    _items_arg(p)
    _model_args(p)
    p.add_argument("--prompts", nargs="+", default=list(EXPLANATION_PROMPTS))
    p.add_argument("--json", help="also write the table (with predictions) as JSON")
    p.set_defaults(func=cmd_prompts)

    p = sub.add_parser("zeroshot", help="the paper's Table 2 for several models")
    p.add_argument(
        "--models",
        required=True,
        help="comma-separated: embedded, hf:<hub id or folder>, magma:<folder>",
    )
    _items_arg(p)
    p.add_argument("--out", required=True, help="folder for zeroshot.json/.md/.png")
    p.add_argument("--prompts", nargs="+", default=list(EXPLANATION_PROMPTS))
    p.add_argument("--n", type=int, default=defaults.n_per_temperature, help="per temperature")
    p.add_argument("--sample-items", type=int, default=50, help="items the jabber is drawn on")
    ModelChoice.add_device_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_zeroshot)

    p = sub.add_parser(
        "tune", help="tune adapters on fitting rationales (DeepSpeed), publish a version"
    )
    p.add_argument("--items", required=True)
    p.add_argument("--feedback", required=True, help='JSONL of {"id", "text"}: fitting rationales')
    p.add_argument("--versions", required=True, help="versions folder (v0001, v0002, ...)")
    p.add_argument("--base", help="version to start from")
    p.add_argument(
        "--train-split", default="all", help="items that may feed X^A ('all' or a split)"
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16)
    ModelChoice.add_arguments(p)
    p.add_argument("--nproc", type=int, default=1, help="ranks (CPU processes or GPUs)")
    p.add_argument("--launcher", choices=["torchrun", "deepspeed"], default="torchrun")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("loop", help="the ILLUME loop with an automatic critic (benchmark)")
    p.add_argument("--items", required=True)
    p.add_argument("--out", required=True, help="run folder (re-run the command to resume)")
    p.add_argument("--critic", default="rouge", choices=["rouge"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline", action="append", default=[], choices=["same-gt", "full-gt"])
    p.add_argument("--train-limit", type=int)
    p.add_argument("--val-limit", type=int)
    p.add_argument("--test-limit", type=int)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--n", type=int, default=defaults.n_per_temperature)
    p.add_argument("--prompt", default=defaults.explanation_prompts[0])
    p.add_argument("--threshold", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    ModelChoice.add_arguments(p)
    p.add_argument("--nproc", type=int, default=1, help="CPU ranks for tuning (torchrun)")
    p.set_defaults(func=cmd_loop)

    p = sub.add_parser("serve", help="run the Label Studio ML backend (gunicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9090)
    p.add_argument("--threads", type=int, default=8)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export", help="export the curated rationale dataset of a project")
    p.add_argument("--project", required=True, type=int, help="Label Studio project id")
    p.add_argument("--format", choices=["jsonl", "vqax", "hf"], default="jsonl")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("data", help="build easy-vqa-x or shapes-x, or import VQA-X annotations")
    p.add_argument("dataset", choices=["easy-vqa-x", "shapes-x", "vqa-x"])
    p.add_argument("--scenes", type=int, help="shapes-x: number of scenes (default 2000)")
    p.add_argument("--out", required=True, help="folder (easy-vqa-x) or items JSONL (vqa-x)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-train", type=int)
    p.add_argument("--max-val", type=int)
    p.add_argument("--max-test", type=int)
    p.add_argument("--no-explanations", action="store_true", help="easy-vqa items only")
    p.add_argument("--json", help="VQA-X annotation JSON (vqaX_train.json, ...)")
    p.add_argument("--image-root", help="COCO image folder for VQA-X")
    p.add_argument("--split", default="train", help="split name for imported VQA-X items")
    p.set_defaults(func=cmd_data)

    from illume.models.magma_cli import add_arguments as magma_import_arguments

    p = sub.add_parser(
        "magma-import",
        help="import MAGMA's published checkpoint for --model magma:<folder>",
        description="Map MAGMA's DeepSpeed checkpoint (mp_rank_00_model_states.pt) onto our "
        "MAGMA through an explicit key map, report mapped/dropped/unexpected/missing keys, "
        "and write a folder that --model magma:<folder> loads.",
    )
    magma_import_arguments(p)
    p.set_defaults(func=cmd_magma_import)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"illume {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
