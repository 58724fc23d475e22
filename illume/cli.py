"""`illume`: one command-line entry point for every user-facing job.

    illume sample    --items F --out F      candidate rationales per item
    illume tune      --items F --rationales F --versions DIR   one tuning round (DeepSpeed)
    illume magma-import --checkpoint F --out DIR   MAGMA's checkpoint -> --model magma:DIR
  the benchmark kit's (illume_bench.commands):
    illume critique  --candidates F --items F --out F
    illume calibrate --items F --split val
    illume evaluate  --predictions F --items F [--json F]
    illume prompts   --items F              pick the explanation prompt (Table 2 form)
    illume zeroshot  --models A,B --items F --out DIR   Table 2 across models
    illume loop      --items F --critic rouge --rounds N --out DIR
    illume data      easy-vqa-x | shapes-x | vqa-x   build or import item files
  the backend's (ml_backend.commands):
    illume serve     --host H --port P      the Label Studio ML backend
    illume export    --project ID --format jsonl|vqax|hf --out PATH
    illume worker    --queues sample,train  a queue worker (RQ on Redis)

Every command is offline; `--help` on each says more.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from illume.items import load_items, write_jsonl

log = logging.getLogger("illume")

PLUGIN_GROUP = "illume.commands"


def _model_args(p: argparse.ArgumentParser) -> None:
    from illume.models import ModelChoice

    ModelChoice.add_arguments(p)
    p.add_argument("--model-version", help="a tuned version folder to load (adapters)")


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
    """The items a command works on; UsageError when there are none (an empty file, a split
    no item has, every item invalid): a run on nothing is a wrong call, not a success."""
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    items, errors = require_items(args.items, split=args.split)
    if args.limit:
        items = items[: args.limit]
    return items, errors


def require_items(path: str, split: str | None = None):
    """`load_items`, refusing a file with no usable item (one line saying why)."""
    items, errors = load_items(path, split=split)
    if not items:
        what = f"no item of split {split!r}" if split else "no item"
        why = f"; first error: {errors[0][0]}: {errors[0][1]}" if errors else ""
        raise UsageError(f"{path}: {what}{why}")
    return items, errors


def positive(name: str, value: int | float | None, zero: bool = False) -> None:
    """UsageError unless `value` is > 0 (>= 0 with `zero`); None passes (not given)."""
    if value is not None and (value < 0 or (value == 0 and not zero)):
        need = "0 or more" if zero else "more than 0"
        raise UsageError(f"{name} must be {need}, got {value}")


def cmd_sample(args: argparse.Namespace) -> int:
    from illume import api
    from illume.configargs import from_args
    from illume.sample import SampleConfig

    items, errors = _read_items(args)
    sampler = api.sampler(_load_model(args), from_args(SampleConfig, args))
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


def cmd_magma_import(args: argparse.Namespace) -> int:
    from illume.models.magma.import_command import main as magma_import_main

    return magma_import_main(args)


def cmd_tune(args: argparse.Namespace) -> int:
    """One tuning round as a child job (`python -m training.train`, under a launcher)."""
    import subprocess

    from illume.api import run_tune_job
    from illume.configargs import from_args
    from illume.models import ModelChoice
    from illume.tune import TuneConfig
    from illume.tunejob import Launch, TuneJob

    try:
        version = run_tune_job(
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


def build_parser(plugins: Iterable[Callable] | None = None) -> argparse.ArgumentParser:
    """Every subcommand: the engine's own, then those the installed packages register.

    `plugins` are functions that add subparsers (`register(subparsers)`); by
    default those of the entry-point group `illume.commands` (the benchmark kit's and
    the backend's), so the engine imports neither of them, nor the trainer.
    """
    from illume.configargs import add_arguments
    from illume.models import ModelChoice
    from illume.sample import SampleConfig
    from illume.tune import TuneConfig
    from illume.tunejob import Launch, TuneJob

    ap = argparse.ArgumentParser(
        prog="illume", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="sample candidate rationales for items")
    _items_arg(p)
    _model_args(p)
    p.add_argument("--out", required=True, help="candidates JSONL to write")
    add_arguments(p.add_argument_group("sampling"), SampleConfig)
    p.set_defaults(func=cmd_sample)

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

    from illume.models.magma.import_command import add_arguments as magma_import_arguments

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


class UsageError(ValueError):
    """A wrong call (a value out of range, an empty input): one line on stderr, exit 2."""


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. A wrong call ends in one line on stderr and exit 2, never a
    traceback: commands raise ValueError (or FileNotFoundError) for what the caller can fix.
    Anything else is a bug or a broken environment: one line too, exit 1, and `-v` shows
    the traceback."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    where = f"illume {args.command}"
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"{where}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # a command that exits with a message (a str code)
        if isinstance(e.code, str):
            print(f"{where}: error: {_one_line(e.code)}", file=sys.stderr)
            return 2
        raise
    except Exception as e:
        if args.verbose:
            raise
        print(
            f"{where}: failed: {type(e).__name__}: {_one_line(e)} (-v shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _one_line(e: BaseException | str) -> str:
    return " ".join(str(e).split()) or type(e).__name__


if __name__ == "__main__":
    sys.exit(main())
