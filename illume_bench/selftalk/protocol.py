"""Self-talk (Shwartz et al. 2020) as the ILLUME paper runs it to pick its LM (Appendix A).

For each instance:
1. the premise followed by each of the set's question prefixes; the LM completes several
   clarification questions per prefix with nucleus sampling; a question is kept when it
   ends with "?" and shares a word with the premise (plus the whole questions the set
   builds from the instance, prefixes.py);
2. for every kept question, the premise followed by its answer prefix; the LM writes
   several answers (nucleus sampling), kept when they end with "." and speak of no "I" or
   "you"; each distinct "<answer prefix> <answer>" is a clarification;
3. every choice is scored after each clarification and the premise: its mean token
   negative log-likelihood given "<clarification> <premise> <stem>"; a choice's score is
   its best (lowest) over the clarifications, and the best-scored choice is the answer.
The baseline scores each choice after the premise alone (the empty clarification, which
the reference also keeps among the clarifications).

Sampling is the project's `Sampler` (illume/sample.py) over the text-only LM (textlm.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from illume import api
from illume.sample import SampleConfig, Sampler
from illume_bench.selftalk.formats import Instance
from illume_bench.selftalk.prefixes import (
    QUESTION_PREFIXES,
    answer_prefix,
    instance_questions,
    words,
)
from illume_bench.selftalk.textlm import TextLM

PRONOUNS = ("he", "she", "it", "they", "her", "him", "them", "thing", "one", "someone")
"""What may stand in WinoGrande's blank while questions are asked (the reference's list)."""
PERSONAL = {"i", "i'm", "you", "your", "me"}
"""Answers that speak of these are about the reader, not the premise: dropped."""


@dataclass
class SelfTalkConfig:
    """Self-talk settings; defaults are those of the reference runs
    (self_talk/source/preprocessing/generate_all_lm_clarifications.sh)."""

    questions_per_prefix: int = field(default=5, metadata={"help": "questions per prefix"})
    answers_per_question: int = field(default=10, metadata={"help": "answers per question"})
    question_top_p: float = field(default=0.2, metadata={"help": "nucleus p, questions"})
    answer_top_p: float = field(default=0.5, metadata={"help": "nucleus p, answers"})
    max_question_tokens: int = field(default=6, metadata={"help": "tokens after a prefix"})
    max_answer_tokens: int = field(default=10, metadata={"help": "tokens after an answer prefix"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    keep_empty: bool = field(
        default=True,
        metadata={"help": "score choices without a clarification too (as the reference does)"},
    )
    batch_rows: int = field(
        default=256, metadata={"help": "rows decoded or scored together (memory, not results)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the sampler"})


@dataclass
class Clarification:
    question: str
    text: str


@dataclass
class Result:
    """One instance: its predictions with and without clarifications."""

    id: str
    label: int
    n_choices: int
    baseline: int
    baseline_scores: list[float]
    prediction: int | None = None
    scores: list[float] | None = None
    clarification: str | None = None
    """The clarification behind the winning choice's best score ("" for none)."""
    n_clarifications: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def nucleus(cfg: SelfTalkConfig, top_p: float, tokens: int) -> SampleConfig:
    """The project's sampler set to plain nucleus sampling (no top-k cut, one temperature)."""
    return SampleConfig(
        temperatures=(cfg.temperature,),
        top_k_fraction=1.0,
        top_p=top_p,
        max_new_tokens=tokens,
        seed=cfg.seed,
        rank=False,
    )


class SelfTalk:
    """Runs the protocol with one model (any family; only its LM is used)."""

    def __init__(self, model, fmt: str, config: SelfTalkConfig | None = None):
        self.config = cfg = config or SelfTalkConfig()
        self.fmt = fmt
        self.lm = model if isinstance(model, TextLM) else TextLM(model, cfg.batch_rows)
        self._sampler: Sampler | None = None

    def sampler(self, kind: str) -> Sampler:
        """The project's sampler, set for questions or for answers (each its own p and length).

        One sampler serves both: building one reads the whole vocabulary for its stop tokens.
        """
        cfg = self.config
        if kind == "question":
            sc = nucleus(cfg, cfg.question_top_p, cfg.max_question_tokens)
        else:
            sc = nucleus(cfg, cfg.answer_top_p, cfg.max_answer_tokens)
        if self._sampler is None:
            self._sampler = api.sampler(self.lm, sc)
        self._sampler.config = sc
        return self._sampler

    # ---- sampling -------------------------------------------------------------------------

    def complete(self, kind: str, prompts: list[str], n: int, end: str) -> list[list[str]]:
        """n continuations per prompt; only those that stopped on `end`, distinct, in order."""
        sampler = self.sampler(kind)
        per_call = max(1, self.config.batch_rows // n)
        out: list[list[str]] = []
        for lo in range(0, len(prompts), per_call):
            chunk = prompts[lo : lo + per_call]
            rows = sampler.decode_tokens([None] * len(chunk), chunk, [self.config.temperature] * n)
            for i in range(len(chunk)):
                texts = []
                for tokens, _ in rows[i * n : (i + 1) * n]:
                    text = self.lm.tokenizer.decode(tokens, skip_special_tokens=True)
                    text = " ".join(text.split())
                    if text.endswith(end) and len(text) > 1 and text not in texts:
                        texts.append(text)
                out.append(texts)
        return out

    def blank_filler(self, inst: Instance) -> str:
        """WinoGrande's premise with its blank filled by the pronoun the LM finds likeliest
        (the reference asks BERT; the LM under test answers here, so nothing else loads)."""
        if "_" not in inst.premise:
            return inst.premise
        texts = [inst.premise.replace("_", p) for p in PRONOUNS]
        targets = [self.lm.encode(t) for t in texts]
        nll, _ = self.lm.target_nll([None] * len(texts), [""] * len(texts), targets)
        mean = nll / torch.tensor([len(t) for t in targets])
        return texts[int(mean.argmin())]

    def clarifications(self, inst: Instance) -> list[Clarification]:
        """Steps 1 and 2 of the protocol for one instance."""
        cfg = self.config
        premise = self.blank_filler(inst)
        prefixes = QUESTION_PREFIXES[self.fmt]
        asked = list(prefixes)
        done = self.complete(
            "question", [f"{premise} {p}" for p in asked], cfg.questions_per_prefix, "?"
        )
        known = words(premise)
        questions: dict[str, str] = {}
        for prefix, completions in zip(asked, done, strict=True):
            for c in completions:  # well-formed: about the premise (shares a word with it)
                if words(c) & known:
                    questions[f"{prefix} {c}"] = answer_prefix(prefixes[prefix], c)
        questions.update(instance_questions(inst, self.fmt))
        pairs = list(questions.items())
        answers = self.complete(
            "answer", [f"{premise} {a}".strip() for _, a in pairs], cfg.answers_per_question, "."
        )
        out: dict[str, Clarification] = {}
        for (q, a), texts in zip(pairs, answers, strict=True):
            for t in texts:
                if words(t.lower()) & PERSONAL:
                    continue
                text = f"{a[:1].upper()}{a[1:]} {t}".strip() if a else t
                out.setdefault(text, Clarification(q, text))
        return list(out.values())

    # ---- scoring --------------------------------------------------------------------------

    def score(self, inst: Instance, clarifications: list[str]) -> torch.Tensor:
        """Mean token NLL of each choice after each clarification: [clarifications, choices]."""
        context = "" if self.fmt == "winogrande" else inst.premise
        prompts, targets = [], []
        for c in clarifications:
            prompt = " ".join(x for x in (c, context, inst.stem) if x)
            for h in inst.hypotheses:
                prompts.append(prompt)
                targets.append(self.lm.encode(f" {h}" if prompt else h))
        nll, _ = self.lm.target_nll([None] * len(prompts), prompts, targets)
        lengths = torch.tensor([max(1, len(t)) for t in targets], dtype=torch.float32)
        return (nll / lengths).view(len(clarifications), len(inst.hypotheses))

    def run_one(self, inst: Instance, baseline_only: bool = False) -> Result:
        """Baseline and (unless `baseline_only`) self-talk for one instance; the empty
        clarification is scored once and serves both."""
        clars = [] if baseline_only else [c.text for c in self.clarifications(inst)]
        scores = self.score(inst, [*clars, ""])
        base = scores[-1]
        result = Result(
            inst.id, inst.label, len(inst.hypotheses), int(base.argmin()), base.tolist()
        )
        if baseline_only:
            return result
        result.n_clarifications = len(clars)
        use = len(clars) + 1 if self.config.keep_empty or not clars else len(clars)
        best, where = scores[:use].min(dim=0)
        result.prediction = int(best.argmin())
        result.scores = best.tolist()
        result.clarification = [*clars, ""][int(where[result.prediction])]
        return result

    def run(self, instances: list[Instance], baseline_only: bool = False) -> Iterator[Result]:
        for inst in instances:
            yield self.run_one(inst, baseline_only)
