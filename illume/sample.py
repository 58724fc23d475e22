"""Stage 1 of ILLUME: sample many candidate rationales ("jabber") per item.

Top-k with k = 10% of the vocabulary, then temperature, n samples at each of
several temperatures (paper: 5 x {0.01, 0.1, 0.3, 0.6, 0.9} = 25 candidates).

Why it is fast: each item's image + prompt is encoded once; its key/value
cache is then repeated for all of its samples, every temperature decodes in
the same batch (one temperature per row), items are batched together, and a
row leaves the batch as soon as its sentence ends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import torch
from tqdm import tqdm

from illume.configargs import check_ranges
from illume.images import ImageError, open_image
from illume.items import Candidate, Item
from illume.models.base import VisionLanguageModel
from illume.models.prompt import Prompt
from illume.rank import rank_candidates
from illume.rationales import unique

log = logging.getLogger(__name__)

EXPLANATION_PROMPTS = ("because", "seeing that", "since", "as", "which is evident because")
SENTENCE_END = re.compile(r"[.!?\n]")


@dataclass
class SampleConfig:
    """Jabber sampling settings (defaults from the paper, Sec. 4)."""

    temperatures: tuple[float, ...] = field(
        default=(0.01, 0.1, 0.3, 0.6, 0.9),
        metadata={"help": "one group of samples per temperature; 0 means greedy", "min": 0},
    )
    n_per_temperature: int = field(
        default=5, metadata={"help": "samples per temperature", "min": 1}
    )
    top_k_fraction: float = field(
        default=0.10,
        metadata={
            "help": "top-k with k = this share of the vocabulary (paper: 5025 of 50k)",
            "above": 0,
        },
    )
    explanation_prompts: tuple[str, ...] = field(
        default=("because",),
        metadata={"help": "appended after the answer to elicit a rationale; each gets samples"},
    )
    question_templates: tuple[str, ...] = field(
        default=("{question}",),
        metadata={"help": "question phrasings (ACT-X style); {question} is the item's own"},
    )
    top_p: float = field(
        default=1.0,
        metadata={
            "help": "nucleus sampling after top-k and temperature: keep the fewest most likely "
            "tokens whose probability reaches p (1: off, the paper's jabber sampling)",
            "above": 0,
        },
    )
    max_new_tokens: int = field(
        default=24, metadata={"help": "tokens drawn per candidate", "min": 1}
    )
    min_new_tokens: int = field(
        default=1,
        metadata={"help": "no stop token before this many tokens (no empty ones)", "min": 0},
    )
    min_distinct: int = field(
        default=10,
        metadata={
            "help": "items with fewer distinct candidates (kept by the rank filter) get more "
            "draws, up to top_up_rounds and top_up_budget",
            "min": 0,
        },
    )
    top_up_rounds: int = field(
        default=5,
        metadata={"help": "at most this many extra draws per batch (0: exactly n)", "min": 0},
    )
    top_up_budget: int = field(
        default=150,
        metadata={
            "help": "at most this many extra samples per item over all top-up rounds "
            "(6x the paper's 25: bounds the cost of an item the model cannot vary on)",
            "min": 0,
        },
    )
    top_up_temperatures: tuple[float, ...] = field(
        default=(0.6, 0.9, 1.2, 1.5),
        metadata={
            "help": "the ladder the top-up climbs: its k-th round samples at the k-th and next "
            "of these (the last two once the ladder ends); a tuned, sharper model varies only "
            "when hotter",
            "min": 0,
        },
    )
    top_up_prompts: tuple[str, ...] = field(
        default=("since", "seeing that", "as"),
        metadata={
            "help": "explanation prompts the top-up also asks from its second round on (those "
            "not in explanation_prompts): tuning sharpens the tuned-on prompt most"
        },
    )
    batch_items: int = field(default=8, metadata={"help": "items decoded together", "min": 1})
    seed: int = field(default=0, metadata={"help": "seed of the sampler"})
    rank: bool = field(
        default=True,
        metadata={"help": "drop what can never be a rationale, order the rest (illume.rank)"},
    )

    def __post_init__(self) -> None:
        check_ranges(self)

    def prompts_for(self, item: Item) -> list[Prompt]:
        """One prompt per question and explanation prompt; the model renders each.

        The questions are the item's own phrasings (`Item.questions`, ACT-X) in
        each of the configured templates, each distinct question once, so an
        item with 3 phrasings gets 3x the candidates before deduplication.
        """
        questions = unique(
            [t.format(question=q) for q in item.questions() for t in self.question_templates],
            text=str,
        )
        return [Prompt(q, item.answer, e) for q in questions for e in self.explanation_prompts]


@dataclass
class SampledItem:
    """The candidates of one item, or why the item failed."""

    id: str
    candidates: list[Candidate] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"id": self.id, "error": self.error}
        return {"id": self.id, "candidates": [c.to_dict() for c in self.candidates]}


def stop_token_mask(tokenizer, vocab_size: int) -> torch.Tensor:
    """True for tokens that end a sentence or a line, and for special tokens (end of text,
    end of turn, image placeholders: none of them belongs in a rationale)."""
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    for tid in range(min(vocab_size, len(tokenizer))):
        if SENTENCE_END.search(tokenizer.decode([tid])):
            mask[tid] = True
    specials = (tokenizer.eos_token_id, getattr(tokenizer, "pad_token_id", None))
    for tid in (*specials, *getattr(tokenizer, "all_special_ids", ())):
        if tid is not None and tid < vocab_size:
            mask[tid] = True
    return mask


def draw(
    logits: torch.Tensor,
    temperature: torch.Tensor,
    top_k: int,
    generator: torch.Generator,
    top_p: float = 1.0,
) -> torch.Tensor:
    """One token per row: keep the top-k logits, divide by the row's temperature, keep the
    nucleus (the fewest tokens whose probability reaches `top_p`; 1 keeps all), sample.

    Rows with temperature 0 take the argmax (greedy).
    """
    values, indices = logits.topk(top_k, dim=-1)
    greedy = temperature <= 0
    scaled = values / temperature.clamp(min=1e-6)[:, None]
    probs = torch.softmax(scaled, dim=-1)
    if top_p < 1.0:  # values are sorted: a token stays if the mass before it is under p
        probs = probs.masked_fill(probs.cumsum(-1) - probs >= top_p, 0.0)
    choice = torch.multinomial(probs, 1, generator=generator).squeeze(1)
    choice = torch.where(greedy, torch.zeros_like(choice), choice)
    return indices.gather(1, choice[:, None]).squeeze(1)


def clean(text: str) -> str:
    """Cut at the first sentence end, collapse whitespace, drop a trailing comma."""
    text = SENTENCE_END.split(text, maxsplit=1)[0]
    return " ".join(text.split()).strip(" ,;:")


class Sampler:
    """Draws candidates from any model that implements the common interface."""

    def __init__(self, model: VisionLanguageModel, config: SampleConfig | None = None):
        self.model = model
        self.config = config or SampleConfig()
        vocab = model.vocab_size
        self.top_k = max(1, round(self.config.top_k_fraction * vocab))
        self.stop = stop_token_mask(model.tokenizer, vocab)
        self.seed = self.config.seed
        self.generators: dict[str, torch.Generator] = {}
        self.rows_drawn = 0
        """Samples decoded so far, top-ups included: what sampling costs."""

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.generators.clear()

    def generator(self, device: torch.device) -> torch.Generator:
        """One seeded generator per device (a CUDA draw needs a CUDA generator)."""
        key = str(device)
        if key not in self.generators:
            self.generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self.generators[key]

    def decode(
        self, images: list, prompts: list[Prompt], temperatures: list[float]
    ) -> list[tuple[str, float]]:
        """Sample one continuation per (prompt, temperature) row group.

        Every prompt gets len(temperatures) rows sharing its encoding. Returns
        (text, mean token log-probability) per row, prompts outer, temperatures inner.
        """
        out = []
        for tokens, logprob in self.decode_tokens(images, prompts, temperatures):
            text = self.model.tokenizer.decode(tokens, skip_special_tokens=True)
            out.append((clean(text), logprob / max(1, len(tokens))))
        return out

    def decode_tokens(
        self, images: list, prompts: list, temperatures: list[float]
    ) -> list[tuple[list[int], float]]:
        """`decode` before cleaning: each row's token ids, its stop token included, and their
        summed log-probability (whoever needs to know how a row ended reads this)."""
        cfg = self.config
        per_prompt = len(temperatures)
        logits, state = self.model.prefill(images, prompts)
        logits = logits.repeat_interleave(per_prompt, dim=0)
        state = state.repeat_interleave(per_prompt)
        n_rows = len(prompts) * per_prompt
        temp = torch.tensor(temperatures, dtype=torch.float32).repeat(len(prompts))
        alive = torch.arange(n_rows)
        tokens: list[list[int]] = [[] for _ in range(n_rows)]
        logprob_sum = torch.zeros(n_rows)
        stop = self.stop.to(logits.device)
        for t in range(cfg.max_new_tokens):
            logits = logits.float()
            if t < cfg.min_new_tokens:
                logits = logits.masked_fill(stop[: logits.shape[1]], float("-inf"))
            nxt = draw(
                logits,
                temp[alive].to(logits.device),
                self.top_k,
                self.generator(logits.device),
                cfg.top_p,
            )
            logprob_sum[alive] += torch.log_softmax(logits, -1).gather(1, nxt[:, None])[:, 0].cpu()
            for row, tok in zip(alive.tolist(), nxt.tolist(), strict=True):
                tokens[row].append(tok)
            keep = ~stop[nxt]
            if t == cfg.max_new_tokens - 1 or not keep.any():
                break
            keep_idx = keep.nonzero().squeeze(1)
            if len(keep_idx) < len(alive):
                state = state.select(keep_idx.to(state.attention_mask.device))
                alive, nxt = alive[keep_idx.cpu()], nxt[keep_idx]
            logits, state = self.model.step(nxt, state)
        return [(tokens[row], logprob_sum[row].item()) for row in range(n_rows)]

    def sample_items(self, items: list[Item]) -> list[SampledItem]:
        """Candidates for a batch of items; an item whose image fails gets an error."""
        cfg = self.config
        results = {it.id: SampledItem(it.id) for it in items}
        images, prompts, owners = [], [], []
        for item in items:
            try:
                image = open_image(item.image)
            except ImageError as e:
                results[item.id].error = str(e)
                continue
            for prompt in cfg.prompts_for(item):
                images.append(image)
                prompts.append(prompt)
                owners.append(item.id)
        contextualize = getattr(self.model, "contextualize", None)
        if contextualize is not None and prompts:  # once, so candidates record the full prompt
            prompts = contextualize(images, prompts)
        temps = [t for t in cfg.temperatures for _ in range(cfg.n_per_temperature)]
        by_id = {it.id: it for it in items}
        self._draw_into(by_id, results, images, prompts, owners, temps)
        self._top_up(by_id, results, images, prompts, owners)
        return [results[it.id] for it in items]

    def top_up_plan(self, k: int) -> tuple[list[float], tuple[str, ...]]:
        """The k-th top-up round's temperatures (one per row) and its other explanation prompts.

        Round 0 repeats the item's own prompts hot; later rounds climb the ladder and add
        the other prompts, since after tuning on a few rationales the tuned-on prompt
        repeats them at every ordinary temperature.
        """
        cfg = self.config
        ladder = cfg.top_up_temperatures or tuple(sorted(cfg.temperatures)[-2:])
        start = min(k, max(0, len(ladder) - 2))
        temps = [t for t in ladder[start : start + 2] for _ in range(cfg.n_per_temperature)]
        extra = () if k == 0 else cfg.top_up_prompts
        return temps, tuple(p for p in extra if p not in cfg.explanation_prompts)

    def _top_up(self, by_id, results, images, prompts, owners) -> None:
        """Draw again for the items with fewer than `min_distinct` kept candidates, round by
        round, until they have them, the rounds are spent or the item's budget is."""
        cfg = self.config
        spent = dict.fromkeys(results, 0)
        for k in range(cfg.top_up_rounds):
            temps, extra = self.top_up_plan(k)
            asks = list(enumerate(prompts))
            asks += [(i, replace(p, explanation=e)) for e in extra for i, p in enumerate(prompts)]
            pick: tuple[list, list, list] = ([], [], [])
            for i, prompt in asks:
                owner = owners[i]
                short = len(results[owner].candidates) < cfg.min_distinct
                if short and spent[owner] + len(temps) <= cfg.top_up_budget:
                    spent[owner] += len(temps)
                    for x, v in zip(pick, (images[i], prompt, owner), strict=True):
                        x.append(v)
            if not pick[1]:
                break
            self._draw_into(by_id, results, *pick, temps)

    def _draw_into(self, items, results, images, prompts, owners, temps) -> None:
        """Decode every prompt at every temperature; add the new distinct texts to its item
        (only those that might be rationales, ranked, unless `rank` is off)."""
        if not prompts:
            return
        rows = self.decode(images, prompts, temps)
        self.rows_drawn += len(rows)
        for i, (owner, prompt) in enumerate(zip(owners, prompts, strict=True)):
            for j, temp in enumerate(temps):
                text, lp = rows[i * len(temps) + j]
                results[owner].candidates.append(
                    Candidate(
                        text,
                        temp,
                        prompt.plain(),
                        round(lp, 4),
                        self.model.version,
                        phrasing=prompt.question,
                        explanation=prompt.explanation,
                    )
                )
        for owner in set(owners):
            kept = deduplicate(results[owner].candidates)
            if self.config.rank:
                kept = rank_candidates(items[owner], kept)
            results[owner].candidates = kept

    def sample(self, items: Iterable[Item], progress: bool = True) -> Iterator[SampledItem]:
        """Candidates for many items, batch by batch, with a progress bar."""
        items = list(items)
        bar = tqdm(total=len(items), desc="sampling", unit="item", disable=not progress)
        for start in range(0, len(items), self.config.batch_items):
            batch = items[start : start + self.config.batch_items]
            yield from self.sample_items(batch)
            bar.update(len(batch))
        bar.close()


def deduplicate(candidates: list[Candidate]) -> list[Candidate]:
    """Drop empty texts and repeats (by `rationale_key`), keeping the first."""
    return unique(candidates, text=lambda c: c.text)
