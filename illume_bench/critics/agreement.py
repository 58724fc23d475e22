"""How well an automatic critic agrees with the (simulated) annotator.

Over the same candidates, the annotator's verdicts are the truth: precision
is the share of the critic's fitting verdicts the annotator shares, recall
the share of the annotator's fitting ones the critic finds, and Cohen's
kappa the agreement beyond chance, kappa = (p_o - p_e) / (1 - p_e) with
p_o the observed agreement and p_e the agreement expected from each rater's
own rate of "fitting".
"""

from __future__ import annotations

from collections.abc import Sequence


def agreement(critic: Sequence[bool], annotator: Sequence[bool]) -> dict:
    """Counts, precision, recall and Cohen's kappa of `critic` against `annotator`.

    precision / recall are None when their denominator is 0; kappa is None
    when chance agreement is certain (both raters say the same thing of
    every candidate, p_e = 1).
    """
    if len(critic) != len(annotator):
        raise ValueError("critic and annotator must judge the same candidates")
    n = len(critic)
    tp = sum(1 for c, a in zip(critic, annotator, strict=True) if c and a)
    fp = sum(1 for c, a in zip(critic, annotator, strict=True) if c and not a)
    fn = sum(1 for c, a in zip(critic, annotator, strict=True) if a and not c)
    tn = n - tp - fp - fn
    out: dict = {"n": n, "tp": tp, "fp": fp, "fn": fn, "tn": tn}
    out["precision"] = tp / (tp + fp) if tp + fp else None
    out["recall"] = tp / (tp + fn) if tp + fn else None
    if n == 0:
        out["kappa"] = None
        return out
    p_o = (tp + tn) / n
    p_e = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    out["kappa"] = (p_o - p_e) / (1 - p_e) if p_e < 1 else None
    return out


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> dict:
    """The threshold t (fitting iff score >= t) with the highest kappa against `labels`.

    Tries every distinct score as t; ties go to the higher t (the stricter
    critic). Returns {"threshold", **agreement at it}.
    """
    best: dict | None = None
    for t in sorted(set(scores), reverse=True):
        agr = agreement([s >= t for s in scores], labels)
        k = agr["kappa"] if agr["kappa"] is not None else -1.0
        if best is None or k > best["_k"]:
            best = {"threshold": round(t, 4), **agr, "_k": k}
    if best is None:
        return {"threshold": None, **agreement([], [])}
    best.pop("_k")
    return best
