"""Arms on paired seeds, for the training studies of seeds 001-003 (optimizers, gd-vs-sgd, schedules).

An *arm* is one population: one structure, optimizer, loss and schedule, trained by one ``fit``.
Its members differ by seed and by per-member values (lr, init scheme). Every arm of a study uses
the same member seeds, so member j of two arms starts from the same random streams where the
structure allows (same init scheme: same weights) and draws the same mini-batches: differences
between arms are paired, seed by seed.

``train_arm`` trains one arm and returns its history (``loop.History`` arrays: losses, accuracies
and the per-layer norms of ``trainlab.norms``), ``stack`` joins arms that share structure and
evaluation steps into one ``metrics.npz``-shaped dict (members side by side) with the member
indices of each arm, ``save_norms`` stores chosen members' per-layer norms side by side with
their groups, and ``steps_to`` / ``median_steps_to`` read times-to-target from curves.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from trainlab.data.toy import Dataset
from trainlab.loop import TrainSpec, evaluate, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.norms import NORM_KEYS
from trainlab.optim import PopulationOptimizer
from trainlab.runs.io import write_json_atomic
from trainlab.schedules import Schedule


@dataclass
class Arm:
    """What one population trains: structure, optimizer, per-member values, the training spec."""

    name: str
    sizes: list[int]
    inits: list[MemberInit]  # one per member: its seed, scheme and scale
    optimizer: str
    hp: dict[str, Sequence[float]]  # per-member optimizer values (lr, momentum, weight_decay, ...)
    spec: TrainSpec
    activation: str = "relu"
    schedule: Optional[Schedule] = None
    values: dict[str, list] = field(default_factory=dict)  # per-member labels the study groups by


@dataclass
class Trained:
    """An arm after training: its history arrays, frozen members (index -> step) and final model."""

    arm: Arm
    arrays: dict[str, np.ndarray]
    frozen: dict[int, int]
    model: PopulationMLP
    seconds: float

    @property
    def K(self) -> int:
        return len(self.arm.inits)


def train_arm(arm: Arm, data: Dataset, device: torch.device, run_seed: int = 0,
              progress: Optional[Callable[[int], None]] = None, val: bool = True) -> Trained:
    """Train ``arm`` on ``data`` (validated on its val split when ``val``) with ``fit``."""
    t0 = time.perf_counter()
    pop = PopulationMLP.create(arm.sizes, arm.activation, arm.inits, run_seed=run_seed).to(device)
    k = len(arm.inits)
    hp = {key: torch.as_tensor([float(v) for v in vals] if len(vals) == k else [float(vals[0])] * k,
                               dtype=torch.float32, device=device) for key, vals in arm.hp.items()}
    opt = PopulationOptimizer(arm.optimizer, pop.parameters(), hp, arm.schedule)
    tr = (data.train.x.to(device), data.train.y.to(device))
    va = (data.val.x.to(device), data.val.y.to(device)) if val and len(data.val) else None
    res = fit(pop, opt, tr, va, arm.spec, progress=progress)
    arrays = res.history.arrays()
    return Trained(arm, arrays, {int(m): int(info["step"]) for m, info in res.frozen.items()}, res.model,
                   time.perf_counter() - t0)


def held_out(trained: Trained, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-member (loss, accuracy) of the final model on (x, y), eval mode."""
    dev = trained.model.device
    loss, acc = evaluate(trained.model, x.to(dev), y.to(dev), trained.arm.spec.loss)
    return loss.cpu().numpy().astype(np.float64), acc.cpu().numpy().astype(np.float64)


def stack(arms: Sequence[Trained]) -> tuple[dict[str, np.ndarray], dict[str, list[int]]]:
    """Arms with the same evaluation steps and layers side by side: (arrays, {arm name: member indices})."""
    steps = arms[0].arrays["steps"]
    for t in arms[1:]:
        if not np.array_equal(t.arrays["steps"], steps):
            raise ValueError(f"arm {t.arm.name!r} was evaluated at other steps than {arms[0].arm.name!r}")
    out: dict[str, np.ndarray] = {"steps": steps}
    for key in arms[0].arrays:
        if key != "steps":
            out[key] = np.concatenate([t.arrays[key] for t in arms], axis=1)
    groups, start = {}, 0
    for t in arms:
        groups[t.arm.name] = list(range(start, start + t.K))
        start += t.K
    return out, groups


def steps_to(curve: np.ndarray, steps: np.ndarray, target: float, below: bool = True) -> list[Optional[int]]:
    """Per member (columns of ``curve``), the first evaluated step at or past ``target`` (``below``:
    at or under it), or None where it never got there (NaN, a frozen member, counts as not there)."""
    ok = curve <= target if below else curve >= target
    ok &= np.isfinite(curve)
    return [int(steps[np.argmax(ok[:, j])]) if ok[:, j].any() else None for j in range(curve.shape[1])]


def median_steps_to(curve: np.ndarray, steps: np.ndarray, target: float, below: bool = True) -> Optional[int]:
    """The first evaluated step at which the median over members reaches ``target`` (None: never)."""
    med = np.nanmedian(np.where(np.isfinite(curve), curve, np.inf if below else -np.inf), axis=1)
    hit = np.nonzero(med <= target if below else med >= target)[0]
    return int(steps[hit[0]]) if hit.size else None


def censored(values: Sequence[Optional[int]], budget: int) -> list[float]:
    """Steps to a target with "not reached" counted as the budget: a lower bound, so that a paired
    difference with a seed that never got there is an understatement, never undefined."""
    return [float(budget if v is None else v) for v in values]


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Arrays to ``path`` (compressed; losses and norms as float32, steps as int64)."""
    np.savez_compressed(path, **{k: (v if k == "steps" or v.dtype.kind in "iub" else v.astype(np.float32))
                                 for k, v in arrays.items()})


def save_norms(folder: Path, steps: np.ndarray, arrays: dict[str, np.ndarray], groups: dict[str, Sequence[int]],
               name: str = "metrics.npz") -> None:
    """The per-layer norms of the members in ``groups`` (label -> member indices into ``arrays``'
    member axis): ``name`` holds ``steps`` and each of ``NORM_KEYS`` as (evaluations, members, layers)
    with the groups' members side by side, ``groups.json`` each label's columns there. The norm
    figures (``report.norms.norm_figures``) draw one line per group from these two files alone."""
    picked = [int(i) for members in groups.values() for i in members]
    out = {"steps": np.asarray(steps, dtype=np.int64)}
    out |= {k: np.asarray(arrays[k])[:, picked] for k in NORM_KEYS if k in arrays}
    save_npz(folder / name, out)
    columns, start = {}, 0
    for label, members in groups.items():
        columns[label] = list(range(start, start + len(members)))
        start += len(members)
    write_json_atomic(folder / "groups.json", columns)
