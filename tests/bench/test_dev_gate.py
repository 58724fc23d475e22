"""bench/dev_gate.py: which version a loop that publishes only on a better dev share serves."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from dev_gate import gate  # noqa: E402


def test_a_version_is_served_only_when_its_dev_share_beats_the_serving_ones():
    shares = [0.10, 0.53, 0.51, 0.17]  # base, r1, r2, r3 (run C's dev figures, rounded)
    assert gate(shares, margin=0.0) == [1, 1, 1]  # r2 is no better, r3 collapsed
    assert gate(shares, margin=-0.05) == [1, 2, 2]  # "not worse by more than 5 points"
    assert gate([0.2, 0.1, 0.15], margin=0.0) == [0, 0]  # nothing beats the base weights
