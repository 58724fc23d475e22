"""`illume`: one command-line entry point for every user-facing job.

    illume sample    --items F --out F      candidate rationales per item
    illume critique  --candidates F --items F --out F
    illume evaluate  --predictions F --items F [--json F]
    illume prompts   --items F              pick the explanation prompt (Table 2 form)
    illume zeroshot  --models A,B --items F --out DIR   Table 2 across models
    illume tune      --items F --rationales F --versions DIR   one tuning round (DeepSpeed)
    illume loop      --items F --critic rouge --rounds N --out DIR
    illume serve     --host H --port P      the Label Studio ML backend (registered by it)
    illume export    --project ID --format jsonl|vqax|hf --out PATH   (the backend's too)
    illume data      easy-vqa-x | shapes-x | vqa-x   build or import item files
    illume magma-import --checkpoint F --out DIR   MAGMA's checkpoint -> --model magma:DIR

Every command is offline; `--help` on each says more.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path

from illume.items import load_items, write_jsonl

log = logging.getLogger("illume")

PLUGIN_GROUP = "illume.commands"


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
    from illume.configargs import from_args
    from illume.critics import make_critic
    from illume.critique import CriticConfig, critique_file, format_summary

    critic = make_critic(from_args(CriticConfig, args))
    summary = critique_file(args.candidates, args.items, args.out, critic)
    print(format_summary(summary))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from illume.configargs import from_args
    from illume.critics.semantic import SemanticCritic, calibrate_semantic
    from illume.critique import CriticConfig

    items, _ = load_items(args.items)
    chosen = [it for it in items if args.split in ("all", it.split)]
    result = calibrate_semantic(chosen, SemanticCritic(from_args(CriticConfig, args)))
    result["items"], result["split"] = len(chosen), args.split
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
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
    from illume.models.magma.cli import main as magma_import_main

    return magma_import_main(args)


def cmd_tune(args: argparse.Namespace) -> int:
    """One tuning round as a child job (`python -m training.train`, under a launcher)."""
    import subprocess

    from illume.configargs import from_args
    from illume.models import ModelChoice
    from illume.tune import TuneConfig
    from illume.tunejob import Launch, TuneJob, run_job

    try:
        version = run_job(
            from_args(TuneJob, args),
            from_args(TuneConfig, args),
            ModelChoice.from_args(args),
            from_args(Launch, args),
        )
    except ValueError as e:  # settings that cannot work together (e.g. --hostfile, torchrun)
        print(f"illume tune: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:  # the job has logged why
        print(f"illume tune: the tuning job exited {e.returncode}", file=sys.stderr)
        return e.returncode or 1
    print(version)
    return 0


def cmd_loop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from illume.configargs import from_args
    from illume.loop import LoopConfig, run_loop
    from illume.models import ModelChoice

    config = replace(from_args(LoopConfig, args), model=ModelChoice.from_args(args))
    report = run_loop(args.items, args.out, config)
    from illume.report import agreement_table, final_table, round_notes, rounds_table, summary_lines

    print(rounds_table(report["rounds"]))
    print("\n".join(round_notes(report["rounds"])))
    print(agreement_table(report["rounds"]))
    print()
    print(final_table(report["final"]))
    print("\n".join(summary_lines(report["rounds"], report["final"])))
    print(f"report: {args.out}/report.md, {args.out}/report.png")
    return 0


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


def build_parser(plugins: Iterable[Callable] | None = None) -> argparse.ArgumentParser:
    """Every subcommand: the engine's own, then those the installed packages register.

    `plugins` are functions that add subparsers (`register(subparsers)`); by
    default those of the entry-point group `illume.commands` (the backend's
    `serve` and `export`), so the engine imports neither backend nor trainer.
    """
    from illume.configargs import add_arguments
    from illume.critique import CriticConfig
    from illume.loop import LoopConfig
    from illume.models import ModelChoice
    from illume.sample import EXPLANATION_PROMPTS, SampleConfig
    from illume.tune import TuneConfig
    from illume.tunejob import Launch, TuneJob

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

    p = sub.add_parser(
        "critique", help="score candidates: --critic rouge | facts | semantic | annotator"
    )
    p.add_argument("--candidates", required=True)
    p.add_argument("--items", required=True)
    p.add_argument("--out", required=True)
    add_arguments(p, CriticConfig)
    p.set_defaults(func=cmd_critique)

    p = sub.add_parser(
        "calibrate",
        help="the semantic critic's threshold from a split's references (docs/critics.md)",
    )
    p.add_argument("--items", required=True)
    p.add_argument("--split", default="val", choices=["train", "val", "test", "all"])
    p.add_argument("--json", help="also write the result as JSON")
    add_arguments(p, CriticConfig, exclude=("kind", "threshold", "semantic_threshold", "beta"))
    p.set_defaults(func=cmd_calibrate)

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
        "tune",
        help="tune adapters on fitting rationales (DeepSpeed), publish a version",
        description="Runs `python -m training.train` as a child process (under torchrun or "
        "deepspeed for several ranks) and prints the path of the version it published.",
    )
    add_arguments(p.add_argument_group("job"), TuneJob)
    add_arguments(p.add_argument_group("tuning"), TuneConfig)
    ModelChoice.add_arguments(p.add_argument_group("model"))
    add_arguments(p.add_argument_group("launch"), Launch)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser(
        "loop",
        help="the ILLUME loop with an automatic critic (benchmark)",
        description="Tuning flags as in `illume tune`; sampling's start with --sample-, "
        "the critic's with --critic-.",
    )
    p.add_argument("--items", required=True)
    p.add_argument("--out", required=True, help="run folder (re-run the command to resume)")
    add_arguments(p, LoopConfig)
    ModelChoice.add_arguments(p.add_argument_group("model"))
    p.set_defaults(func=cmd_loop)

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

    from illume.models.magma.cli import add_arguments as magma_import_arguments

    p = sub.add_parser(
        "magma-import",
        help="import MAGMA's published checkpoint for --model magma:<folder>",
        description="Map MAGMA's DeepSpeed checkpoint (mp_rank_00_model_states.pt) onto our "
        "MAGMA through an explicit key map, report mapped/dropped/unexpected/missing keys, "
        "and write a folder that --model magma:<folder> loads.",
    )
    magma_import_arguments(p)
    p.set_defaults(func=cmd_magma_import)
    for register in registered_commands() if plugins is None else plugins:
        register(sub)
    return ap


def registered_commands() -> list[Callable]:
    """The `register(subparsers)` functions of the entry-point group `illume.commands`."""
    return [ep.load() for ep in entry_points(group=PLUGIN_GROUP)]


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
