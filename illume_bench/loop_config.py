"""The benchmark loop's settings (`illume loop`'s flags): one dataclass that nests the
sampling, critic and tuning configs instead of copying their fields (`illume_bench.loop` runs
it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from illume.configargs import check_ranges
from illume.models import ModelChoice
from illume.sample import SampleConfig
from illume.tune import TuneConfig
from illume.tunejob import Launch
from illume_bench.critics.config import CriticConfig
from illume_bench.publish_gate import PublishGate

DEV_SPLIT = "dev"
"""The items file's name for the held-out val slice that selects epochs and rounds."""

POOL_SPLIT = "pool"
"""The items file's name for the train items the loop does not sample: X^A draws from
them and from the sampled ones, as the paper draws from the whole training set."""


def _loop_tune_defaults() -> TuneConfig:
    """The loop's tuning: the engine's defaults, X^A from the whole train split."""
    return TuneConfig(train_split=f"train,{POOL_SPLIT}", val_items=50)


@dataclass
class LoopConfig:
    """The benchmark loop (defaults: the paper's protocol at a CPU-friendly size).

    On the command line (`illume loop`) the tuning settings keep their own flag
    names (`--epochs`, `--lr`, ...), sampling's get `--sample-` and the critic's
    `--critic-`; the tuning job's explanation prompt is sampling's first one.
    """

    rounds: int = field(default=3, metadata={"help": "tuning rounds after round 0", "min": 0})
    saturation: float = field(
        default=0.05,
        metadata={"help": "stop when new fitting samples < this share of those collected"},
    )
    patience: int = field(
        default=1,
        metadata={"help": "stop after this many rounds without a better dev ROUGE-L", "min": 1},
    )
    train_limit: int | None = field(
        default=None, metadata={"help": "train items (seeded draw)", "min": 1}
    )
    val_limit: int | None = field(
        default=None,
        metadata={"help": "reported val items (seeded draw, disjoint from dev)", "min": 1},
    )
    dev_limit: int = field(
        default=50,
        metadata={
            "help": "held-out items of the val split (at most half of it) that select the best "
            "epoch and the best round, so the reported val and test scores choose nothing",
            "min": 0,
        },
    )
    gate: bool = field(
        default=True,
        metadata={
            "help": "publish a round's version only when the critic accepts about as many of "
            "its sampled candidates on the dev items as of the serving version's "
            "(illume_bench.publish_gate); otherwise the round changes nothing. Off: every "
            "round's version serves",
        },
    )
    gate_margin: float = field(
        default=PublishGate().margin,
        metadata={
            "help": "share points (0..1) by which the serving version's dev accepted share "
            "must beat the new one's to stay (negative: the new one must be better by that much)",
            "min": -1.0,
        },
    )
    test_limit: int | None = field(
        default=None, metadata={"help": "test items (seeded draw)", "min": 1}
    )
    resample_rounds: int = field(
        default=2,
        metadata={
            "help": "while nothing fits, sample again with the same model and more candidates "
            "this many times before stopping",
            "min": 0,
        },
    )
    agreement: tuple[str, ...] = field(
        default=("rouge", "facts", "semantic"),
        metadata={
            "help": "critics compared with the simulated annotator on each round's candidates "
            "(none: --agreement none)",
            "choices": ("rouge", "facts", "semantic", "none"),
        },
    )
    baselines: tuple[str, ...] = field(
        default=(), metadata={"help": "same-gt and/or full-gt", "choices": ("same-gt", "full-gt")}
    )
    tune: TuneConfig = field(
        default_factory=_loop_tune_defaults,
        metadata={"help": "each round's tuning job", "exclude": ("explanation_prompt",)},
    )
    sample: SampleConfig = field(
        default_factory=SampleConfig, metadata={"help": "jabber sampling", "prefix": "sample-"}
    )
    critic: CriticConfig = field(
        default_factory=CriticConfig, metadata={"help": "the critic", "prefix": "critic-"}
    )
    model: ModelChoice = field(
        default_factory=ModelChoice.from_env,
        metadata={"help": "the model (its own flags; the tuning job gets the same)", "cli": False},
    )
    launch: Launch = field(
        default_factory=Launch, metadata={"help": "how the tuning job is launched"}
    )

    def __post_init__(self) -> None:
        check_ranges(self)

    def tune_config(self) -> TuneConfig:
        """The tuning job's settings: the loop's, with sampling's explanation prompt; its
        best epoch is chosen on the dev slice (the items file the loop writes has it)."""
        return replace(
            self.tune, explanation_prompt=self.sample.explanation_prompts[0], val_split=DEV_SPLIT
        )
