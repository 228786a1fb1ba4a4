"""Settings of the GD vs mini-batch SGD study (seed 003): the seed's set-up, number by number.

The defaults are the seed's: two moons (1000 samples, noise 0.2, an 80/20 split, standardized with
the training part's statistics), a 2-16-2 ReLU net with PyTorch's default init, SGD with lr 0.1
and momentum 0.9 for 100 epochs, batches of 32 against the full set (GD), and GD with the lr
scaled linearly by N/B as a third arm. ``quick()`` keeps the set-up and trains fewer seeds for
fewer epochs.
"""
from __future__ import annotations

from dataclasses import dataclass

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings


@dataclass(frozen=True)
class GdVsSgdSettings(StudySettings):
    """What one run of the GD vs SGD study trains."""

    STUDY = "gd-vs-sgd"

    seeds: int = 8  # paired seeds: member j of every arm starts from the same weights
    n_samples: int = 1000  # the seed's make_moons(n_samples=1000)
    noise: float = 0.2  # the seed's noise
    test_fraction: float = 0.2  # the seed's train_test_split(test_size=0.2)
    hidden: int = 16  # the seed's 2-16-2 ReLU net
    lr: float = 0.1  # the seed's SGD(lr=0.1, momentum=0.9)
    momentum: float = 0.9
    epochs: int = 100  # the seed's 100 epochs, for every arm
    batch_size: int = 32  # the seed's mini-batches; GD uses the whole training set
    eval_every: int = 5  # updates between evaluations of the mini-batch arm (GD: every update is an epoch)
    early_epoch: int = 10  # the per-epoch claim compares the train loss after this many epochs
    data_seed: int = 42  # the seed's random_state: one data set for every arm and seed
    run_seed: int = 0  # with each member seed: init and shuffles

    @classmethod
    def quick(cls) -> "GdVsSgdSettings":
        """The same set-up, 3 seeds for 40 epochs (a first look in a few seconds)."""
        return cls(preset="quick", seeds=3, epochs=40)

    @property
    def n_train(self) -> int:
        return self.n_samples - self.n_test

    @property
    def n_test(self) -> int:
        return int(round(self.n_samples * self.test_fraction))

    @property
    def steps_per_epoch(self) -> int:
        return max(self.n_train // self.batch_size, 1)

    @property
    def scaled_lr(self) -> float:
        """The third arm's lr: lr x N/B, the linear scaling rule from B to the full batch N."""
        return self.lr * self.n_train / self.batch_size

    def check(self) -> None:
        self.at_least(1, "seeds", "hidden", "epochs", "batch_size", "eval_every", "early_epoch")
        self.at_least(0, "data_seed", "run_seed")
        if not 0 < self.test_fraction < 1 or self.n_test < 1 or self.n_train < 2:
            raise UsageError(f"gd-vs-sgd study: test_fraction must leave both parts non-empty, got {self.test_fraction} "
                             f"of {self.n_samples} samples")
        if self.batch_size >= self.n_train:
            raise UsageError(f"gd-vs-sgd study: batch_size must be below the {self.n_train} training samples (the full "
                             f"set is the GD arm), got {self.batch_size}")
        if self.early_epoch > self.epochs:
            raise UsageError(f"gd-vs-sgd study: early_epoch must be <= epochs ({self.epochs}), got {self.early_epoch}")
        if not (self.lr > 0 and 0 <= self.momentum < 1 and self.noise >= 0):
            raise UsageError(f"gd-vs-sgd study: need lr > 0, 0 <= momentum < 1 and noise >= 0, got {self.lr}, "
                             f"{self.momentum}, {self.noise}")
