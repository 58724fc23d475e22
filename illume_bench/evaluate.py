"""The metrics the field reports: BLEU-1..4, METEOR, ROUGE-L, CIDEr.

Computed by pycocoevalcap exactly as coco-caption's `COCOEvalCap.evaluate`
does: PTBTokenizer (Java) over references and predictions, then Bleu(4),
Meteor() (Java), Rouge() and Cider(), corpus-level. SPICE is left out: it
downloads Stanford CoreNLP on first use and fails offline.

Empty predictions: pycocoevalcap 1.2 scores an empty (or punctuation-only)
prediction 0 on every metric without failing, so such predictions are passed
through unchanged: they count as items in the corpus and pull the averages
down. Only line-breaking characters inside a text (\\r, \\n, form feed,
U+2028/U+2029) are turned into spaces first: the Java tokenizer would
otherwise split the text into two lines and shift every later sentence onto
the wrong item. No other input is changed, so results equal pycocoevalcap's.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from illume.items import Item, ItemError, load_items, read_jsonl
from illume_bench.fact_errors import fact_error_rate

METRICS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
"""Metric keys, pycocoevalcap's names, in the order papers print them."""

JAVA_HINT = (
    "METEOR and the PTB tokenizer (pycocoevalcap) need Java. Install a Java runtime, "
    "e.g. `apt-get install default-jre-headless` (Debian/Ubuntu), and make sure "
    "`java -version` works."
)

_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x85\u2028\u2029]")


class MetricsError(RuntimeError):
    """The metrics could not be computed (no Java, a Java process failed, no data)."""


def _require_java() -> None:
    if shutil.which("java") is None:
        raise MetricsError(f"no `java` on PATH. {JAVA_HINT}")


class _Meteor(Meteor):
    """pycocoevalcap's Meteor with clear errors and a close() that always finishes.

    The original starts its Java process in __init__ and only stops it in
    __del__, which can run at interpreter exit (hanging or complaining) and
    deadlocks when a failed compute_score left its lock held.
    """

    def __init__(self) -> None:
        _require_java()
        try:
            super().__init__()
        except OSError as e:
            raise MetricsError(f"could not start METEOR ({e}). {JAVA_HINT}") from e

    def compute_score(self, gts, res):  # noqa: ANN001, ANN201 (pycocoevalcap's signature)
        if getattr(self, "meteor_p", None) is None:
            raise MetricsError("METEOR was closed; open a new Scorers")
        try:
            return super().compute_score(gts, res)
        except (ValueError, OSError) as e:
            if self.lock.locked():  # pycocoevalcap leaves it held when it fails
                self.lock.release()
            detail = self._stderr_tail()
            raise MetricsError(
                f"METEOR (Java) failed: {e}" + (f"\n{detail}" if detail else "") + f"\n{JAVA_HINT}"
            ) from e

    def _stderr_tail(self) -> str:
        p = getattr(self, "meteor_p", None)
        if p is None or p.stderr is None:
            return ""
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return ""
        try:
            return p.stderr.read().decode(errors="replace").strip()[-2000:]
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        """Stop the Java process and reap it; safe to call twice."""
        p = getattr(self, "meteor_p", None)
        if p is None:
            return
        self.meteor_p = None
        locked = self.lock.acquire(timeout=5)
        try:
            for stream in (p.stdin, p.stdout, p.stderr):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        finally:
            if locked:
                self.lock.release()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from __del__
            self.close()


class Scorers:
    """pycocoevalcap's tokenizer and scorers, with one METEOR process for reuse.

    Starting METEOR costs seconds (Java loads its paraphrase tables); keep one
    `Scorers` open to evaluate several prediction sets (splits, rounds):

        with Scorers() as scorers:
            val = compute_metrics(val_preds, val_refs, scorers=scorers)
            test = compute_metrics(test_preds, test_refs, scorers=scorers)

    METEOR starts loading at construction, while tokenization runs.
    """

    def __init__(self) -> None:
        _require_java()
        self.tokenizer = PTBTokenizer()
        self.meteor = _Meteor()
        self.bleu = Bleu(4)
        self.rouge = Rouge()
        self.cider = Cider()

    def tokenize(self, texts: dict[str, list[str]]) -> dict[str, list[str]]:
        """PTB-tokenize {id: [texts]} as COCOEvalCap does (lowercased, punctuation dropped)."""
        data = {k: [{"caption": _LINE_BREAKS.sub(" ", t)} for t in v] for k, v in texts.items()}
        try:
            out = self.tokenizer.tokenize(data)
        except PermissionError as e:
            raise MetricsError(
                "pycocoevalcap's PTB tokenizer writes a temporary file next to its jar and "
                f"cannot ({e}); make that folder writable"
            ) from e
        except OSError as e:
            raise MetricsError(f"could not run the PTB tokenizer ({e}). {JAVA_HINT}") from e
        if set(out) != set(texts) or any(len(out[k]) != len(v) for k, v in texts.items()):
            raise MetricsError(f"the PTB tokenizer (Java) returned incomplete output. {JAVA_HINT}")
        return out

    def score(self, gts: dict[str, list[str]], res: dict[str, list[str]]) -> dict[str, float]:
        """All metrics over tokenized references `gts` and predictions `res` (one each)."""
        bleu, _ = self.bleu.compute_score(gts, res, verbose=0)
        meteor, _ = self.meteor.compute_score(gts, res)
        rouge, _ = self.rouge.compute_score(gts, res)
        cider, _ = self.cider.compute_score(gts, res)
        values = [*bleu, meteor, rouge, cider]
        return {k: float(v) for k, v in zip(METRICS, values, strict=True)}

    def close(self) -> None:
        self.meteor.close()

    def __enter__(self) -> Scorers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compute_metrics(
    predictions: dict[str, str],
    references: dict[str, list[str]],
    *,
    scorers: Scorers | None = None,
) -> dict[str, float]:
    """Corpus-level BLEU-1..4, METEOR, ROUGE-L, CIDEr of predictions vs references.

    Keys: `METRICS` (raw fractions, as pycocoevalcap returns them), plus
    ``n`` (predictions scored) and ``skipped`` (predictions whose id has no
    non-empty reference: left out). Raises MetricsError when nothing is left
    to score or Java fails. Pass an open `Scorers` to reuse its METEOR process.
    """
    refs = {k: [r for r in references.get(k) or [] if r.strip()] for k in predictions}
    keep = [k for k in predictions if refs[k]]
    skipped = len(predictions) - len(keep)
    if not keep:
        raise MetricsError(
            f"no prediction has references to compare with ({skipped} skipped)"
            if skipped
            else "no predictions to evaluate"
        )
    own = scorers is None
    scorers = scorers or Scorers()
    try:
        gts = scorers.tokenize({k: refs[k] for k in keep})
        res = scorers.tokenize({k: [predictions[k]] for k in keep})
        metrics: dict[str, float] = scorers.score(gts, res)
    finally:
        if own:
            scorers.close()
    metrics["n"] = len(keep)
    metrics["skipped"] = skipped
    return metrics


def evaluate(
    predictions: dict[str, str], items: Iterable[Item], scorers=None
) -> dict[str, float | None]:
    """Stage 4: coco-caption metrics of one rationale per item, plus the fact-error rate.

    Pass an open `Scorers` to reuse its METEOR process.
    """
    by_id = {it.id: it for it in items}
    refs = {i: it.explanations for i, it in by_id.items()}
    metrics: dict[str, float | None] = dict(compute_metrics(predictions, refs, scorers=scorers))
    metrics["fact_error_rate"] = fact_error_rate(
        (text, by_id[i].facts) for i, text in predictions.items() if i in by_id
    )
    return metrics


def evaluate_file(
    predictions_path: str | Path,
    items_path: str | Path,
    json_out: str | Path | None = None,
    *,
    scorers: Scorers | None = None,
) -> dict[str, Any]:
    """Metrics of a predictions file (``{"id", "text"}`` lines) against an items file.

    Returns `compute_metrics`'s keys plus:
    - ``fact_error_rate``: share of scored predictions naming a colour or
      shape their item's facts contradict (None when no item carries facts);
    - ``missing``: ids of predictions whose id is not a (valid) item, not scored;
    - ``errors``: ids of lines without a ``text`` string (e.g. generation
      error lines), not scored;
    - ``unpredicted``: how many items have no prediction.
    A later line for the same id replaces an earlier one. The result is also
    written as JSON to `json_out` when given.
    """
    items, _ = load_items(items_path)
    by_id = {item.id: item for item in items}
    predictions: dict[str, str] = {}
    missing: list[str] = []
    errors: list[str] = []
    for n, line in enumerate(read_jsonl(predictions_path), 1):
        if not isinstance(line, dict) or "id" not in line:
            raise ItemError(f"{predictions_path}:{n}: a prediction needs an 'id'")
        pid = str(line["id"])
        text = line.get("text")
        if not isinstance(text, str):
            errors.append(pid)
        elif pid not in by_id:
            missing.append(pid)
        else:
            predictions[pid] = text
    if not predictions:  # a wrong pair of files, said before Java starts
        if missing:
            raise ItemError(
                f"none of the {len(missing)} prediction ids of {predictions_path} is an item of "
                f"{items_path} (first: {missing[0]!r})"
            )
        raise ItemError(f"{predictions_path}: no prediction with a 'text' to evaluate")
    refs = {pid: by_id[pid].explanations for pid in predictions}
    result: dict[str, Any] = dict(compute_metrics(predictions, refs, scorers=scorers))
    scored = [pid for pid in predictions if by_id[pid].explanations]
    result["fact_error_rate"] = fact_error_rate(
        (predictions[pid], by_id[pid].facts) for pid in scored
    )
    result["missing"] = missing
    result["errors"] = errors
    result["unpredicted"] = sum(1 for item in items if item.id not in predictions)
    if json_out is not None:
        path = Path(json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def format_table(metrics: dict[str, Any], title: str | None = None) -> str:
    """A markdown table of the metrics, scores x100 with 2 decimals (as papers print them).

    Metrics absent from `metrics` are left out; the fact-error rate is added
    as a percentage when present.
    """
    cols = [k for k in METRICS if k in metrics]
    headers = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]
    names = dict(zip(METRICS, headers, strict=True))
    head = [names[k] for k in cols]
    cells = [_pct(metrics[k]) for k in cols]
    if metrics.get("fact_error_rate") is not None:
        head.append("fact errors %")
        cells.append(_pct(metrics["fact_error_rate"]))
    if "n" in metrics:
        head.append("n")
        cells.append(str(metrics["n"]))
    if title is not None:
        head.insert(0, "")
        cells.insert(0, title)
    rows = [head, ["---"] * len(head), cells]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def _pct(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{100 * x:.2f}"
