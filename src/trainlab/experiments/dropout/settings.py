"""Settings of the dropout study (seed 000, Part 3): the variants, the inits, and the budget.

Everything the study varies is a table row here, and every number carries its reason. Defaults
are sized so that ``trainlab lab dropout`` fits its time budget on 2 CPU cores (docs/dropout.md,
benchmarks/README.md); ``quick()`` is a first look, and settings are overridden by name
(``trainlab lab dropout epochs=20 t_max=200``). Unknown keys are usage errors naming the nearest key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings

DATASETS = ("auto", "mnist", "fashion-mnist", "mnist-5k")  # auto: MNIST, else the bundled mnist-5k


@dataclass(frozen=True)
class Variant:
    """One dropout variant: drop rates on the input and after each hidden layer."""

    name: str  # short id, used in files and JSON
    label: str  # for figures and tables
    p_input: float
    p_hidden: float

    @property
    def stochastic(self) -> bool:
        return self.p_input > 0 or self.p_hidden > 0


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("none", "no dropout", 0.0, 0.0),
    Variant("in20-hid50", "20% input + 50% hidden (paper)", 0.2, 0.5),
    Variant("hid20", "20% hidden", 0.0, 0.2),
    Variant("hid50", "50% hidden only", 0.0, 0.5),
)}


@dataclass(frozen=True)
class InitChoice:
    """A weight init; ``std`` is a standard deviation, never a variance (None: the scheme's rule)."""

    key: str
    scheme: str  # a row of trainlab.nn.init.INITS
    std: Optional[float]
    label: str
    meaning: str

    def to_json(self) -> dict[str, Any]:
        var = None if self.std is None else self.std ** 2
        return {"key": self.key, "scheme": self.scheme, "std": self.std, "variance": var, "label": self.label,
                "meaning": self.meaning}


INIT_CHOICES: dict[str, InitChoice] = {i.key: i for i in (
    InitChoice("lab", "normal", 0.1, "lab: N(0, 0.1) as std",
               "the lab's 'N(0, 0.1)' read with 0.1 as the standard deviation (variance 0.01), biases zero"),
    InitChoice("lab-variance", "normal", math.sqrt(0.1), "N(0, 0.1) as variance",
               "the same text read with 0.1 as the variance (std 0.316), as the report did; biases zero"),
    InitChoice("he", "kaiming_normal", None, "He: std sqrt(2/fan_in)",
               "He et al. 2015 for ReLU: std = sqrt(2 / fan_in) on every layer; biases zero"),
)}

ENSEMBLE_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # sizes listed in summary.json (all are stored)
SRIVASTAVA_T = 50  # Srivastava et al. 2014, sec. 7.5: MC averaging matches weight scaling at ~50 samples


@dataclass(frozen=True)
class DropoutSettings(StudySettings):
    """What one run of the study does. Counts of members: len(inits) x len(variants) x seeds."""

    STUDY = "dropout"

    dataset: str = "auto"  # one of DATASETS (--dataset); auto falls back to mnist-5k, and says so
    data_dir: Optional[str] = None  # a folder with the IDX files (--data-dir; else $TRAINLAB_DATA)
    test: bool = False  # also evaluate on the untouched test split (--test)
    epochs: int = 12  # the largest count that fits the 8-minute budget on 2 cores (benchmarks/README.md)
    batch_size: int = 128  # the lab's and the prototype's mini-batch
    seeds: int = 4  # seeds per (init, variant): enough for a bootstrap interval of the median
    lr: float = 3e-4  # the lab's "rule-of-thumb" AdamW learning rate
    weight_decay: float = 0.01  # torch.optim.AdamW's default, which the lab's AdamW(lr=3e-4) gets
    n_train: int = 5000  # the lab protocol; mnist-5k holds 3,500 (its fixed split caps this)
    n_val: int = 10000  # the lab protocol; mnist-5k holds 1,000
    hidden: tuple[int, ...] = (800, 800)  # the paper's and the lab's 784-800-800-10 net
    inits: tuple[str, ...] = ("lab", "he")  # trained side by side: the lab's init and He init
    variants: tuple[str, ...] = ("none", "in20-hid50", "hid20", "hid50")
    t_max: int = 1000  # MC-dropout passes per ensemble: sizes 1..t_max from one sequence
    mc_samples: int = 2000  # validation samples the ensembles see (1000 passes x 2000 ~ 5 TFLOP)
    mc_inits: tuple[str, ...] = ("lab",)  # ensembles for these inits only: each one costs T passes
    init_readings: tuple[str, ...] = ("lab", "lab-variance", "he")  # loss at init only, no training
    watch_steps: int = 30  # steps of trainlab.watch on one exported member per init
    save_weights: bool = True  # best-epoch weights of every member (safetensors, ~5 MB per member)
    memory_budget_mb: int = 4096  # run.memory_budget_mb: chunks of the population
    run_seed: int = 0  # the run seed: the data split, and with each member seed every random stream

    @classmethod
    def quick(cls) -> "DropoutSettings":
        """A first look in well under 2 minutes; one seed, so no intervals."""
        return cls(preset="quick", epochs=5, seeds=1, t_max=100, mc_samples=500, n_val=2000, watch_steps=10)

    def check(self) -> None:
        self.at_least(1, "epochs", "batch_size", "seeds", "n_train", "t_max", "mc_samples", "memory_budget_mb",
                      "hidden")
        self.at_least(0, "n_val", "watch_steps")
        if not self.lr > 0 or self.weight_decay < 0:
            raise UsageError(f"dropout study: need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}")
        self.one_of("dataset", dict.fromkeys(DATASETS))
        for name in ("inits", "mc_inits", "init_readings"):
            self.one_of(name, INIT_CHOICES)
        self.one_of("variants", VARIANTS)
        if not self.inits or not self.variants:
            raise UsageError("dropout study: inits and variants must not be empty")

    def ensemble_sizes(self) -> list[int]:
        """The sizes listed in summary.json: the standard ones up to t_max, and t_max itself."""
        return sorted({s for s in ENSEMBLE_SIZES if s <= self.t_max} | {self.t_max})
