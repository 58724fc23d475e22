"""Which prompt format makes the plain LM write photo rationales: a quick probe.

The embedded LM (SmolLM2-135M-Instruct, no image prefix) reads each demo
photo's text context (illume/models/embedded/context.py) and writes
rationales under one of three prompt formats:

- `plain`: the sampler's own, `Context: ... Q: ... A: {answer}, because`;
- `few`: the same after three worked examples about other pictures (a dog, a
  bus, a banana; none of them a demo photo), as PICa does for VQA;
- `chat`: the instruct model's chat template, asked for one sentence on what
  in the picture shows the answer.

Per item, `--n` samples at each of three temperatures (Hugging Face generate,
top-k 10% of the vocabulary), first sentence kept; scored by coco ROUGE-L
(fitting >= 0.7) and the simulated careful annotator. Prints one line per
item and writes a JSON:

    PYTHONPATH=. python bench/prompt_probe.py --formats plain,few --n 8 \
        --json docs/results/bench/prompt-probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from statistics import mean

import torch

from illume.critique import RougeCritic
from illume.images import open_image
from illume.items import load_items
from illume.models.embedded.embedded_vlm import EmbeddedConfig, EmbeddedVLM
from illume.models.prompt import Prompt
from illume.rank import reject
from illume.sample import clean
from illume_bench.critics.simulated_annotator import SimulatedAnnotator
from illume_bench.data.demo_items import DEMO_ITEMS

EXAMPLES = (
    (
        "a photo of a golden retriever (a medium-sized dog with a dense golden coat and floppy "
        "ears); mostly yellow and green.",
        "what animal is lying on the grass?",
        "dog",
        "it has floppy ears, a black nose and thick golden fur",
    ),
    (
        "a photo of a school bus (a long yellow bus with black stripes and many windows); "
        "mostly yellow and grey.",
        "what vehicle is this?",
        "bus",
        "it is a long yellow vehicle with rows of windows and big wheels",
    ),
    (
        "a photo of a banana (an elongated curved fruit with yellow peel); mostly yellow; bright.",
        "is the fruit ripe?",
        "yes",
        "the peel of the curved fruit is bright yellow with small brown spots",
    ),
)
TEMPERATURES = (0.3, 0.7, 1.0)


def prompt_text(tokenizer, form: str, context: str, question: str, answer: str) -> str:
    """The whole text the LM continues, in one of the three formats."""
    if form == "plain":
        return f"Context: {context} Q: {question} A: {answer}, because"
    if form == "few":
        shots = "".join(f"Context: {c}\nQ: {q} A: {a}, because {r}.\n\n" for c, q, a, r in EXAMPLES)
        return shots + f"Context: {context}\nQ: {question} A: {answer}, because"
    if form == "chat":
        ask = (
            f"The picture: {context}\nQuestion: {question}\nAnswer: {answer}.\n"
            "In one short sentence, say what in the picture shows that the answer is right."
        )
        turn = tokenizer.apply_chat_template(
            [{"role": "user", "content": ask}], tokenize=False, add_generation_prompt=True
        )
        return turn + f"{answer[:1].upper()}{answer[1:]}, because"
    raise SystemExit(f"unknown format {form!r}")


def probe(model: EmbeddedVLM, form: str, n: int, seed: int) -> dict:
    tok, lm = model.tokenizer, model.lm
    rouge, annotator = RougeCritic(), SimulatedAnnotator()
    items, _ = load_items(DEMO_ITEMS)
    torch.manual_seed(seed)
    rows, start = [], time.perf_counter()
    for item in items:
        image = open_image(item.image)
        [asked] = model.contextualize([image], [Prompt(item.question, item.answer)])
        context = asked.context or ""
        enc = tok(prompt_text(tok, form, context, item.question, item.answer), return_tensors="pt")
        texts: list[str] = []
        for temp in TEMPERATURES:
            with torch.no_grad():
                out = lm.generate(
                    **enc,
                    do_sample=True,
                    temperature=temp,
                    top_k=int(0.1 * len(tok)),
                    num_return_sequences=n,
                    max_new_tokens=24,
                    pad_token_id=tok.eos_token_id,
                )
            width = enc.input_ids.shape[1]
            texts += [clean(tok.decode(o[width:], skip_special_tokens=True)) for o in out]
        texts = [t for t in dict.fromkeys(texts) if t]
        shown = [t for t in texts if not reject(item, t)]
        scores = rouge.score(item, texts)
        ticked = [t for t, s in zip(shown, annotator.score(item, shown), strict=True) if s]
        best = max(scores, default=0.0)
        rows.append(
            {
                "id": item.id,
                "best_rouge": round(best, 3),
                "best_text": texts[scores.index(best)] if texts else "",
                "shown": len(shown),
                "annotator_ticks": ticked[:3],
            }
        )
        line = f"{form} {item.id:28s} best {best:.2f} shown {len(shown):2d}"
        print(f"{line} | {rows[-1]['best_text']}")
    seconds = time.perf_counter() - start
    return {
        "format": form,
        "items": len(rows),
        "fit_pct": round(100 * mean(r["best_rouge"] >= rouge.threshold for r in rows), 1),
        "mean_best_rouge": round(mean(r["best_rouge"] for r in rows), 3),
        "annotator_fit_pct": round(100 * mean(bool(r["annotator_ticks"]) for r in rows), 1),
        "shown_per_item": round(mean(r["shown"] for r in rows), 1),
        "s_per_item": round(seconds / len(rows), 1),
        "load_average": round(os.getloadavg()[0], 1),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formats", default="plain,few,chat")
    ap.add_argument("--n", type=int, default=8, help="samples per temperature")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="docs/results/bench/prompt-probe.json")
    args = ap.parse_args(argv)
    model = EmbeddedVLM(EmbeddedConfig(image_prefix=False, image_context=True))
    results = [probe(model, f, args.n, args.seed) for f in args.formats.split(",")]
    print("| format | fit % | mean best R-L | annotator fit % | shown/item | s/item |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['format']} | {r['fit_pct']} | {r['mean_best_rouge']} | {r['annotator_fit_pct']} "
            f"| {r['shown_per_item']} | {r['s_per_item']} |"
        )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"n": args.n, "results": results}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
