"""The shallow study's regime criteria on synthetic loss curves, the majority vote, the automatic
picks, the sigma grid and the per-layer std of the named schemes (against sampled weights)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainlab.experiments.shallow.populations import SCHEMES, layer_stds
from trainlab.experiments.shallow.regimes import (
    ACC_GOOD, LN2, REGIME_RULES, REGIMES, classify, criteria_json, features, leave_step, majority,
    pick_representatives)
from trainlab.experiments.shallow.settings import EXACT_SIGMAS, sigma_grid
from trainlab.nn.init import init_weight

STEPS = np.arange(0, 1001, 20)


def plateau_then_drop(start: float, leave: int, end: float, level: float | None = None) -> np.ndarray:
    """Flat at ``level`` (default: ``start``) until ``leave``, then exponential decay to ``end``."""
    level = start if level is None else level
    out = np.full(STEPS.shape, level, dtype=np.float64)
    out[0] = start
    after = STEPS >= leave
    tau = 50.0
    out[after] = end + (level - end) * np.exp(-(STEPS[after] - leave) / tau)
    out[after & (STEPS == leave)] = level - 0.06  # the first point below the plateau is `leave`
    return out


CASES = [
    # (name, curve, final val acc, frozen, expected regime)
    ("flat at ln 2", np.full(STEPS.shape, LN2), 0.50, False, "stuck"),
    ("flat at ln 2, lucky accuracy", np.full(STEPS.shape, LN2), 0.62, False, "stuck"),
    ("plateau to 400, then good", plateau_then_drop(LN2, 400, 0.02), 0.98, False, "slow_start"),
    ("leaves at 100 = 10% exactly", plateau_then_drop(LN2, 100, 0.02), 0.97, False, "slow_start"),
    ("leaves at 80", plateau_then_drop(LN2, 80, 0.02), 0.97, False, "good"),
    ("leaves at once", plateau_then_drop(LN2, 20, 0.01), 0.99, False, "good"),
    ("good at the accuracy bar", plateau_then_drop(LN2, 20, 0.1), ACC_GOOD, False, "good"),
    ("huge init, converges poorly", plateau_then_drop(1000.0, 20, 0.5, level=0.55), 0.60, False, "no_recovery"),
    ("leaves early, ends below the bar", plateau_then_drop(LN2, 60, 0.3), 0.85, False, "no_recovery"),
    ("leaves in the second half, ends poor", plateau_then_drop(LN2, 700, 0.5), 0.70, False, "stuck"),
    ("leaves in the second half, ends good", plateau_then_drop(LN2, 700, 0.05), 0.95, False, "slow_start"),
    ("nan on the way", np.where(STEPS >= 300, np.nan, LN2), 0.50, False, "diverged"),
    ("frozen by the loop", plateau_then_drop(LN2, 20, 0.05), 0.95, True, "diverged"),
    ("ends above its init", np.r_[LN2, np.full(STEPS.size - 1, 2.47)], 0.50, False, "diverged"),
]


@pytest.mark.parametrize("name,curve,acc,frozen,expected", CASES, ids=[c[0] for c in CASES])
def test_regime_rules_on_synthetic_curves(name, curve, acc, frozen, expected):
    assert classify(features(STEPS, curve, acc, frozen)) == expected


@pytest.mark.parametrize("curve,expected", [
    (np.full(STEPS.shape, LN2), None),
    (plateau_then_drop(LN2, 400, 0.02), 400),
    (plateau_then_drop(1000.0, 20, 0.5), 20),
    (np.r_[LN2, LN2 - 0.049, np.full(STEPS.size - 2, LN2)], None),  # inside the tolerance
])
def test_leave_step(curve, expected):
    assert leave_step(STEPS, curve) == expected


@pytest.mark.parametrize("labels,expected,share", [
    (["good"] * 5 + ["no_recovery"] * 3, "good", 5 / 8),
    (["good"] * 4 + ["no_recovery"] * 4, "no_recovery", 0.5),  # a tie goes to the rule listed first
    (["stuck"] * 8 + ["slow_start"] * 8, "stuck", 0.5),
    (["slow_start"] * 13 + ["stuck"] * 2 + ["no_recovery"], "slow_start", 13 / 16),
])
def test_majority(labels, expected, share):
    label, got_share, counts = majority(labels)
    assert label == expected and got_share == pytest.approx(share)
    assert sum(counts.values()) == len(labels)


def _rows(spec):
    return [{"sigma": s, "regime": r, "regime_share": sh, "val_acc_median": a} for s, r, sh, a in spec]


@pytest.mark.parametrize("spec,expected", [
    ([(0.001, "stuck", 1.0, 0.5), (0.1, "slow_start", 0.8, 0.96), (0.5, "good", 0.75, 0.97),
      (2, "good", 0.7, 0.95), (10, "no_recovery", 1.0, 0.6)], {"small": 0.1, "good": 0.5, "large": 10}),
    # equal shares: the better accuracy wins for good and small, the smaller sigma for large
    ([(0.1, "slow_start", 0.9, 0.95), (0.2, "slow_start", 0.9, 0.97), (0.5, "good", 0.8, 0.97),
      (1, "good", 0.8, 0.98), (5, "no_recovery", 1.0, 0.6), (10, "no_recovery", 1.0, 0.55)],
     {"small": 0.2, "good": 1, "large": 5}),
    # no good sigma: the best accuracy stands in; nothing above it recovers poorly
    ([(0.01, "stuck", 1.0, 0.5), (0.1, "slow_start", 0.6, 0.93)], {"small": None, "good": 0.1, "large": None}),
])
def test_pick_representatives(spec, expected):
    assert pick_representatives(_rows(spec)) == expected


def test_criteria_block_lists_every_regime_in_rule_order():
    block = criteria_json()
    assert [r["regime"] for r in block["rules"]] == list(REGIMES) == [r.regime for r in REGIME_RULES]
    assert all(r["rule"] for r in block["rules"]) and block["acc_good"] == ACC_GOOD


def test_sigma_grid():
    grid = sigma_grid()
    assert len(grid) >= 24 and grid == sorted(grid)
    assert grid[0] == 1e-3 and grid[-1] == 10.0
    for exact in EXACT_SIGMAS:
        assert exact in grid
    ratios = np.diff(np.log10(grid))
    assert ratios.max() < 0.25  # a log grid: at most a quarter decade between neighbours
    assert sigma_grid(quick=True) == list(EXACT_SIGMAS)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_layer_stds_match_sampled_weights(scheme):
    g = torch.Generator().manual_seed(0)
    for (fan_in, fan_out), expected in zip([(2, 6), (6, 3), (3, 2)], layer_stds(scheme)):
        w = torch.cat([init_weight(fan_in, fan_out, scheme, 1.0, math.sqrt(2.0), g).flatten() for _ in range(3000)])
        assert float(w.std()) == pytest.approx(expected, rel=0.03)
