"""Importers for the six commonsense sets of the paper's Table 1, each in its published format.

Every set becomes a list of `Instance`: one premise to ask clarification questions about,
two to five choices, the index of the right one. How a choice is written for scoring
(`hypotheses`) and what the LM reads right before it (`stem`) follow the per-set readers of
Shwartz et al.'s self-talk code, so the scores mean what theirs mean.

    csqa        CommonsenseQA jsonl: {"id", "question": {"stem", "choices": [{"label",
                "text"}]}, "answerKey"}
    copa        COPA xml: <copa-corpus><item id asks-for most-plausible-alternative>
                <p/><a1/><a2/></item>
    mctaco      MC-TACO tsv: sentence, question, candidate answer, yes|no, category
    piqa        PIQA jsonl {"goal", "sol1", "sol2"} + labels lst (0|1 a line)
    siqa        Social-IQA jsonl {"context", "question", "answerA..C"} + labels lst (1|2|3)
    winogrande  WinoGrande jsonl {"sentence" with "_", "option1", "option2", "answer"}
                (+ labels lst (1|2) when the jsonl has no answer)

A file that does not parse raises `FormatError` (a ValueError: one line on the command line).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from illume_bench.selftalk.siqa_choices import SIQA_REPEATS, siqa_answer_prefix

FORMATS = ("csqa", "copa", "mctaco", "piqa", "siqa", "winogrande")
NEEDS_LABELS = {"piqa", "siqa"}
"""Sets whose jsonl holds no answers: their labels come in a separate .lst file."""


class FormatError(ValueError):
    """The file is not in the format it was said to be in."""


@dataclass(frozen=True)
class Instance:
    """One multiple-choice question, ready for scoring."""

    id: str
    premise: str
    """What the clarification questions are about (the context, goal or question)."""
    stem: str
    """Read after the premise and right before a choice ("As a result," for COPA; "" if none)."""
    hypotheses: tuple[str, ...]
    """Each choice as the LM scores it (a WinoGrande sentence with the blank filled, ...)."""
    label: int
    """Index of the right hypothesis."""
    question: str = ""
    """The set's own question where it has one apart from the premise (Social-IQA, MC-TACO)."""
    choices: tuple[str, ...] = ()
    """The choices as the file writes them (clarification prefixes are built from them)."""

    @property
    def chance(self) -> float:
        return 1.0 / len(self.hypotheses)


def sentence(text: str) -> str:
    """The text with a final full stop (the readers end premises and solutions this way)."""
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise FormatError(f"{path}:{n}: not a JSON line ({e.msg})") from None
        if not isinstance(row, dict):
            raise FormatError(f"{path}:{n}: a JSON object per line expected")
        rows.append(row)
    return rows


def _labels(path: Path | None, data: Path, n: int, valid: set[str]) -> list[str]:
    """The labels file next to the data (`<stem>-labels.lst`) unless one is given."""
    path = path or data.with_name(f"{data.stem}-labels.lst")
    if not path.exists():
        raise FileNotFoundError(f"labels file not found: {path} (give it with --labels)")
    labels = [x.strip() for x in path.read_text().splitlines() if x.strip()]
    if len(labels) != n:
        raise FormatError(f"{path}: {len(labels)} labels for {n} items")
    bad = [x for x in labels if x not in valid]
    if bad:
        raise FormatError(f"{path}: label {bad[0]!r} is not one of {sorted(valid)}")
    return labels


def _field(row: dict, key: str, where: str):
    if key not in row:
        raise FormatError(f"{where}: missing field {key!r}")
    return row[key]


def read_csqa(path: Path, labels: Path | None = None) -> list[Instance]:
    out = []
    for n, row in enumerate(_jsonl(path), 1):
        where = f"{path}:{n}"
        q = _field(row, "question", where)
        if not isinstance(q, dict):
            raise FormatError(f"{where}: 'question' should hold 'stem' and 'choices'")
        stem, choices = _field(q, "stem", where), _field(q, "choices", where)
        keys = [str(_field(c, "label", where)) for c in choices]
        texts = [str(_field(c, "text", where)) for c in choices]
        answer = str(_field(row, "answerKey", where))
        if answer not in keys:
            raise FormatError(f"{where}: answerKey {answer!r} is not a choice label")
        # the reader scores "{question} {choice}": no stem of its own
        out.append(
            Instance(
                str(row.get("id", n)),
                stem,
                "",
                tuple(lower_first(t) for t in texts),
                keys.index(answer),
                choices=tuple(texts),
            )
        )
    return out


COPA_STEMS = {"cause": "The cause for it was that", "effect": "As a result,"}


def read_copa(path: Path, labels: Path | None = None) -> list[Instance]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise FormatError(f"{path}: not COPA xml ({e})") from None
    out = []
    for item in root.iter("item"):
        where = f"{path}: item {item.get('id')}"
        asks, right = item.get("asks-for"), item.get("most-plausible-alternative")
        texts = [item.findtext(t) for t in ("p", "a1", "a2")]
        if asks not in COPA_STEMS or right not in ("1", "2") or None in texts:
            raise FormatError(f"{where}: needs asks-for, most-plausible-alternative, p, a1, a2")
        p, a1, a2 = (t.strip() for t in texts)
        out.append(
            Instance(
                item.get("id", str(len(out) + 1)),
                sentence(p),
                COPA_STEMS[asks],
                (lower_first(a1), lower_first(a2)),
                int(right) - 1,
                choices=(a1, a2),
            )
        )
    if not out:
        raise FormatError(f"{path}: no <item> in a COPA corpus")
    return out


def read_mctaco(path: Path, labels: Path | None = None) -> list[Instance]:
    """One instance per (sentence, question): its first "yes" answer against all "no" ones,
    in the file's order.

    MC-TACO marks every candidate plausible or not, often several plausible. The
    multiple-choice form keeps one right answer per question; the paper's 18.9% chance
    (about 1 in 5.3) fits one right answer among the implausible ones. Questions with no
    plausible or no implausible candidate are dropped.
    """
    groups: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 4 or cols[3].strip() not in ("yes", "no"):
            raise FormatError(f"{path}:{n}: expected sentence, question, answer, yes|no[, type]")
        key = (cols[0].strip(), cols[1].strip())
        groups.setdefault(key, []).append((cols[2].strip(), cols[3].strip() == "yes"))
    out = []
    for (text, question), cands in groups.items():
        right = [a for a, ok in cands if ok]
        if not right or len(right) == len(cands):
            continue
        answers = tuple(a for a, ok in cands if a == right[0] or not ok)
        out.append(
            Instance(
                str(len(out) + 1),
                sentence(text),
                question,
                tuple(lower_first(a) for a in answers),
                answers.index(right[0]),
                question=question,
                choices=answers,
            )
        )
    return out


def read_piqa(path: Path, labels: Path | None = None) -> list[Instance]:
    rows = _jsonl(path)
    marks = _labels(labels, path, len(rows), {"0", "1"})
    out = []
    for n, (row, mark) in enumerate(zip(rows, marks, strict=True), 1):
        where = f"{path}:{n}"
        goal = str(_field(row, "goal", where))
        sols = [str(_field(row, k, where)) for k in ("sol1", "sol2")]
        out.append(
            Instance(
                str(row.get("id", n)),
                goal,
                "",
                tuple(sentence(lower_first(s)) for s in sols),
                int(mark),
                choices=tuple(sols),
            )
        )
    return out


def read_siqa(path: Path, labels: Path | None = None) -> list[Instance]:
    rows = _jsonl(path)
    marks = _labels(labels, path, len(rows), {"1", "2", "3"})
    out = []
    for n, (row, mark) in enumerate(zip(rows, marks, strict=True), 1):
        where = f"{path}:{n}"
        question = str(_field(row, "question", where))
        answers = [str(_field(row, f"answer{x}", where)) for x in "ABC"]
        head = siqa_answer_prefix(question)
        hyps = [f"{head} {lower_first(sentence(a))}".replace("?", "") for a in answers]
        for double, single in SIQA_REPEATS:
            hyps = [h.replace(double, single) for h in hyps]
        out.append(
            Instance(
                str(row.get("id", n)),
                sentence(str(_field(row, "context", where))),
                "",
                tuple(hyps),
                int(mark) - 1,
                question=question,
                choices=tuple(answers),
            )
        )
    return out


def read_winogrande(path: Path, labels: Path | None = None) -> list[Instance]:
    rows = _jsonl(path)
    if all("answer" in r and str(r["answer"]).strip() for r in rows):
        marks = [str(r["answer"]).strip() for r in rows]
        if any(m not in ("1", "2") for m in marks):
            raise FormatError(f"{path}: answer should be 1 or 2")
    else:
        marks = _labels(labels, path, len(rows), {"1", "2"})
    out = []
    for n, (row, mark) in enumerate(zip(rows, marks, strict=True), 1):
        where = f"{path}:{n}"
        text = sentence(str(_field(row, "sentence", where)))
        if text.count("_") != 1:
            raise FormatError(f"{where}: the sentence needs exactly one blank '_'")
        options = [str(_field(row, k, where)) for k in ("option1", "option2")]
        out.append(
            Instance(
                str(row.get("qID", n)),
                text,
                "",
                tuple(text.replace("_", o) for o in options),
                int(mark) - 1,
                choices=tuple(options),
            )
        )
    return out


READERS: dict[str, Callable[[Path, Path | None], list[Instance]]] = {
    "csqa": read_csqa,
    "copa": read_copa,
    "mctaco": read_mctaco,
    "piqa": read_piqa,
    "siqa": read_siqa,
    "winogrande": read_winogrande,
}


def load(path: str | Path, fmt: str, labels: str | Path | None = None) -> list[Instance]:
    """Read a set in its published format; errors name the file and line."""
    if fmt not in READERS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    try:
        instances = READERS[fmt](path, Path(labels) if labels else None)
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not a text file") from None
    except (TypeError, AttributeError, KeyError) as e:
        raise FormatError(f"{path}: not {fmt} data ({type(e).__name__}: {e})") from None
    for inst in instances:
        if len(inst.hypotheses) < 2 or not re.search(r"\w", inst.premise + inst.hypotheses[0]):
            raise FormatError(f"{path}: item {inst.id} has fewer than two choices or no text")
    return instances
