"""Settings of the dropout study (seed 000, Part 3): the variants, the inits, and the budget.

Everything the study varies is a table row here, and every number carries its reason. Defaults
are sized so that ``trainlab lab dropout`` fits its time budget on 2 CPU cores (docs/dropout.md,
benchmarks/README.md); ``--quick`` and ``StudyOptions.extra`` override them, e.g.
``extra={"epochs": 20, "t_max": 200}``. Unknown keys are usage errors naming the nearest key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Optional

from trainlab.errors import UsageError, unknown_choice


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
class DropoutSettings:
    """What one run of the study does. Counts of members: len(inits) x len(variants) x seeds."""

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

    def validate(self) -> "DropoutSettings":
        for name in ("epochs", "batch_size", "seeds", "n_train", "t_max", "mc_samples", "memory_budget_mb"):
            if getattr(self, name) < 1:
                raise UsageError(f"dropout study: {name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("n_val", "watch_steps"):
            if getattr(self, name) < 0:
                raise UsageError(f"dropout study: {name} must be >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise UsageError(f"dropout study: need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}")
        for name, table in (("inits", INIT_CHOICES), ("mc_inits", INIT_CHOICES), ("init_readings", INIT_CHOICES),
                            ("variants", VARIANTS)):
            for key in getattr(self, name):
                if key not in table:
                    raise UsageError(unknown_choice(f"dropout study {name} entry", key, list(table)))
        if not self.inits or not self.variants:
            raise UsageError("dropout study: inits and variants must not be empty")
        if any(h < 1 for h in self.hidden):
            raise UsageError(f"dropout study: hidden widths must be >= 1, got {self.hidden}")
        return self

    def ensemble_sizes(self) -> list[int]:
        """The sizes listed in summary.json: the standard ones up to t_max, and t_max itself."""
        return sorted({s for s in ENSEMBLE_SIZES if s <= self.t_max} | {self.t_max})


# --quick: a first look in well under 2 minutes; one seed, so no intervals
QUICK: dict[str, Any] = {"epochs": 5, "seeds": 1, "t_max": 100, "mc_samples": 500, "n_val": 2000, "watch_steps": 10}


def _coerce(name: str, default: Any, value: Any) -> Any:
    """``value`` in the type of the field's default, or a usage error naming both."""
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"dropout study: {name} must be a list, got {value!r}")
        return tuple(value)
    kind = type(default)
    if kind is bool:
        if not isinstance(value, bool):
            raise UsageError(f"dropout study: {name} must be true or false, got {value!r}")
        return value
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise UsageError(f"dropout study: {name} must be an integer, got {value!r}")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise UsageError(f"dropout study: {name} must be a number, got {value!r}")
    return kind(value)


def resolve_settings(quick: bool = False, seeds: Optional[int] = None,
                     extra: Optional[dict[str, Any]] = None) -> DropoutSettings:
    """Defaults, then the --quick row, then --seeds, then ``extra`` (validated by name and type)."""
    base = DropoutSettings()
    known = {f.name: getattr(base, f.name) for f in fields(DropoutSettings)}
    changes: dict[str, Any] = dict(QUICK) if quick else {}
    if seeds is not None:
        changes["seeds"] = seeds
    for key, value in (extra or {}).items():
        if key not in known:
            raise UsageError(unknown_choice("dropout study option", key, list(known)))
        changes[key] = value
    return replace(base, **{k: _coerce(k, known[k], v) for k, v in changes.items()}).validate()
