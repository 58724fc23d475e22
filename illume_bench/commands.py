"""The benchmark kit's `illume` subcommands, registered through the entry-point group
`illume.commands` (pyproject.toml), so the engine's command line never imports the kit:

    illume critique  --candidates F --items F --out F [--critic KIND]  (rouge, facts, semantic,
                     annotator, annotator-rouge)
    illume calibrate --items F --split val      the semantic critic's threshold
    illume evaluate  --predictions F --items F [--json F]
    illume prompts   --items F                  pick the explanation prompt (Table 2 form)
    illume zeroshot  --models A,B --items F --out DIR   Table 2 across models
    illume loop      --items F --critic rouge --rounds N --out DIR
    illume data      easy-vqa-x | shapes-x | vqa-x   build or import item files
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from illume.cli import (
    UsageError,
    _items_arg,
    _load_model,
    _model_args,
    _read_items,
    positive,
    require_items,
)
from illume.items import write_jsonl


def _lines(path: str):
    with open(path, encoding="utf-8") as f:
        yield from f


def cmd_critique(args: argparse.Namespace) -> int:
    from illume.configargs import from_args
    from illume_bench.critics import CriticConfig, make_critic
    from illume_bench.critics.files import critique_file, format_summary

    if not any(line.strip() for line in _lines(args.candidates)):
        raise UsageError(f"{args.candidates}: no candidate lines (write them with illume sample)")
    critic = make_critic(from_args(CriticConfig, args))
    summary = critique_file(args.candidates, args.items, args.out, critic)
    print(format_summary(summary))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from illume.configargs import from_args
    from illume_bench.critics import CriticConfig
    from illume_bench.critics.semantic import SemanticCritic, calibrate_semantic

    items, _ = require_items(args.items)
    chosen = [it for it in items if args.split in ("all", it.split)]
    if not chosen:
        raise UsageError(f"{args.items}: no item of split {args.split!r}")
    result = calibrate_semantic(chosen, SemanticCritic(from_args(CriticConfig, args)))
    result["items"], result["split"] = len(chosen), args.split
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from illume_bench.evaluate import MetricsError, evaluate_file, format_table

    require_items(args.items)
    try:
        result = evaluate_file(args.predictions, args.items, json_out=args.json)
    except MetricsError as e:  # nothing to score, or Java missing: said in one line
        raise UsageError(str(e)) from e
    print(format_table(result))
    return 0


def cmd_prompts(args: argparse.Namespace) -> int:
    from illume_bench.prompt_choice import score_prompts

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
    from illume_bench.zeroshot import ZeroShotConfig, compare, write

    items, _ = _read_items(args)
    models = [
        ModelChoice.from_env(
            model=spec.strip(), dtype=args.dtype, device=args.device, device_map=args.device_map
        )
        for spec in args.models.split(",")
        if spec.strip()
    ]
    if not models:
        raise UsageError("--models names no model (comma-separated, e.g. embedded,hf:ID)")
    for choice in models:
        choice.check()  # a typo or a missing folder fails before any model loads
    config = ZeroShotConfig(
        prompts=tuple(args.prompts),
        sample=SampleConfig(n_per_temperature=args.n_per_temperature, seed=args.seed),
        sample_items=args.sample_items,
    )
    print(write(args.out, compare(models, items, config)))
    print(f"report: {args.out}/zeroshot.md, {args.out}/zeroshot.png")
    return 0


def cmd_loop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from illume.configargs import from_args
    from illume.models import ModelChoice
    from illume_bench.loop import LoopConfig, run_loop

    require_items(args.items)
    config = replace(from_args(LoopConfig, args), model=ModelChoice.from_args(args))
    config.model.check()
    report = run_loop(args.items, args.out, config)
    from illume_bench.report import (
        agreement_table,
        final_table,
        round_notes,
        rounds_table,
        summary_lines,
    )

    print(rounds_table(report["rounds"]))
    print("\n".join(round_notes(report["rounds"])))
    print(agreement_table(report["rounds"]))
    print()
    print(final_table(report["final"]))
    print("\n".join(summary_lines(report["rounds"], report["final"])))
    print(f"report: {args.out}/report.md, {args.out}/report.png")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    for flag in ("scenes", "max_train", "max_val", "max_test"):
        positive("--" + flag.replace("_", "-"), getattr(args, flag), zero=flag != "scenes")
    if args.dataset == "shapes-x":
        from illume_bench.data.shapesx import cli_data

        return cli_data(args)
    if args.dataset == "easy-vqa-x":
        from illume_bench.data.easyvqa import build_easy_vqa_x

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
        from illume_bench.data.vqax import import_vqax

        if not args.json or not args.image_root:
            raise UsageError(
                "vqa-x needs --json (the annotation file, e.g. vqaX_val.json) and --image-root "
                "(the COCO image folder)"
            )
        warnings: list[str] = []
        try:
            items = import_vqax(args.json, args.image_root, args.split, warnings=warnings)
        except json.JSONDecodeError as e:
            raise UsageError(f"{args.json} is not JSON: {e}") from e
        if not items:
            first = f"; first: {warnings[0]}" if warnings else ""
            raise UsageError(f"{args.json}: no VQA-X record could be read{first}")
        n = write_jsonl(args.out, (it.to_dict() for it in items))
        print(f"VQA-X {args.split}: {n} items -> {args.out} ({len(warnings)} records skipped)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the kit's subcommands to `illume`'s parser."""
    from illume.configargs import add_arguments
    from illume.models import ModelChoice
    from illume.sample import EXPLANATION_PROMPTS, SampleConfig
    from illume_bench.critics import CriticConfig
    from illume_bench.loop import LoopConfig

    defaults = SampleConfig()
    p = sub.add_parser(
        "critique",
        help="score candidates: --critic rouge | facts | semantic | annotator | annotator-rouge",
    )
    p.add_argument("--candidates", required=True)
    p.add_argument("--items", required=True)
    p.add_argument("--out", required=True)
    add_arguments(p, CriticConfig)
    p.set_defaults(func=cmd_critique)

    p = sub.add_parser(
        "calibrate",
        help="the semantic critic's threshold from a split's references (docs/guide/critics.md)",
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
    p.add_argument(
        "--n-per-temperature",
        type=int,
        default=defaults.n_per_temperature,
        help="samples per temperature",
    )
    p.add_argument("--sample-items", type=int, default=50, help="items the jabber is drawn on")
    ModelChoice.add_device_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_zeroshot)

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
