"""Settings of the preprocessing study (seed 002): badly conditioned inputs, five transforms, GD.

The transforms are a table (``TRANSFORMS``): each row is a list of ``data.transforms`` specs,
fitted on the training split and applied to every split. Each is trained at every learning rate
of ``lrs`` (the same grid for all), so each transform is compared at its own best rate: a badly
conditioned input caps the stable rate, and a comparison at one shared rate would only measure
that cap. Defaults fit the lab's time budget on 2 CPU cores; ``quick()`` is a first look.
"""
from __future__ import annotations

from dataclasses import dataclass

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings

TRANSFORMS: dict[str, tuple[str, list[dict]]] = {  # name -> (label, data.transforms specs)
    "none": ("raw inputs", []),
    "center": ("centering", [{"name": "center"}]),
    "standardize": ("standardizing", [{"name": "standardize"}]),
    "pca": ("PCA (centred, rotated)", [{"name": "pca"}]),
    "whiten": ("whitening (PCA)", [{"name": "whiten"}]),
}


@dataclass(frozen=True)
class PreprocessingSettings(StudySettings):
    """One run: the data, the network, the GD budget and the learning-rate grid."""

    STUDY = "preprocessing"

    seeds: int = 8  # paired across transforms: member seed s has the same initial weights in every arm
    n_train: int = 500  # full batch: gradient descent, as the seed's conditioning argument assumes
    n_val: int = 1000  # val accuracy at the end (the classes are equally separable under every transform)
    dim: int = 10  # the 10-D inputs
    classes: int = 3
    cond: float = 1000.0  # condition number of the raw input covariance (the issue: about 1e3)
    rho: float = 0.75  # correlation between every two features (alone: condition number ~31)
    separation: float = 3.0  # class means on a circle of this radius, in whitened stds
    offset: float = 3.0  # every feature's mean sits this many of its stds away from 0 (centering removes it)
    hidden: tuple[int, ...] = (32,)  # 10-32-3 ReLU: a small net, so the inputs' geometry dominates
    steps: int = 500  # GD budget: centred inputs need ~290 (measured); a miss counts as steps + 1 (censored)
    target: float = 0.1  # "reached": training loss at or below this (chance is ln 3 = 1.1)
    lrs: tuple[float, ...] = (0.01, 0.0316, 0.1, 0.316, 1.0, 3.16)  # each transform's best is picked; 10 diverged
    # for all but whitening, whose best was 3.16
    eval_every: int = 50  # val curves; the steps to target come from every step's training loss
    run_seed: int = 0  # the data, and with each member seed every member's random streams

    @classmethod
    def quick(cls) -> "PreprocessingSettings":
        """3 seeds, the 3 learning rates that win at the defaults, 350 steps (centred inputs need ~290)."""
        return cls(preset="quick", seeds=3, steps=350, lrs=(0.316, 1.0, 3.16), n_val=500)

    def check(self) -> None:
        self.at_least(1, "n_train", "n_val", "steps", "eval_every", "hidden")
        self.at_least(2, "seeds", "dim", "classes")
        if not (self.cond >= 1 and 0 <= self.rho < 1 and self.separation > 0 and self.target > 0):
            raise UsageError(f"preprocessing study: need cond >= 1, 0 <= rho < 1, separation > 0, target > 0; got "
                             f"{self.cond}, {self.rho}, {self.separation}, {self.target}")
        if not self.lrs or min(self.lrs) <= 0:
            raise UsageError(f"preprocessing study: lrs must be positive, got {list(self.lrs)}")
