"""Settings of the shallow study (seed 000, Part 1): seeds, the sigma grid, data scales, budgets.

The lab's set-up is the default: circles (radii 1 and 2, noise 0.15), 100 training and 10,000
validation points, a 2-6-3-2 ReLU net, SGD at lr 0.1 on the full batch for 1000 steps. What the
study compares (schemes, breakers, the report's set-up) is in ``populations.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings

EXACT_SIGMAS = (1e-3, 0.01, 0.1, 0.5, 2.0, 10.0)  # must appear exactly in every grid
POINTS_PER_DECADE = 6  # 1e-3..1e1 at 6 per decade: 25 values
SIGMA_REF = 0.5  # the normal-init std used where sigma is held fixed (data scaling, breakers)
DATA_SCALES = (0.01, 0.03, 0.1, 0.3, 3.0, 10.0, 30.0, 100.0)  # x1 is the sweep's own SIGMA_REF group
QUICK_DATA_SCALES = (0.01, 0.1, 10.0, 100.0)


def sigma_grid(quick: bool = False) -> list[float]:
    """Quick: the six exact sigmas. Default: a log grid 1e-3..1e1 where the exact ones replace their
    nearest grid points, rounded to 3 significant digits."""
    if quick:
        return list(EXACT_SIGMAS)
    n = 4 * POINTS_PER_DECADE + 1
    grid = [float(f"{v:.3g}") for v in np.geomspace(1e-3, 1e1, n)]
    for exact in EXACT_SIGMAS:
        nearest = min(range(n), key=lambda i: abs(np.log(grid[i] / exact)))
        grid[nearest] = exact
    return sorted(set(grid))


@dataclass(frozen=True)
class ShallowSettings(StudySettings):
    """What one run of the shallow study trains. Every group uses member seeds 0..seeds-1."""

    STUDY = "shallow"

    seeds: int = 16  # per sigma, scheme, transform and breaker: a bootstrap interval of the median
    sigmas: tuple[float, ...] = tuple(sigma_grid())  # init std (not variance) grid; must hold SIGMA_REF
    scales: tuple[float, ...] = DATA_SCALES  # input scale factors trained next to the sweep's x1
    steps: int = 1000  # the lab's budget of full-batch SGD steps
    lr: float = 0.1  # the lab's SGD learning rate
    n_train: int = 100  # the lab's training points
    n_val: int = 10_000  # validation points: the final val metrics use all of them
    eval_every: int = 20  # steps between train/val curve points
    n_curve: int = 1000  # val points used for the curves (all 10,000 at 50 points would cost more than training)
    variant_steps: int = 5000  # the student report's AdamW budget
    variant_lr: float = 3e-4  # the student report's AdamW learning rate
    run_seed: int = 0  # with each member seed, every random stream (data, init, shuffles)

    @classmethod
    def quick(cls) -> "ShallowSettings":
        """The six exact sigmas x 8 seeds, four data scales, a 1000-step report variant."""
        return cls(preset="quick", seeds=8, sigmas=tuple(sigma_grid(True)), scales=QUICK_DATA_SCALES,
                   variant_steps=1000)

    @property
    def variant_eval_every(self) -> int:
        return 1000 if self.variant_steps > 1000 else max(self.variant_steps // 2, 1)

    def check(self) -> None:
        self.at_least(1, "seeds", "steps", "n_train", "n_val", "eval_every", "n_curve", "variant_steps")
        if not (self.lr > 0 and self.variant_lr > 0):
            raise UsageError(f"shallow study: lr and variant_lr must be > 0, got {self.lr}, {self.variant_lr}")
        for name in ("sigmas", "scales"):
            values = getattr(self, name)
            if not values or min(values) <= 0 or len(set(values)) != len(values):
                raise UsageError(f"shallow study: {name} must be distinct numbers > 0, got {list(values)}")
        if SIGMA_REF not in self.sigmas:
            raise UsageError(f"shallow study: sigmas must include {SIGMA_REF:g} (data scaling and the breakers "
                             f"compare against it), got {list(self.sigmas)}")
