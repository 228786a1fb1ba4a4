"""The three verdicts of a claim tested on paired seeds (stats.verdict_of / test_claim)."""
from __future__ import annotations

import pytest

from trainlab.stats import claim_on_seeds as claim_test
from trainlab.stats import verdict_of


@pytest.mark.parametrize("lo,hi,claimed,expected", [
    (0.1, 0.5, "positive", "confirmed"),
    (0.1, 0.5, "negative", "refuted"),
    (-0.5, -0.1, "negative", "confirmed"),
    (-0.5, -0.1, "positive", "refuted"),
    (-0.1, 0.5, "positive", "inconclusive"),
    (-0.5, 0.1, "negative", "inconclusive"),
    (0.0, 0.5, "positive", "inconclusive"),  # an interval touching 0 does not exclude it
])
def test_verdict_flips_with_the_interval(lo, hi, claimed, expected):
    assert verdict_of({"median": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 8}, claimed) == expected


def test_too_few_seeds_is_inconclusive():
    assert verdict_of({"median": 1.0, "lo": 1.0, "hi": 1.0, "n": 1}, "positive") == "inconclusive"
    assert verdict_of({"median": None, "lo": None, "hi": None, "n": 0}, "positive") == "inconclusive"


def test_claim_on_paired_values():
    a = [1.0, 1.2, 0.9, 1.1, 1.3, 1.0, 1.2, 1.1]
    assert claim_test(a, [x - 0.5 for x in a], "positive")["verdict"] == "confirmed"
    assert claim_test(a, [x + 0.5 for x in a], "positive")["verdict"] == "refuted"
    noisy = [x + d for x, d in zip(a, [0.3, -0.3, 0.2, -0.2, 0.1, -0.1, 0.25, -0.25])]
    assert claim_test(a, noisy, "positive")["verdict"] == "inconclusive"
    with pytest.raises(ValueError):
        claim_test(a, a, "bigger")
