"""Settings of the lr-search study (seed 001's search order, seed 002's coarse to fine).

``DATASETS`` is the study's table of seed 001's four data sets (a toy generator and its
parameters). Each search starts from one base configuration per data set (``base_raw``): seed
001's SGD with momentum 0.9 on a 2-16-16-C ReLU net with He init, mini-batches of 64. The staged
search is three ``trainlab sweep`` stages (``stages_text``): the lr, then depth x activation, then
the optimizer; the coarse-to-fine search refines the same lr grid (``lr_axis``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from trainlab.errors import UsageError
from trainlab.experiments.settings import DataChoice, StudySettings
from trainlab.nn.activations import ACTIVATIONS
from trainlab.optim import OPTIMIZERS


# noise so that the classes overlap a little: the validation loss has a floor and an over-confident
# net pays for it, so the searches rank by more than how fast a net reaches zero loss
DATASETS: dict[str, DataChoice] = {
    "gaussians5": DataChoice("gaussians", {"k": 5, "std": 0.5}, "5-class Gaussian mixture (examples/gaussians5.yaml)"),
    "rings": DataChoice("rings", {"noise": 0.2}, "circles within circles (3 rings, noise 0.2)"),
    "xor": DataChoice("xor", {"std": 0.4}, "XOR (four blobs, std 0.4)"),
    "moons": DataChoice("moons", {"noise": 0.2}, "two moons (noise 0.2)"),
}


@dataclass(frozen=True)
class LrSearchSettings(StudySettings):
    """What one run of the lr-search study sweeps."""

    STUDY = "lr-search"

    seeds: int = 8  # paired seeds per configuration (the intervals over seeds); 8 fits the 60 s budget
    datasets: tuple[str, ...] = ("gaussians5", "rings", "xor", "moons")  # seed 001's four (DATASETS)
    n_train: int = 500  # as examples/gaussians5.yaml
    n_val: int = 1000  # the split every search ranks by (median final val loss over seeds)
    batch_size: int = 64  # seed 001's mini-batches of 64
    steps: int = 200  # 25 epochs of 500 points; the coarse stage trains a tenth of them
    optimizer: str = "momentum"  # seed 001's starting point: SGD with momentum 0.9
    width: int = 16  # hidden units per layer
    depth: int = 2  # hidden layers of the base net (stage 2 varies it)
    activation: str = "relu"  # with He init, as seed 001 pairs them
    lr_low: float = -4.0  # the lr grid: logspace(lr_low, lr_high, lr_points), 1e-4 .. 1
    lr_high: float = 0.0
    lr_points: int = 9  # half a decade apart
    depths: tuple[int, ...] = (1, 2, 3)  # stage 2: "the number of layers" (each of `width` units)
    activations: tuple[str, ...] = ("relu", "tanh")  # stage 2: "and activation functions"
    optimizers: tuple[str, ...] = ("sgd", "momentum", "rmsprop", "adam")  # stage 3: seed 001's four
    run_seed: int = 0  # the data (and, with each member seed, every member's random streams)

    @classmethod
    def quick(cls) -> "LrSearchSettings":
        """Two data sets, 3 seeds, 100 steps, a 5-point lr grid: every stage of both searches, small."""
        return cls(preset="quick", seeds=3, datasets=("gaussians5", "moons"), steps=100, lr_low=-3.0, lr_points=5,
                   depths=(1, 2), optimizers=("sgd", "momentum", "adam"))

    @property
    def coarse_steps(self) -> int:
        return max(1, self.steps // 10)  # trainlab.sweep's coarse stage: a tenth of the steps

    def lr_axis(self) -> str:
        """The lr grid as a sweep range: ``optim.lr=logspace(a,b,n)``."""
        return f"optim.lr=logspace({self.lr_low:g},{self.lr_high:g},{self.lr_points})"

    def stages_text(self) -> str:
        """The staged search as ``trainlab sweep --stages`` takes it: lr; depth x activation; optimizer."""
        hidden = ",".join("[" + ",".join([str(self.width)] * d) + "]" for d in self.depths)
        return (f"{self.lr_axis()}; model.hidden={hidden} model.activation={','.join(self.activations)}; "
                f"optim.name={','.join(self.optimizers)}")

    def base_raw(self, name: str, threads: Optional[int], device: str) -> dict[str, Any]:
        """The base configuration of data set ``name`` as a raw config dict."""
        d = DATASETS[name]
        return {"run": {"name": f"lr-search-{name}", "seed": self.run_seed, "threads": threads, "device": device,
                        "save_weights": False},
                "data": {"name": d.generator, "n_train": self.n_train, "n_val": self.n_val, "params": dict(d.params)},
                "model": {"hidden": [self.width] * self.depth, "activation": self.activation,
                          "init": {"scheme": "kaiming_normal"}},
                "optim": {"name": self.optimizer, "lr": 10 ** self.lr_low},
                "train": {"steps": self.steps, "batch_size": self.batch_size, "eval_every": self.steps,
                          "record_norms": False}}

    def check(self) -> None:
        self.at_least(1, "seeds", "n_train", "n_val", "batch_size", "steps", "width", "depth", "depths")
        self.at_least(2, "lr_points")
        self.one_of("datasets", DATASETS)
        self.one_of("optimizers", OPTIMIZERS)
        self.one_of("optimizer", OPTIMIZERS)
        self.one_of("activations", ACTIVATIONS)
        self.one_of("activation", ACTIVATIONS)
        for name in ("datasets", "depths", "activations", "optimizers"):
            if len(set(getattr(self, name))) != len(getattr(self, name)):
                raise UsageError(f"lr-search study: each entry of {name} once, got {list(getattr(self, name))}")
        if not self.lr_low < self.lr_high:
            raise UsageError(f"lr-search study: need lr_low < lr_high (exponents of 10), got {self.lr_low:g} and "
                             f"{self.lr_high:g}")
        if self.batch_size >= self.n_train:
            raise UsageError(f"lr-search study: batch_size must be below n_train ({self.n_train}), got {self.batch_size}")
        if self.steps < 10:
            raise UsageError(f"lr-search study: steps must be >= 10 (the coarse stage trains a tenth), got {self.steps}")
