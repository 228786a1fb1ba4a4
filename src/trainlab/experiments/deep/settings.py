"""Settings of the deep study (seed 000, Part 2): the two set-ups, the training budget, the He claim.

What the study crosses (every init x activation) is a table here too: ``INIT_SCHEMES`` and
``STUDY_ACTIVATIONS``. Defaults are sized so that ``trainlab lab deep`` stays inside 8 minutes on
2 CPU cores (benchmarks/README.md); ``quick()`` is a first look in about 15 s.
"""
from __future__ import annotations

from dataclasses import dataclass

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings

# the study's init name -> (INITS scheme, scale). N(0, 1) is the lab's naive init.
INIT_SCHEMES: dict[str, tuple[str, float]] = {
    "N(0,1)": ("normal", 1.0),
    "xavier_normal": ("xavier_normal", 1.0),
    "xavier_uniform": ("xavier_uniform", 1.0),
    "he_normal": ("kaiming_normal", 1.0),
    "he_uniform": ("kaiming_uniform", 1.0),
    "lecun_normal": ("lecun_normal", 1.0),
    "orthogonal": ("orthogonal", 1.0),
    "lsuv": ("lsuv", 1.0),
}
STUDY_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "selu", "gelu", "identity")
SKIPPED_ACTIVATIONS = {
    "prelu": "learnable slope: its init is a parameter, not a property of the weights",
    "maxout": "several linear pieces per unit: the fan-in theory does not carry over unchanged",
}


@dataclass(frozen=True)
class Setup:
    """One network shape and the inputs its statistics are measured on."""

    name: str
    depth: int  # hidden layers
    width: int
    inputs: str  # a key of measure.INPUTS
    n: int  # samples in the statistics batch
    n_classes: int
    train: bool  # run the trainability study on it
    doc: str


@dataclass(frozen=True)
class DeepSettings(StudySettings):
    """What one run of the deep study measures and trains. ``seeds=N`` sets he_seeds too."""

    STUDY = "deep"
    FOLLOW = {"he_seeds": "seeds"}

    lab_depth: int = 20  # the lab's network: 20 hidden layers of 100 units, on circles
    lab_width: int = 100
    lab_n: int = 10_000  # samples in its statistics batch
    report_depth: int = 50  # the report's (seed 004): 50 x 512 on N(0, 1) vectors, random labels
    report_width: int = 512
    report_n: int = 2_000  # 2,000 x 512 = a million values per layer per statistic; 10,000 rows took ~305 s of the study
    steps: int = 300  # full-batch steps: healthy pairs reach 90% within ~140 (median)
    lr: float = 0.03  # picked on He/Xavier/orthogonal + ReLU at 20x100: 0.1 diverges He, 0.01 is slower
    momentum: float = 0.9
    seeds: int = 4  # trainability seeds per pair
    eval_every: int = 10  # resolution of steps_to_90 (each evaluation costs about a third of a step)
    run_seed: int = 0
    he_depth: int = 30  # He et al. 2015's claim: a 30-layer ReLU net stalls with Xavier, trains with He
    he_width: int = 100
    he_seeds: int = 6
    he_lrs: tuple[float, ...] = (0.01, 0.03)

    @classmethod
    def quick(cls) -> "DeepSettings":
        """Small set-ups (the report's still deep enough for N(0, 1) to overflow float32)."""
        return cls(preset="quick", lab_depth=8, lab_width=32, lab_n=2_000, report_depth=45, report_width=128,
                   report_n=1_000, steps=60, seeds=2, eval_every=5, he_depth=10, he_width=32, he_seeds=2,
                   he_lrs=(0.01,))

    def setups(self) -> tuple[Setup, ...]:
        quick = self.preset == "quick"
        whose = ("quick", "quick") if quick else ("the lab's", "the report's")
        lab = f"{whose[0]}: {self.lab_depth} x {self.lab_width} on circles"
        report = (f"{whose[1]}: {self.report_depth} x {self.report_width} on N(0, 1) vectors"
                  + (" (deep enough for N(0, 1) to overflow float32)" if quick else ""))
        return (Setup("lab", self.lab_depth, self.lab_width, "circles", self.lab_n, 2, True, lab),
                Setup("report", self.report_depth, self.report_width, "gaussian", self.report_n, 10, False, report))

    def check(self) -> None:
        self.at_least(1, "lab_depth", "lab_width", "lab_n", "report_depth", "report_width", "report_n", "steps",
                      "seeds", "eval_every", "he_depth", "he_width", "he_seeds")
        if not (self.lr > 0 and self.momentum >= 0 and self.he_lrs and min(self.he_lrs) > 0):
            raise UsageError(f"deep study: need lr > 0, momentum >= 0 and he_lrs > 0, got {self.lr}, "
                             f"{self.momentum}, {list(self.he_lrs)}")
