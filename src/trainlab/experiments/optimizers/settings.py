"""Settings of the optimizers study (seed 001): optimizers, data sets, lr search, and the seed's set-ups.

The study's tables live here: ``DATASETS`` (a name -> toy generator and parameters) and the
optimizers (rows of ``trainlab.optim.OPTIMIZERS``). Every field carries its reason; ``quick()`` is
a first look on two data sets with 3 seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainlab.errors import UsageError
from trainlab.experiments.settings import DataChoice, StudySettings
from trainlab.optim import OPTIMIZERS


DATASETS: dict[str, DataChoice] = {
    "gaussians5": DataChoice("gaussians", {"k": 5, "std": 0.5}, "5-class Gaussian mixture (examples/gaussians5.yaml)"),
    "rings": DataChoice("rings", {}, "circles within circles (3 rings)"),
    "xor": DataChoice("xor", {}, "XOR (four blobs)"),
    "moons": DataChoice("moons", {}, "two moons"),
}
LABELS = {"sgd": "SGD", "momentum": "momentum 0.9", "nesterov": "Nesterov 0.9", "rmsprop": "RMSProp", "adam": "Adam",
          "adamw": "AdamW"}
INITS = {"he": "kaiming_uniform", "xavier": "xavier_uniform"}  # the seed's xavier_uniform, and He's uniform twin


@dataclass(frozen=True)
class OptimizersSettings(StudySettings):
    """What one run of the optimizers study trains."""

    STUDY = "optimizers"

    seeds: int = 8  # paired seeds: member j of every optimizer starts from the same weights and batches
    datasets: tuple[str, ...] = ("gaussians5", "rings", "xor", "moons")  # the four (DATASETS)
    optimizers: tuple[str, ...] = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")  # seed 001's, plus two
    hidden: tuple[int, ...] = (16, 16)  # a 2-16-16-C ReLU net for the optimizer comparison
    n_train: int = 500  # as examples/gaussians5.yaml
    n_val: int = 1000  # held out: never used for any choice (the lr is chosen on the train loss)
    batch_size: int = 64  # the seed's mini-batches of 64
    steps: int = 300  # enough for every optimizer at its best lr to pass the target on every data set
    eval_every: int = 2  # the resolution of "steps to the target"
    target_loss: float = 0.1  # "steps until the median train loss falls to 0.1"
    shared_lr: float = 0.01  # every optimizer also runs at this one lr
    lr_grid: tuple[float, ...] = (1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2, 3.16e-2, 0.1, 0.316, 1.0)  # 9 values, a log grid
    search_fraction: float = 0.1  # the lr search trains for a tenth of the steps
    search_seeds: int = 3  # seeds per lr in the search (the first of the paired seeds)
    adamw_decay: float = 0.01  # AdamW's decoupled weight decay (torch's default)
    depth_widths: tuple[int, ...] = (4, 4)  # the seed's claim: one hidden layer of 4 units, then a second one
    depth_lr: float = 0.01  # Adam at this lr trains both depths on the mixture
    depth_steps: int = 600
    xor_hidden: int = 4  # the seed's 2-4-out net with Xavier init, ReLU, SGD momentum 0.9 at lr 0.02
    xor_lr: float = 0.02
    xor_steps: int = 1000
    xor_target_acc: float = 0.95  # "trains": 95% training accuracy on XOR
    run_seed: int = 0
    data_seed: int = 1

    @classmethod
    def quick(cls) -> "OptimizersSettings":
        """Two data sets, 3 seeds, half the steps: every part of the study, small."""
        return cls(preset="quick", seeds=3, datasets=("gaussians5", "moons"), steps=120, eval_every=4, search_seeds=2,
                   depth_steps=300, xor_steps=400)

    @property
    def search_steps(self) -> int:
        return max(int(round(self.steps * self.search_fraction)), 1)

    def check(self) -> None:
        self.at_least(1, "seeds", "hidden", "n_train", "n_val", "batch_size", "steps", "eval_every", "search_seeds",
                      "depth_widths", "depth_steps", "xor_hidden", "xor_steps")
        self.one_of("datasets", DATASETS)
        self.one_of("optimizers", OPTIMIZERS)
        if len(self.lr_grid) < 2 or min(self.lr_grid) <= 0:
            raise UsageError(f"optimizers study: lr_grid needs at least 2 positive values, got {list(self.lr_grid)}")
        if self.search_seeds > self.seeds:
            raise UsageError(f"optimizers study: search_seeds must be <= seeds ({self.seeds}), got {self.search_seeds}")
        if self.batch_size >= self.n_train:
            raise UsageError(f"optimizers study: batch_size must be below n_train ({self.n_train}), got {self.batch_size}")
        if len(self.depth_widths) < 2:
            raise UsageError(f"optimizers study: depth_widths needs two widths (one hidden layer, then two), got "
                             f"{list(self.depth_widths)}")
        if not (0 < self.search_fraction <= 1 and self.target_loss > 0 and self.shared_lr > 0 and self.depth_lr > 0
                and self.xor_lr > 0 and 0 < self.xor_target_acc <= 1 and self.adamw_decay >= 0):
            raise UsageError("optimizers study: need 0 < search_fraction <= 1, target_loss, shared_lr, depth_lr, "
                             "xor_lr > 0, 0 < xor_target_acc <= 1 and adamw_decay >= 0")
