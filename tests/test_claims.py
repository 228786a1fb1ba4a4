"""Claims on paired seeds (experiments/claims.py): the verdict rules and the sentence that says them."""
from __future__ import annotations

import pytest

from trainlab.experiments import claims


def _diff(lo: float, hi: float, n: int = 8) -> dict:
    return {"median": (lo + hi) / 2, "lo": lo, "hi": hi, "n": n}


@pytest.mark.parametrize("claimed,lo,hi,expected", [
    ("negative", -0.3, -0.1, "confirmed"),
    ("negative", 0.1, 0.3, "refuted"),
    ("negative", -0.1, 0.1, "inconclusive"),
    ("positive", 0.1, 0.3, "confirmed"),
    ("positive", -0.3, -0.1, "refuted"),
    ("positive", -0.1, 0.1, "inconclusive"),
])
def test_directional_verdict_flips_with_the_interval(claimed, lo, hi, expected):
    c = {"claim": "s", "kind": "directional", "claimed": claimed, "a": "a", "b": "b", "metric": "m",
         "difference": _diff(lo, hi), "tol": None}
    assert claims.verdict(c) == expected
    assert f"\"s\": {expected} (" in claims.sentence(c)


@pytest.mark.parametrize("lo,hi,expected", [
    (-0.01, 0.02, "confirmed"),  # inside +-0.05
    (0.06, 0.1, "refuted"),  # wholly above +0.05
    (-0.2, -0.06, "refuted"),  # wholly below -0.05
    (0.01, 0.08, "inconclusive"),  # straddles the band's edge
])
def test_equivalence_verdict_is_inside_outside_or_across_the_band(lo, hi, expected):
    c = {"claim": "a is b", "kind": "equivalence", "claimed": "equal", "a": "a", "b": "b", "metric": "m",
         "difference": _diff(lo, hi), "tol": 0.05}
    assert claims.verdict(c) == expected
    assert claims.sentence(c).startswith(f"\"a is b\": {expected} (") and "within +-0.05" in claims.sentence(c)


def test_too_few_seeds_is_inconclusive():
    assert claims.equivalence_verdict({"median": 0.0, "lo": 0.0, "hi": 0.0, "n": 1}, 0.1) == "inconclusive"
    made = claims.claim("s", "s", "m", "a", "b", [1.0], [0.0], "positive")
    assert made["verdict"] == "inconclusive"


def test_claims_from_paired_seeds():
    a = [1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 1.01]
    c = claims.claim("ab", "a beats b", "loss", "a", "b", a, [x + 0.5 for x in a], "negative")
    assert c["verdict"] == "confirmed" and c["difference"]["median"] == pytest.approx(-0.5)
    e = claims.equivalence("ae", "a is b", "loss", "a", "b", a, [x + 0.001 for x in a], 0.01)
    assert e["verdict"] == "confirmed" and e["values"]["a"] == a and e["kind"] == "equivalence"
    assert c["kind"] == "directional" and c["tol"] is None and c["id"] == "ab"


def test_a_compound_claim_needs_every_part():
    assert claims.compound(["confirmed", "confirmed"]) == "confirmed"
    assert claims.compound(["confirmed", "refuted"]) == "refuted"
    assert claims.compound(["confirmed", "inconclusive"]) == "inconclusive"
    assert claims.compound([]) == "inconclusive"
