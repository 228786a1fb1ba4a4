"""Train the preprocessing study: every transform at every learning rate, gradient descent, paired seeds.

Each transform is one population (its inputs differ); its members are every learning rate x seed
(the learning rate is a per-member value). Training is full-batch gradient descent without
momentum, the setting of the conditioning argument. The training loss of every member is kept
at every step (``LossEachStep``: the loop's own per-member loss, so it costs nothing extra), which
gives the steps to the target at a resolution of one step.

``run`` also measures each transform's conditioning on the training split: the condition number
of the input covariance, and of the second-moment matrix of the inputs with a constant column
(what gradient descent on a linear layer with a bias actually sees: an offset shows up there).
The per-layer norms (``trainlab.norms``) of each transform at its best learning rate go to
``metrics.npz`` with ``groups.json`` (one group per transform).
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

from trainlab.config import Config, build_config
from trainlab.data.transforms import apply_transforms
from trainlab.experiments.preprocessing import summary
from trainlab.experiments.preprocessing.data import condition, make_conditioned
from trainlab.experiments.paired import save_norms
from trainlab.experiments.preprocessing.settings import TRANSFORMS, PreprocessingSettings
from trainlab.experiments.study import StudyRun
from trainlab.norms import NORM_KEYS
from trainlab.runner import run_population
from trainlab.runs.io import write_bytes_atomic


class LossEachStep:
    """Keeps each member's training loss at every step (the loss of the weights before that step)."""

    def __init__(self) -> None:
        self.rows: list[torch.Tensor] = []

    def on_step_end(self, state) -> None:
        self.rows.append(state.last_loss.detach().cpu())


def conditioning(x: torch.Tensor) -> dict[str, float]:
    """Condition numbers of the covariance and of the second moment with a constant column."""
    a = x.double().numpy()
    centred = a - a.mean(axis=0)
    with_bias = np.hstack([a, np.ones((len(a), 1))])
    return {"covariance": condition(centred.T @ centred / len(a)),
            "second_moment": condition(with_bias.T @ with_bias / len(a))}


def population_config(st: PreprocessingSettings, n_classes: int) -> Config:
    return build_config({
        "data": {"name": "gaussians", "n_train": st.n_train, "n_val": st.n_val},  # sizes only: the data is given
        "model": {"hidden": list(st.hidden), "activation": "relu", "init": {"scheme": "kaiming_normal"},
                  "bias_init": {"scheme": "zeros"}},
        "optim": {"name": "sgd", "lr": st.lrs[0]},
        "train": {"steps": st.steps, "eval_every": st.eval_every},
        "population": {"seeds": st.seeds, "grid": {"optim.lr": list(st.lrs)}},
        "run": {"name": "preprocessing", "seed": st.run_seed, "save_weights": False},
    })


def train_transform(st: PreprocessingSettings, data, device: torch.device, advance) -> dict[str, Any]:
    """One population: (steps + 1, K) training loss, the final val accuracy (K,), the frozen members."""
    cfg = population_config(st, data.n_classes)
    recorders: list[LossEachStep] = []

    def callbacks(chunk) -> list:
        recorders.append(LossEachStep())
        return [recorders[-1]]

    _, fits, arrays = run_population(cfg, data, None, device, callbacks, advance)
    per_step = torch.cat([torch.stack(r.rows) for r in recorders], dim=1).double().numpy()  # (steps, K)
    loss = np.vstack([per_step, arrays["train_loss"][-1:]])  # + the loss after the last step
    return {"loss": loss, "val_acc": arrays["val_acc"][-1], "val_loss": arrays["val_loss"],
            "eval_steps": arrays["steps"], "frozen": sorted({int(k) for f in fits for k in f.frozen}),
            "norms": {k: arrays[k] for k in NORM_KEYS if k in arrays}}


def run(st: PreprocessingSettings, sr: StudyRun) -> dict[str, Any]:
    """Every transform fitted on train, trained at every learning rate; steps to the target per member."""
    torch.manual_seed(st.run_seed)
    with sr.timed("data"):
        raw = make_conditioned(st.n_train, st.n_val, st.run_seed, st.dim, st.classes, st.cond, st.rho,
                               st.separation, st.offset)
    arms, curves, norms = [], {}, {}
    for name, (label, specs) in TRANSFORMS.items():
        data = apply_transforms(raw, specs) if specs else raw
        advance = sr.task(f"{name}: {len(st.lrs)} learning rates x {st.seeds} seeds", st.steps)
        with sr.timed(f"train_{name}"):
            out = train_transform(st, data, sr.device, advance)
        curves[f"{name}_loss"] = out["loss"].astype(np.float32)
        curves[f"{name}_val_loss"] = out["val_loss"].astype(np.float32)
        arms.append(summary.arm_block(st, name, label, specs, conditioning(data.train.x), out, data.notes))
        best = slice(arms[-1]["best"] * st.seeds, (arms[-1]["best"] + 1) * st.seeds)  # lr-major, seed-minor
        for k, v in out["norms"].items():
            norms.setdefault(k, []).append(v[:, best])
    curves["eval_steps"] = out["eval_steps"]
    save_norms(sr.folder, out["eval_steps"], {k: np.concatenate(v, axis=1) for k, v in norms.items()},
               {a["label"]: range(i * st.seeds, (i + 1) * st.seeds) for i, a in enumerate(arms)})
    buf = io.BytesIO()
    np.savez_compressed(buf, **curves)
    write_bytes_atomic(sr.folder / "curves.npz", buf.getvalue())
    return summary.results(st, arms, raw)
