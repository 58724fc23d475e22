"""`illume selftalk`: the paper's natural-language check of a VLM's core LM (Table 1).

    illume selftalk --data dev_rand_split.jsonl --format csqa [--model M] [--limit N]
                    [--baseline] [--out results.json]

Registered through the entry-point group `illume.commands` (pyproject.toml), like the
backend's commands, so the engine never imports the benchmark kit. Every error is one line
on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from illume_bench.selftalk.formats import FORMATS

DATA_HELP = """where the sets come from (none ships with ILLUME; see docs/guide/selftalk.md):
  csqa        dev_rand_split.jsonl         CommonsenseQA, tau-nlp.org/commonsenseqa
  copa        copa-dev.xml                 COPA, people.ict.usc.edu/~gordon/copa.html
  mctaco      dev_3783.tsv                 MC-TACO, github.com/CogComp/MCTACO
  piqa        valid.jsonl + valid-labels.lst   PIQA, yonatanbisk.com/piqa
  siqa        dev.jsonl + dev-labels.lst   Social-IQA, leaderboard.allenai.org/socialiqa
  winogrande  dev.jsonl (+ dev-labels.lst) WinoGrande, winogrande.allenai.org
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from illume.configargs import add_arguments as config_arguments
    from illume.models import ModelChoice
    from illume_bench.selftalk.protocol import SelfTalkConfig

    p.add_argument("--data", required=True, help="the set's file in its published format")
    p.add_argument("--format", required=True, help=f"one of: {', '.join(FORMATS)}")
    p.add_argument(
        "--labels",
        help="labels .lst for PIQA / Social-IQA / WinoGrande test-style files "
        "(default: <data stem>-labels.lst next to the data)",
    )
    p.add_argument("--limit", type=int, help="only the first N items")
    p.add_argument(
        "--baseline", action="store_true", help="only the baseline (no clarifications): fast"
    )
    p.add_argument("--out", help="write the summary and every item's result to this JSON file")
    p.add_argument("--name", help="the model's name in the table (default: --model)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("model")
    ModelChoice.add_arguments(g)
    g.add_argument("--model-version", help="a tuned version folder to load (adapters)")
    config_arguments(p.add_argument_group("self-talk"), SelfTalkConfig)


def run(args: argparse.Namespace) -> int:
    """The command; raises ValueError / FileNotFoundError on bad input (see `cmd_selftalk`)."""
    from tqdm import tqdm

    from illume.configargs import from_args
    from illume.models import ModelChoice, load_model
    from illume_bench.selftalk.accuracy import summarize, table
    from illume_bench.selftalk.formats import load
    from illume_bench.selftalk.protocol import SelfTalk, SelfTalkConfig

    if args.format not in FORMATS:
        raise ValueError(f"unknown --format {args.format!r}: use one of {', '.join(FORMATS)}")
    if args.limit is not None and args.limit <= 0:
        raise ValueError(f"--limit must be a positive number of items, not {args.limit}")
    instances = load(args.data, args.format, args.labels)
    if args.limit:
        instances = instances[: args.limit]
    if not instances:
        raise ValueError(f"{args.data}: no items to evaluate")
    config = from_args(SelfTalkConfig, args)
    choice = ModelChoice.from_args(args)
    _ = choice.family  # a typo fails before any model loads
    name = args.name or choice.model
    model = load_model(choice, args.model_version)
    selftalk = SelfTalk(model, args.format, config)
    results = []
    bar = tqdm(
        total=len(instances),
        desc=f"selftalk {args.format}",
        unit="item",
        disable=args.no_progress,
        file=sys.stderr,
    )
    for result in selftalk.run(instances, baseline_only=args.baseline):
        results.append(result)
        bar.update(1)
    bar.close()
    summary = summarize(results, args.format, name)
    summary["config"] = asdict(config)
    print(table([summary]))
    print(json.dumps(summary, indent=2))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = {**summary, "data": str(args.data), "items": [r.to_dict() for r in results]}
        out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


def cmd_selftalk(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"illume selftalk: error: {e}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction) -> None:
    """Add `selftalk` to the `illume` command line."""
    p = sub.add_parser(
        "selftalk",
        help="the paper's Table 1: self-talk accuracy of the model's LM on a commonsense set",
        description=__doc__ + "\n" + DATA_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=cmd_selftalk)
