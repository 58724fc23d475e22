"""Task order: the prediction `score` that tells Label Studio which task is worth annotating next.

Label Studio Community sorts the data manager by prediction score, and the
labeling stream ("Label All Tasks" with Sequential sampling) follows the
view's order. The score is only worth sorting by if it means something, so
each rule here estimates the value of annotating a task from its candidates:

- `likely` (the default): the chance that some candidate fits, estimated as
  the largest fit probability among the candidates. A tuning round learns
  only from ticked (or typed) rationales; a task where nothing fits costs the
  annotator as much and gives the round nothing but "regenerate me". Showing
  likely tasks first turns annotator minutes into training data fastest, and
  the hard tasks come back with better candidates from the next version.
- `uncertain`: highest where that chance is nearest 0.5 (Prodigy's
  `prefer_uncertain`): the model learns most about which candidates fit, at
  the price of more "none of these fits".
- `none`: every task scores 0, so Label Studio keeps the import order.

A candidate's fit probability is its calibrated `score` (0..1) when the
ranker wrote one into `candidates_meta`, else exp(mean token log-probability):
not calibrated, but monotone in what the model believes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from illume.envconfig import from_env

RULES = ("likely", "uncertain", "none")


@dataclass
class OrderSettings:
    """How predictions' scores order the tasks (read on every prediction, so a change of
    the variable takes effect without a restart)."""

    ENV_PREFIX = "ILLUME_"

    order: str = field(
        default="likely",
        metadata={
            "help": "what a prediction's score ranks tasks by: likely (a fitting candidate is "
            "likely, annotate first), uncertain (the model is least sure) or none"
        },
    )


def rule_from_env() -> str:
    """$ILLUME_ORDER (default `likely`); a ValueError names the allowed rules."""
    rule = from_env(OrderSettings).order.strip().lower()
    if rule not in RULES:
        raise ValueError(f"ILLUME_ORDER must be one of {', '.join(RULES)}, got {rule!r}")
    return rule


def fit_probability(candidate: dict[str, Any]) -> float | None:
    """The chance this candidate fits: its ranker score, else exp(mean logprob); None if neither."""
    score = candidate.get("score")
    if _number(score) and 0.0 <= score <= 1.0:
        return float(score)
    logprob = candidate.get("logprob")
    if _number(logprob) and logprob <= 0.0:
        return math.exp(logprob)
    return None


def fit_chance(candidates: Iterable[dict[str, Any]]) -> float:
    """The chance that some candidate fits: the best candidate's (0 without any)."""
    probs = [p for p in map(fit_probability, candidates) if p is not None]
    return max(probs, default=0.0)


def task_score(candidates: list[dict[str, Any]], rule: str | None = None) -> float:
    """The value of annotating a task with these candidates under `rule` (0..1, higher first)."""
    rule = rule or rule_from_env()
    if rule == "none" or not candidates:
        return 0.0
    chance = fit_chance(candidates)
    if rule == "likely":
        return _short(chance)
    if rule == "uncertain":
        return _short(1.0 - abs(2.0 * chance - 1.0))
    raise ValueError(f"unknown order rule {rule!r}; one of {', '.join(RULES)}")


def _short(x: float) -> float:
    """Six significant digits, not decimals: a weak model's chances (1e-4 and less)
    must keep their order once Label Studio stores them."""
    return float(f"{x:.6g}")


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
