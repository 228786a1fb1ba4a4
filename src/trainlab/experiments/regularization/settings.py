"""Settings of the regularization study (seeds 002 and 003): the overfitting task and the arms.

The task overfits on purpose: 50 noisy points of two moons and a 2-256-256-2 ReLU net, which
fits all 50 points and so learns the noise. Each arm is one regularizer swept over a log range of
strengths, weakest first, so the figures show both the under- and the over-regularized end. The
arms are a table (``ARMS``): a row says which optimizer trains it and which per-member keys its
strength sets. Defaults fit the lab's time budget on 2 CPU cores (docs/regularization.md);
``quick()`` is a first look in a few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings


@dataclass(frozen=True)
class Arm:
    """One regularizer: its optimizer, the settings field holding its strengths, and what a strength sets."""

    name: str  # id in files and JSON
    short: str  # for crowded figures
    label: str  # for tables and sentences
    optimizer: str  # sgd (with momentum), adam or adamw
    cost: str  # arms of one optimizer and cost train as one population (see train.py)
    strengths: str  # the settings field with its strengths, weakest first
    symbol: str  # the strength's name on axes: lambda, c, p
    values: Callable[[float], dict]  # strength -> the member's per-member config values


ARMS: tuple[Arm, ...] = (
    Arm("l2", "L2", "L2 penalty in the loss", "sgd", "plain", "l2", "lambda", lambda s: {"regularize.l2": s}),
    Arm("sgd_wd", "SGD wd", "SGD weight decay (coupled)", "sgd", "plain", "weight_decay", "wd",
        lambda s: {"optim.weight_decay": s}),
    Arm("l1", "L1", "L1 penalty", "sgd", "l1", "l1", "lambda", lambda s: {"regularize.l1": s}),
    Arm("elastic", "elastic net", "elastic net (L1 + L2, equal lambda)", "sgd", "l1", "elastic", "lambda",
        lambda s: {"regularize.l1": s, "regularize.l2": s}),
    Arm("max_norm", "max-norm", "max-norm (projection after each step)", "sgd", "plain", "max_norm", "c",
        lambda s: {"regularize.max_norm": s}),
    Arm("dropout", "dropout", "dropout (hidden layers)", "sgd", "dropout", "dropout", "p",
        lambda s: {"model.dropout.hidden": s}),
    Arm("adam_l2", "Adam + L2", "Adam + L2 (decay in the gradient)", "adam", "plain", "adam_l2", "wd",
        lambda s: {"optim.weight_decay": s}),
    Arm("adamw", "AdamW", "AdamW (decoupled decay)", "adamw", "plain", "adamw", "wd",
        lambda s: {"optim.weight_decay": s}),
)
ARM_BY_NAME = {a.name: a for a in ARMS}
# each optimizer's baseline without regularization: AdamW at decay 0 is Adam, so AdamW shares Adam's
BASELINE_OF = {"sgd": "sgd", "adam": "adam", "adamw": "adam"}
NEAR_ZERO = 1e-3  # a weight counts as near zero when |w| < NEAR_ZERO * max|w| (of its member)


@dataclass(frozen=True)
class RegularizationSettings(StudySettings):
    """One run: the task, the optimizers, and each arm's strengths (weakest first)."""

    STUDY = "regularization"

    seeds: int = 8  # per configuration, paired across arms: member seed s has the same init in every arm
    n_train: int = 50  # few noisy points: the net can fit every one of them, noise included
    n_val: int = 1000  # chooses each arm's best strength
    n_test: int = 1000  # held out: compares the chosen strengths (never used to choose)
    noise: float = 0.3  # moons noise: the classes overlap, so 100% training accuracy is overfitting
    hidden: tuple[int, ...] = (256, 256)  # the 2-256-256-2 net
    steps: int = 150  # full-batch steps: unregularized val loss rises from its minimum ~0.3 to ~0.6 by then (measured)
    eval_every: int = 30  # curves at 6 points; each evaluation of 1000 val points costs ~7 training steps
    sgd_lr: float = 0.2  # SGD with momentum 0.9: fast and still stable in a short scan (0.3 spikes)
    momentum: float = 0.9
    adam_lr: float = 1e-2  # Adam and AdamW: overfits within the same 150 steps as SGD at 0.2 (measured)
    l2: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # lambda of lambda/2 ||W||^2; 1 flattens the net
    weight_decay: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # SGD's weight_decay: the same lambdas as l2
    l1: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # lambda of lambda ||W||_1; overlaps l2 at 1e-4..1e-1
    elastic: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # l1 = l2 = lambda
    max_norm: tuple[float, ...] = (10.0, 3.16, 1.0, 0.316, 0.1)  # bound c, loosest first (He init starts near 1.4)
    dropout: tuple[float, ...] = (0.04, 0.08, 0.16, 0.32, 0.64)  # hidden drop rate, doubling; 0.8 diverged at lr 0.2
    adam_l2: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # Adam's weight_decay: L2 in the gradient
    adamw: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0, 100.0)  # decay per step is lr * wd: 1e-4 .. 1 (all gone)
    grid: int = 60  # decision-boundary panels: points per axis
    run_seed: int = 0  # the data, and with each member seed every member's random streams

    @classmethod
    def quick(cls) -> "RegularizationSettings":
        """3 seeds and a 2-64-64-2 net: the same arms and strengths in a few seconds."""
        return cls(preset="quick", seeds=3, hidden=(64, 64), n_val=500, n_test=500, grid=40)

    def strengths(self, arm: Arm) -> tuple[float, ...]:
        return getattr(self, arm.strengths)

    def check(self) -> None:
        self.at_least(1, "n_train", "n_val", "n_test", "steps", "eval_every", "hidden", "grid")
        self.at_least(2, "seeds")  # a paired interval needs 2 seeds at least
        if not (self.sgd_lr > 0 and self.adam_lr > 0 and 0 <= self.momentum < 1 and self.noise >= 0):
            raise UsageError(f"regularization study: need sgd_lr, adam_lr > 0, 0 <= momentum < 1, noise >= 0; got "
                             f"{self.sgd_lr}, {self.adam_lr}, {self.momentum}, {self.noise}")
        for arm in ARMS:
            vals = self.strengths(arm)
            if len(vals) < 2 or min(vals) <= 0:
                raise UsageError(f"regularization study: {arm.strengths} needs at least 2 positive strengths, "
                                 f"got {list(vals)}")
        if max(self.dropout) >= 1:
            raise UsageError(f"regularization study: dropout rates must be < 1, got {list(self.dropout)}")
