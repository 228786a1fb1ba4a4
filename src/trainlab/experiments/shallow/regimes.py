"""Training regimes of the shallow study: measurable per-seed labels, majority per sigma, picks.

The lab (seed 000, Part 1) asks for three sigmas: one small enough to slow the start yet still
arrive at a good solution, one large enough that training converges but never recovers from the
init, and one good one. Those words become rules on quantities measured on every member:

- ``loss_at_init``: the train loss at step 0;
- ``leave_step``: the first evaluated step at which the train loss is more than ``PLATEAU_TOL``
  below ``loss_at_init`` (``None``: it never left its initial plateau);
- ``final_loss``: the train loss at the last step; ``val_acc``: the final validation accuracy;
- ``finite``: no loss was ever non-finite (a non-finite member is frozen by the loop).

``REGIME_RULES`` is a table read top to bottom; the first rule that matches names the regime.
The label of a sigma is the majority over its seeds; ties go to the rule listed first (the worse
regime), and ``regime_share`` says how many seeds agree.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

PLATEAU_TOL = 0.05  # nats: a drop of the train loss below its init value this large leaves the plateau
ACC_GOOD = 0.90  # val accuracy that counts as a good solution (this data's Bayes accuracy is ~0.999)
SLOW_FRACTION = 0.10  # leaving the plateau after this share of the steps is a slow start
STUCK_FRACTION = 0.50  # leaving only after this share of the steps, and ending poor, is stuck
LN2 = math.log(2.0)


@dataclass(frozen=True)
class CurveFeatures:
    """What the rules read from one member's run."""

    loss_at_init: float
    final_loss: float
    leave_step: Optional[int]
    val_acc: float
    finite: bool
    total_steps: int

    @property
    def leave_fraction(self) -> float:
        """Share of the steps spent on the initial plateau (1.0 when it never left)."""
        if self.leave_step is None:
            return 1.0
        return self.leave_step / max(self.total_steps, 1)


@dataclass(frozen=True)
class RegimeRule:
    """One row of the table: a regime, its rule in words, and the predicate that implements it."""

    regime: str
    rule: str
    test: Callable[[CurveFeatures], bool]


REGIME_RULES: tuple[RegimeRule, ...] = (
    RegimeRule("diverged",
               f"the loss became non-finite (the member was frozen), or ended more than {PLATEAU_TOL} nats above "
               "its value at init: training made the model worse",
               lambda f: (not f.finite) or f.final_loss > f.loss_at_init + PLATEAU_TOL),
    RegimeRule("stuck",
               f"the train loss never fell {PLATEAU_TOL} nats below its value at init, or fell only after "
               f"{STUCK_FRACTION:.0%} of the steps and ended with val acc < {ACC_GOOD}",
               lambda f: f.leave_step is None or (f.leave_fraction >= STUCK_FRACTION and f.val_acc < ACC_GOOD)),
    RegimeRule("no_recovery",
               f"left its initial plateau within the first {STUCK_FRACTION:.0%} of the steps but ended with "
               f"val acc < {ACC_GOOD}: it converges, yet does not recover from the init",
               lambda f: f.val_acc < ACC_GOOD),
    RegimeRule("slow_start",
               f"ended with val acc >= {ACC_GOOD}, but stayed on its initial plateau for at least "
               f"{SLOW_FRACTION:.0%} of the steps",
               lambda f: f.leave_fraction >= SLOW_FRACTION),
    RegimeRule("good",
               f"ended with val acc >= {ACC_GOOD} and left its initial plateau within {SLOW_FRACTION:.0%} of the steps",
               lambda f: True),
)
REGIMES: tuple[str, ...] = tuple(r.regime for r in REGIME_RULES)


def leave_step(steps: Sequence[int], loss: Sequence[float], tol: float = PLATEAU_TOL) -> Optional[int]:
    """The first evaluated step whose loss is more than ``tol`` below the loss at step 0."""
    loss = np.asarray(loss, dtype=np.float64)
    below = np.nonzero(np.isfinite(loss) & (loss < loss[0] - tol))[0]
    return int(steps[below[0]]) if below.size else None


def features(steps: Sequence[int], loss: Sequence[float], val_acc: float, frozen: bool = False) -> CurveFeatures:
    """The rule inputs of one member from its train-loss curve (row 0 = init) and final val accuracy."""
    loss = np.asarray(loss, dtype=np.float64)
    finite = bool(np.isfinite(loss).all()) and not frozen
    return CurveFeatures(loss_at_init=float(loss[0]), final_loss=float(loss[-1]), leave_step=leave_step(steps, loss),
                         val_acc=float(val_acc), finite=finite, total_steps=int(steps[-1]))


def classify(f: CurveFeatures) -> str:
    """The first regime whose rule matches."""
    for rule in REGIME_RULES:
        if rule.test(f):
            return rule.regime
    raise AssertionError("the last rule always matches")


def majority(labels: Sequence[str]) -> tuple[str, float, dict[str, int]]:
    """The most common label, its share, and all counts; ties go to the rule listed first."""
    counts = Counter(labels)
    best = max(REGIMES, key=lambda r: (counts.get(r, 0), -REGIMES.index(r)))
    share = counts.get(best, 0) / max(len(labels), 1)
    return best, share, {r: counts[r] for r in REGIMES if counts.get(r)}


def pick_representatives(rows: Sequence[dict[str, Any]]) -> dict[str, Optional[float]]:
    """The lab's three sigmas from per-sigma rows {sigma, regime, regime_share, val_acc_median}.

    - good: a sigma labelled ``good`` with the largest share (then the best median val acc);
      without one, the sigma with the best median val acc;
    - small: below ``good``, a ``slow_start`` sigma with the largest share (then the best val acc);
    - large: above ``good``, a ``no_recovery`` sigma with the largest share (then the smallest sigma).
    """
    def acc(r: dict) -> float:
        v = r.get("val_acc_median")
        return -1.0 if v is None else float(v)

    goods = [r for r in rows if r["regime"] == "good"]
    pool = goods or list(rows)
    if not pool:
        return {"small": None, "good": None, "large": None}
    good = max(pool, key=lambda r: (r["regime_share"] if goods else 0.0, acc(r), -r["sigma"]))["sigma"]
    smalls = [r for r in rows if r["regime"] == "slow_start" and r["sigma"] < good]
    larges = [r for r in rows if r["regime"] == "no_recovery" and r["sigma"] > good]
    small = max(smalls, key=lambda r: (r["regime_share"], acc(r), r["sigma"]))["sigma"] if smalls else None
    large = max(larges, key=lambda r: (r["regime_share"], -r["sigma"]))["sigma"] if larges else None
    return {"small": small, "good": good, "large": large}


def criteria_json() -> dict[str, Any]:
    """The ``regime_criteria`` block of summary.json: thresholds and the rules in order."""
    return {
        "plateau_tol": PLATEAU_TOL,
        "acc_good": ACC_GOOD,
        "slow_fraction": SLOW_FRACTION,
        "stuck_fraction": STUCK_FRACTION,
        "measured_on": "train loss at every evaluation (row 0 = init) and the final val accuracy of each seed",
        "order": "rules are tried top to bottom; the first that matches names the seed's regime",
        "majority": "a sigma's regime is the most common seed label (ties go to the rule listed first); "
                    "regime_share is the fraction of seeds with that label",
        "rules": [{"regime": r.regime, "rule": r.rule} for r in REGIME_RULES],
    }
