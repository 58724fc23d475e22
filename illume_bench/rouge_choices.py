"""Why is the top candidate's ROUGE-L low: the order the candidates are shown in, or what
the candidates say?

`bench/rounds_that_learn.py` reports the coco ROUGE-L of the first shown candidate. Per
held-out item of a stored report, this module scores other choices among the same shown
candidates, so a low figure can be traced:

- first: the first shown (the report's figure);
- consensus: the candidate with the highest mean ROUGE-L against the item's other shown
  candidates (no reference needed, so a product could show it first);
- best accepted: the accepted candidate closest to the references, 0 where none was
  accepted: no order of the ticked texts can score more;
- best shown: the shown candidate closest to the references, ticked or not.

`arm_choices` also splits the first shown candidates' ROUGE-L by verdict: those accepted,
and those naming a wrong colour or shape (`illume_bench.fact_errors`), which ROUGE-L
does not see.

`reference_rewording` scores each reference against the item's other references: what a
correct text in other words gets, the scale against which the others read.
"""

from __future__ import annotations

import random

from illume.critique import RougeCritic, coco_tokenize
from illume.items import Item
from illume_bench.fact_errors import wrong_facts

CHOICES = ("first", "consensus", "best_accepted", "best_shown")


def consensus_index(texts: list[str], rouge: RougeCritic) -> int:
    """The index of the text most like the others (ties: the earlier one, i.e. the order
    shown); 0 for fewer than three texts, where "most like the others" means nothing."""
    if len(texts) < 3:
        return 0
    toks = [" ".join(coco_tokenize(t)) for t in texts]
    best, index = -1.0, 0
    for i, tok in enumerate(toks):
        others = [o for j, o in enumerate(toks) if j != i and o]
        mean = sum(rouge.score_text(texts[i], [o]) for o in others) / max(1, len(others))
        if tok and mean > best + 1e-9:
            best, index = mean, i
    return index


def item_choices(item: Item, candidates: list[dict], rouge: RougeCritic) -> dict[str, float]:
    """ROUGE-L of each choice among one item's shown candidates ({"text", "fitting"})."""
    refs = rouge.references(item)
    scores = [rouge.score_text(c["text"], refs) for c in candidates]
    if not scores:
        return dict.fromkeys(CHOICES, 0.0)
    ticked = [s for s, c in zip(scores, candidates, strict=True) if c.get("fitting")]
    return {
        "first": scores[0],
        "consensus": scores[consensus_index([c["text"] for c in candidates], rouge)],
        "best_accepted": max(ticked, default=0.0),
        "best_shown": max(scores),
    }


def arm_choices(items: dict[str, Item], rows: list[dict], rouge: RougeCritic) -> dict:
    """Each choice's mean ROUGE-L over an arm's held-out rows (with its 95% interval under
    "ci"); the first shown candidates'
    mean ROUGE-L where accepted and where naming a wrong fact (with their counts); and the
    mean words per accepted candidate (short ticked texts lose recall against longer
    references)."""
    per_item = [item_choices(items[str(r["id"])], r.get("candidates", []), rouge) for r in rows]
    n = max(1, len(per_item))
    out: dict = {k: sum(p[k] for p in per_item) / n for k in CHOICES}
    out["ci"] = {k: mean_ci([p[k] for p in per_item]) for k in CHOICES}
    firsts = [
        (r["candidates"][0], items[str(r["id"])], p["first"])
        for r, p in zip(rows, per_item, strict=True)
        if r.get("candidates")
    ]
    split = {
        "first_accepted": [s for c, _, s in firsts if c.get("fitting")],
        "first_wrong_fact": [s for c, it, s in firsts if wrong_facts(c["text"], it.facts)],
    }
    for key, scores in split.items():
        out[key], out[f"n_{key}"] = sum(scores) / max(1, len(scores)), len(scores)
    ticked = [c["text"] for r in rows for c in r.get("candidates", []) if c.get("fitting")]
    out["accepted_words"] = sum(len(t.split()) for t in ticked) / max(1, len(ticked))
    return out


def mean_ci(values: list[float], reps: int = 2000, seed: int = 0) -> list[float]:
    """95% bootstrap interval of the mean of per-item values."""
    if not values:
        return [0.0, 0.0]
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(reps))
    return [means[int(0.025 * reps)], means[int(0.975 * reps) - 1]]


def reference_rewording(items: list[Item], rouge: RougeCritic) -> dict:
    """Mean ROUGE-L of each reference against the item's other references, and the mean
    words per reference, over items with two references or more."""
    scores, words = [], []
    for item in items:
        refs = item.explanations
        for i, ref in enumerate(refs):
            others = [" ".join(coco_tokenize(r)) for j, r in enumerate(refs) if j != i]
            if others:
                scores.append(rouge.score_text(ref, [o for o in others if o]))
                words.append(len(ref.split()))
    return {
        "rouge": sum(scores) / max(1, len(scores)),
        "words": sum(words) / max(1, len(words)),
        "n": len(scores),
    }
