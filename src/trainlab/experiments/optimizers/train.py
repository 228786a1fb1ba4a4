"""Train the optimizers study: per data set, an lr search and one population per optimizer.

For each data set and optimizer:

1. **lr search**: every lr of ``lr_grid`` x ``search_seeds`` seeds, one population, a tenth of the
   steps; the chosen lr has the lowest median train loss at the end (non-finite counts as worst).
2. **main run**: one population of three blocks of ``seeds`` members (paired seeds, the same in
   every optimizer): the chosen lr with He init, the chosen lr with Xavier init, and the shared
   lr (0.01) with He init. ``steps`` steps of mini-batches, evaluated every ``eval_every`` steps.

The optimizers' main runs share structure and evaluation steps, so each data set's histories go
side by side into ``metrics_<data set>.npz``, with their member indices in ``groups.json``. Then
the seed's own set-ups (``seed_setups``): MSE + sigmoid against cross-entropy on XOR, and one
against two hidden layers on the mixture.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from trainlab.data.toy import Dataset, make_toy
from trainlab.experiments.optimizers.seed_setups import depths, xor_losses
from trainlab.experiments.optimizers.settings import DATASETS, INITS, OptimizersSettings
from trainlab.experiments.optimizers.summary import BLOCKS, results
from trainlab.experiments.paired import Arm, save_npz, stack, train_arm
from trainlab.experiments.study import StudyRun
from trainlab.loop import TrainSpec
from trainlab.nn.population import MemberInit
from trainlab.runs.io import write_json_atomic
from trainlab.stats import summarize


def dataset(name: str, st: OptimizersSettings) -> Dataset:
    d = DATASETS[name]
    return make_toy(d.generator, st.n_train, st.n_val, 0, st.data_seed, **d.params)


def _hp(optimizer: str, lrs: Sequence[float], st: OptimizersSettings) -> dict[str, Sequence[float]]:
    return {"lr": list(lrs)} | ({"weight_decay": [st.adamw_decay]} if optimizer == "adamw" else {})


def search(optimizer: str, data: Dataset, st: OptimizersSettings, device: torch.device,
           advance: Callable[[int], None]) -> dict[str, Any]:
    """The short log-grid run: the lr with the lowest median train loss after ``search_steps``."""
    grid, s = list(st.lr_grid), st.search_seeds
    inits = [MemberInit(seed, INITS["he"], 1.0) for _ in grid for seed in range(s)]
    spec = TrainSpec(steps=st.search_steps, batch_size=st.batch_size, eval_every=st.search_steps, record_norms=False)
    arm = Arm(f"search/{optimizer}", [2, *st.hidden, data.n_classes], inits, optimizer,
              _hp(optimizer, [lr for lr in grid for _ in range(s)], st), spec)
    t = train_arm(arm, data, device, st.run_seed, progress=advance, val=False)
    final = t.arrays["train_loss"][-1].reshape(len(grid), s)
    score = np.median(np.where(np.isfinite(final), final, np.inf), axis=1)
    best = int(np.argmin(score))
    return {"steps": st.search_steps, "seeds": s, "lrs": grid, "loss": [summarize(row) for row in final],
            "chosen": grid[best], "at_edge": best in (0, len(grid) - 1), "seconds": t.seconds}


def main_arm(optimizer: str, best_lr: float, st: OptimizersSettings, sizes: list[int]) -> Arm:
    seeds = range(st.seeds)
    inits = ([MemberInit(s, INITS["he"], 1.0) for s in seeds] + [MemberInit(s, INITS["xavier"], 1.0) for s in seeds]
             + [MemberInit(s, INITS["he"], 1.0) for s in seeds])
    lrs = [best_lr] * (2 * st.seeds) + [st.shared_lr] * st.seeds
    spec = TrainSpec(steps=st.steps, batch_size=st.batch_size, eval_every=st.eval_every)
    return Arm(optimizer, sizes, inits, optimizer, _hp(optimizer, lrs, st), spec)


def train_dataset(name: str, st: OptimizersSettings, sr: StudyRun) -> dict[str, Any]:
    """The lr searches and main runs of every optimizer on one data set; its metrics file."""
    data = dataset(name, st)
    sizes = [2, *st.hidden, data.n_classes]
    advance = sr.task(f"optimizers on {name}", len(st.optimizers) * (st.search_steps + st.steps))
    searches, trained = {}, []
    for opt in st.optimizers:
        with sr.timed("lr_search"):
            searches[opt] = search(opt, data, st, sr.device, advance)
        with sr.timed("train"):
            trained.append(train_arm(main_arm(opt, searches[opt]["chosen"], st, sizes), data, sr.device, st.run_seed,
                                     progress=advance))
    with sr.timed("store"):
        arrays, where = stack(trained)
        save_npz(sr.folder / f"metrics_{name}.npz", arrays)
    groups = {opt: {b: idx[i * st.seeds:(i + 1) * st.seeds] for i, b in enumerate(BLOCKS)} for opt, idx in where.items()}
    return {"data": data, "searches": searches, "trained": {t.arm.name: t for t in trained}, "groups": groups}


def run(st: OptimizersSettings, sr: StudyRun) -> dict[str, Any]:
    per_data = {name: train_dataset(name, st, sr) for name in st.datasets}
    write_json_atomic(sr.folder / "groups.json", {name: d["groups"] for name, d in per_data.items()})
    with sr.timed("seed_setups"):
        advance = sr.task("seed 001's set-ups (XOR losses, depth)", 2 * st.xor_steps + 2 * st.depth_steps)
        xor = xor_losses(st, dataset("xor", st), sr.device, sr.folder, advance)
        depth = depths(st, dataset("gaussians5", st), sr.device, sr.folder, advance)
    return results(st, per_data, xor, depth)
