"""Train every arm of the regularization study and measure each member.

Strengths are per-member values (L1/L2 strengths, weight decay, the max-norm bound c, the dropout
rate), so many arms train as ONE population. Not all of them, though: a population pays for
each regularizer on every member (dropout masks, the L1 sign, the penalty terms), so arms are
grouped by optimizer and by cost (``Arm.cost``): "plain" (no regularization, L2 penalty, weight
decay, max-norm), "l1" (L1, elastic net) and "dropout". Mixing them all cost 4x the time in one
measured run. Member seed s gets the same initial weights in every arm and population (a
member's streams depend on its seed alone), so every comparison is paired.

Each member is measured at the end: train, val and test loss and accuracy (eval mode), the norm
of all its weights, the fraction of its weights with |w| < 1e-3 * max|w|, and its largest unit
norm (each unit's incoming weights). Seed 0 of every configuration also draws its decision
boundary on a grid. ``run`` stores the curves (``curves.npz``) and boundaries
(``boundaries.npz``) the figures read, and returns ``summary.results``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from trainlab.config import Config, build_config
from trainlab.experiments.paired import save_norms
from trainlab.experiments.regularization import summary
from trainlab.experiments.regularization.settings import ARMS, BASELINE_OF, NEAR_ZERO, RegularizationSettings
from trainlab.experiments.study import Advance, StudyRun
from trainlab.loop import evaluate
from trainlab.norms import NORM_KEYS
from trainlab.runner import load_data, run_population
from trainlab.runs.io import write_bytes_atomic

# the per-member keys the arms set, and their value where an arm leaves them alone
MEMBER_DEFAULTS: dict[str, Any] = {"regularize.l1": 0.0, "regularize.l2": 0.0, "optim.weight_decay": 0.0,
                                   "regularize.max_norm": None, "model.dropout.hidden": 0.0}


@dataclass(frozen=True)
class Configuration:
    """One arm at one strength (or an optimizer's unregularized baseline: arm "none")."""

    index: int  # position in the study's list of configurations (all populations)
    arm: str
    optimizer: str
    cost: str
    strength: Optional[float]
    values: dict

    @property
    def population(self) -> tuple[str, str]:
        return (self.optimizer, self.cost)

    def to_json(self) -> dict:
        return {"index": self.index, "arm": self.arm, "optimizer": self.optimizer, "population": self.cost,
                "strength": self.strength, "values": self.values}


def configurations(st: RegularizationSettings) -> list[Configuration]:
    """Every configuration, by population (optimizer, cost): an optimizer's baseline first, then the arms."""
    out: list[Configuration] = []
    for pop in dict.fromkeys((a.optimizer, a.cost) for a in ARMS):
        opt, cost = pop
        if BASELINE_OF[opt] == opt and cost == "plain":
            out.append(Configuration(len(out), "none", opt, cost, None, {}))
        for arm in (a for a in ARMS if (a.optimizer, a.cost) == pop):
            for s in st.strengths(arm):
                out.append(Configuration(len(out), arm.name, opt, cost, float(s), arm.values(float(s))))
    return out


def optimizer_section(st: RegularizationSettings, opt: str) -> dict:
    if opt == "sgd":
        return {"name": "momentum", "lr": st.sgd_lr, "momentum": st.momentum}
    return {"name": opt, "lr": st.adam_lr}


def population_config(st: RegularizationSettings, opt: str, configs: list[Configuration]) -> Config:
    """One population: each configuration's values zipped, times the seeds (keys no member sets left out)."""
    used = {k for c in configs for k in c.values} or {"regularize.l2"}
    zipped = {k: [c.values.get(k, d) for c in configs] for k, d in MEMBER_DEFAULTS.items() if k in used}
    return build_config({
        "data": {"name": "moons", "n_train": st.n_train, "n_val": st.n_val, "n_test": st.n_test,
                 "params": {"noise": st.noise}},
        "model": {"hidden": list(st.hidden), "activation": "relu", "init": {"scheme": "kaiming_normal"},
                  "bias_init": {"scheme": "zeros"}},
        "optim": optimizer_section(st, opt),
        "train": {"steps": st.steps, "eval_every": st.eval_every},
        "population": {"seeds": st.seeds, "zip": zipped},
        "run": {"name": "regularization", "seed": st.run_seed, "save_weights": False},
    })


@torch.no_grad()
def weight_measures(model) -> dict[str, np.ndarray]:
    """Per member: the norm of all weights, the near-zero fraction and the largest unit norm (biases excluded)."""
    flat = torch.cat([w.reshape(w.shape[0], -1) for w in model.weights], dim=1).abs()
    near = (flat < NEAR_ZERO * flat.amax(dim=1, keepdim=True)).to(torch.float64).mean(dim=1)
    unit = torch.stack([w.norm(dim=1).amax(dim=1) for w in model.weights]).amax(dim=0)
    return {"weight_norm": flat.double().pow(2).sum(dim=1).sqrt().cpu().numpy(), "near_zero": near.cpu().numpy(),
            "max_unit_norm": unit.double().cpu().numpy()}


def grid_points(dataset, n: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """An n x n grid over the data (train and val points, with a margin)."""
    pts = torch.cat([dataset.train.x, dataset.val.x]).numpy()
    lo, hi = pts.min(axis=0) - 0.3, pts.max(axis=0) + 0.3
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)


@torch.no_grad()
def boundary_probs(model, members: list[int], grid: torch.Tensor, n: int) -> np.ndarray:
    """P(class 1) of each listed member on the grid, (members, n, n), in eval mode."""
    part = model.select(members)
    logits = part.forward(grid.to(part.device))
    return torch.softmax(logits, dim=-1)[..., 1].reshape(len(members), n, n).cpu().numpy()


def train_population(st: RegularizationSettings, opt: str, configs: list[Configuration], dataset,
                     device: torch.device, advance: Advance) -> dict[str, Any]:
    """Train one optimizer's population; per-member finals (config-major, seed-minor) and curves."""
    cfg = population_config(st, opt, configs)
    model, fits, arrays = run_population(cfg, dataset, None, device, None, advance)
    test_loss, test_acc = evaluate(model, dataset.test.x.to(device), dataset.test.y.to(device))
    out = {k: arrays[k][-1] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
    out |= {"test_loss": test_loss.cpu().numpy().astype(np.float64),
            "test_acc": test_acc.cpu().numpy().astype(np.float64), **weight_measures(model)}
    frozen = sorted({int(k) for f in fits for k in f.frozen})
    for key in ("weight_norm", "near_zero", "max_unit_norm", "test_loss", "test_acc"):
        out[key][frozen] = np.nan  # a member frozen at a non-finite loss has no measurements
    return {"final": out, "curves": arrays, "model": model, "frozen": frozen, "seconds": sum(f.seconds for f in fits)}


def _by_config(values: np.ndarray, n_configs: int, seeds: int) -> np.ndarray:
    """(K,) member values -> (configs, seeds)."""
    return np.asarray(values, dtype=np.float64).reshape(n_configs, seeds)


def run(st: RegularizationSettings, sr: StudyRun) -> dict[str, Any]:
    """Train every population, measure, store curves and boundaries; return the results."""
    torch.manual_seed(st.run_seed)
    configs = configurations(st)
    with sr.timed("data"):
        dataset = load_data(population_config(st, "sgd", configs[:1]).data, st.run_seed)
    xs, ys, grid = grid_points(dataset, st.grid)
    finals: dict[str, np.ndarray] = {}
    curves: dict[str, np.ndarray] = {}
    norms: dict[str, list[np.ndarray]] = {}
    probs = np.zeros((len(configs), st.grid, st.grid), dtype=np.float16)
    frozen: list[dict] = []
    steps = None
    for pop in dict.fromkeys(c.population for c in configs):
        part = [c for c in configs if c.population == pop]
        opt = pop[0]
        advance = sr.task(f"{opt} ({pop[1]}): {len(part)} configurations x {st.seeds} seeds", st.steps)
        with sr.timed(f"train_{opt}_{pop[1]}"):
            res = train_population(st, opt, part, dataset, sr.device, advance)
        with sr.timed("boundaries"):
            seed0 = [i * st.seeds for i in range(len(part))]
            probs[[c.index for c in part]] = boundary_probs(res["model"], seed0, grid, st.grid)
        for key, vals in res["final"].items():
            finals.setdefault(key, []).append(_by_config(vals, len(part), st.seeds))
        for key in ("train_loss", "val_loss", "val_acc"):
            arr = res["curves"][key]  # (evals, K)
            curves.setdefault(key, []).append(arr.reshape(arr.shape[0], len(part), st.seeds))
        for key in NORM_KEYS:  # (evals, K, layers): members config-major across populations, as the indices
            if key in res["curves"]:
                norms.setdefault(key, []).append(res["curves"][key])
        steps = res["curves"]["steps"]
        frozen += [{"config": part[k // st.seeds].index, "seed": k % st.seeds} for k in res["frozen"]]
    finals = {k: np.concatenate(v) for k, v in finals.items()}  # (configs, seeds), config order
    curve_arrays = {k: np.concatenate(v, axis=1) for k, v in curves.items()}  # (evals, configs, seeds)
    val = curve_arrays["val_loss"]
    with np.errstate(invalid="ignore"):
        finals["val_rise"] = val[-1] - np.nanmin(val, axis=0)  # > 0: val loss went back up (overfitting)
    _save_npz(sr, "curves.npz", steps=steps, **curve_arrays)
    _save_npz(sr, "boundaries.npz", xs=xs, ys=ys, prob=probs, train_x=dataset.train.x.numpy(),
              train_y=dataset.train.y.numpy())
    out = summary.results(st, configs, finals, frozen, dataset)
    save_norms(sr.folder, steps, {k: np.concatenate(v, axis=1) for k, v in norms.items()}, norm_groups(out, st.seeds))
    return out


def norm_groups(results: dict[str, Any], seeds: int) -> dict[str, range]:
    """Which members the norm figures show: each optimizer's unregularized baseline and each
    regularizer at its best strength (member index = configuration index x seeds + seed)."""
    out = {}
    for a in results["arms"]:
        base = results["configs"][a["baseline"]]
        out.setdefault(f"none ({results['optimizers'][base['optimizer']]['name']})", a["baseline"])
    for a in results["arms"]:
        out[f"{a['short']} ({a['symbol']}={a['best_strength']:g})"] = a["best"]
    return {label: range(c * seeds, (c + 1) * seeds) for label, c in out.items()}


def _save_npz(sr: StudyRun, name: str, **arrays: Any) -> None:
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes_atomic(sr.folder / name, buf.getvalue())
