"""Whether a round's new version replaces the one serving: judged on what a team would see.

The tuning job picks a checkpoint inside a round by the dev references' NLL. That measure
did not see round 3 collapse (run C: held-out accepted share 56.6% after round 2, 17.6%
after round 3, while the dev NLL still chose a checkpoint). What a team sees next is the
new version's *sampled* candidates, so the gate samples dev items (val split, images the
held-out items do not use) with the new version and lets the critic judge them, as
bench/dev_gate.py did after the fact (dev accepted share: base 9.7, r1 53.1, r2 51.4,
r3 17.5 on 50 items).

The serving version stays only when its dev accepted share beats the new one's by more
than `margin`: a new version about as good is published, since it was tuned on more
ticks. Then "this round changed nothing" is recorded with both figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishGate:
    """The rule; shares are 0..1 (accepted candidates / shown candidates on dev items)."""

    margin: float = 0.03
    """By how much (share points) the serving version must beat the new one to stay. On
    100 dev items an accepted share's 95% interval is about +-7 points: 3 points keeps a
    clearly worse version out without holding back one that is as good."""

    def publishes(self, new_share: float, serving_share: float) -> bool:
        return serving_share - new_share <= self.margin

    def decide(self, new_share: float, serving_share: float, serving: str) -> dict:
        """Both shares, the decision, and the note when the serving version stays."""
        published = self.publishes(new_share, serving_share)
        return {
            "new": new_share,
            "serving": serving_share,
            "published": published,
            "note": None if published else self.note(new_share, serving_share, serving),
        }

    def note(self, new_share: float, serving_share: float, serving: str) -> str:
        """What the round's record says when the serving version stays."""
        return (
            f"this round changed nothing: the new version's dev accepted share is "
            f"{100 * new_share:.1f}%, the serving {serving}'s {100 * serving_share:.1f}% "
            f"(kept when higher by more than {100 * self.margin:.0f} points)"
        )


def accepted_share(rows: list[dict]) -> float:
    """The share of candidates the critic marked fitting, over critiqued sampling rows."""
    cands = [c for row in rows for c in row.get("candidates", [])]
    return sum(bool(c.get("fitting")) for c in cands) / max(1, len(cands))


def served_after(shares: list[float], gate: PublishGate) -> list[int]:
    """The version serving after each round, given every version's dev share in order
    (index 0: the base weights): each round's replaces the serving one if the gate says so."""
    serving, out = 0, []
    for r in range(1, len(shares)):
        if gate.publishes(shares[r], shares[serving]):
            serving = r
        out.append(serving)
    return out
