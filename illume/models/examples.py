"""Worked examples read before every rationale prompt: how a rationale is written.

Zero-shot, the embedded LM continues "Q: what is in the cup? A: coffee,
because" with whatever follows "because" most often in its training text:
restatements, definitions, the context copied back. Three worked examples
first (PICa's few-shot prompt), each a picture's context, question, answer and
a rationale that names what is seen, raised the careful annotator's fit on the
demo photos from 1 in 20 items to 8 in 20 (bench/prompt_probe.py).

The examples are text only and the same for every item, so they come before
the image prefix: [examples][image prefix][Context: ... Q: ... A: ..., because].
Their key/value cache is then computed once per model version and shared by
every item and every draw (PrefixVLM.prefill); tuning reads the same tokens
(PrefixVLM.training_batch), so both see one prompt byte for byte.

Which examples: `examples` on the model ("auto": the built-in photo examples
for photos and none for drawings, where they were not measured to help;
"none"; or a JSONL file of `context`, `question`, `answer`, `rationale`
objects, used for every image: a project's own domain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from illume.models.prompt import Prompt


@dataclass(frozen=True)
class WorkedExample:
    """One example: what the model would read about a picture, and a fitting rationale."""

    context: str
    question: str
    answer: str
    rationale: str


PHOTO_EXAMPLES = (
    WorkedExample(
        "a photo of a golden retriever (a medium-sized dog with a dense golden coat and floppy "
        "ears); mostly yellow and green.",
        "what animal is lying on the grass?",
        "dog",
        "it has floppy ears, a black nose and thick golden fur",
    ),
    WorkedExample(
        "a photo of a school bus (a long yellow bus with black stripes and many windows); "
        "mostly yellow and grey.",
        "what vehicle is this?",
        "bus",
        "it is a long yellow vehicle with rows of windows and big wheels",
    ),
    WorkedExample(
        "a photo of a banana (an elongated curved fruit with yellow peel); mostly yellow; bright.",
        "is the fruit ripe?",
        "yes",
        "the peel of the curved fruit is bright yellow with small brown spots",
    ),
)
"""Built in: pictures that are in no bundled data set (not the demo photos, not easy-vqa-x
or shapes-x, which are drawings), each rationale naming two or more visible cues."""

AUTO = "auto"
NONE = "none"


def render(examples: tuple[WorkedExample, ...] | list[WorkedExample]) -> str:
    """The examples as the text the model reads, each in the item prompt's own format
    (`Prompt.plain`) followed by its rationale and a newline."""
    return "".join(
        f"{Prompt(e.question, e.answer, 'because', e.context).plain()} {e.rationale}.\n"
        for e in examples
    )


def load(path: str | Path) -> tuple[WorkedExample, ...]:
    """A project's examples from a JSONL file (one object a line, the four fields)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        raw = json.loads(line)
        try:
            out.append(WorkedExample(**{k: str(raw[k]) for k in WorkedExample.__annotations__}))
        except KeyError as e:
            raise ValueError(f"{path}:{n}: a worked example needs {e.args[0]!r}") from None
    return tuple(out)


def examples_for(spec: str | None, kind: str) -> str:
    """The rendered examples a prompt about an image of `kind` ("photo"/"drawing") reads."""
    if not spec or spec == NONE:
        return ""
    if spec == AUTO:
        return render(PHOTO_EXAMPLES) if kind == "photo" else ""
    return _rendered_file(spec)


_FILES: dict[str, str] = {}


def _rendered_file(path: str) -> str:
    """A project's file, read and rendered once per process."""
    if path not in _FILES:
        _FILES[path] = render(load(path))
    return _FILES[path]
