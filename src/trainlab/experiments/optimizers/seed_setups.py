"""Seed 001's own set-ups, next to the optimizer comparison:

- **MSE + sigmoid against cross-entropy on XOR**: the seed's 2-4-out ReLU net with Xavier init and
  SGD momentum 0.9 at lr 0.02, trained with an MSE loss on sigmoid outputs and with cross-entropy
  (one population each, paired seeds). Why the first is slower is measured, not asserted: the
  sigmoid's slope p(1 - p) (at most 1/4) multiplies MSE's output gradient, and a saturated output
  (|z| > 4.6, slope < 0.01) passes almost none of it back;
- **one hidden layer against two on the 5-class mixture**: the seed says a net with one hidden
  layer of 4 units stays below 80% test accuracy and adding a hidden layer passes 90%. Both depths
  train with Adam (one population each, paired seeds); accuracy is measured on the held-out split.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from trainlab.data.toy import Dataset
from trainlab.experiments.optimizers.settings import INITS, OptimizersSettings
from trainlab.experiments.paired import Arm, Trained, held_out, save_npz, stack, train_arm
from trainlab.loop import TrainSpec
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.runs.io import write_json_atomic

SATURATED_SLOPE = 0.01  # sigmoid slope p(1 - p) below this (|z| > 4.6): the output passes ~no gradient
LOSSES = {"mse_sigmoid": "MSE on sigmoid outputs", "cross_entropy": "cross-entropy"}


@torch.no_grad()
def sigmoid_slopes(model: PopulationMLP, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per member: the mean sigmoid slope p(1 - p) over outputs and rows, and the share saturated."""
    p = torch.sigmoid(model(x.to(model.device)))
    slope = p * (1 - p)
    return (slope.mean(dim=(1, 2)).cpu().numpy().astype(np.float64),
            (slope < SATURATED_SLOPE).float().mean(dim=(1, 2)).cpu().numpy().astype(np.float64))


def xor_losses(st: OptimizersSettings, data: Dataset, device: torch.device, folder,
               advance: Callable[[int], None]) -> dict[str, Any]:
    """Both losses on the seed's XOR set-up; the histories to ``xor_loss.npz`` (+ ``xor_groups.json``)."""
    inits = [MemberInit(s, INITS["xavier"], 1.0) for s in range(st.seeds)]
    sizes = [2, st.xor_hidden, data.n_classes]
    trained: list[Trained] = []
    for loss in LOSSES:
        spec = TrainSpec(steps=st.xor_steps, batch_size=st.batch_size, eval_every=10, loss=loss)
        arm = Arm(loss, sizes, list(inits), "momentum", {"lr": [st.xor_lr], "momentum": [0.9]}, spec)
        trained.append(train_arm(arm, data, device, st.run_seed, progress=advance))
    arrays, groups = stack(trained)
    save_npz(folder / "xor_loss.npz", arrays)
    write_json_atomic(folder / "xor_groups.json", {LOSSES[k]: v for k, v in groups.items()})
    init_model = PopulationMLP.create(sizes, "relu", inits, run_seed=st.run_seed).to(device)
    mse = trained[0]
    slope0, sat0 = sigmoid_slopes(init_model, data.train.x)
    slope1, sat1 = sigmoid_slopes(mse.model, data.train.x)
    return {"trained": {t.arm.name: t for t in trained}, "slope_init": slope0, "saturated_init": sat0,
            "slope_end": slope1, "saturated_end": sat1}


def depths(st: OptimizersSettings, data: Dataset, device: torch.device, folder,
           advance: Callable[[int], None]) -> dict[str, Any]:
    """One and two hidden layers of ``depth_widths`` on the mixture, Adam; curves to ``depth.npz``."""
    inits = [MemberInit(s, INITS["he"], 1.0) for s in range(st.seeds)]
    spec = TrainSpec(steps=st.depth_steps, batch_size=st.batch_size, eval_every=10)
    out: dict[str, Any] = {}
    curves: dict[str, np.ndarray] = {}
    for n_hidden in (1, 2):
        widths = list(st.depth_widths[:n_hidden])
        name = f"{n_hidden}_hidden"
        arm = Arm(name, [2, *widths, data.n_classes], list(inits), "adam", {"lr": [st.depth_lr]}, spec)
        t = train_arm(arm, data, device, st.run_seed, progress=advance)
        _, acc = held_out(t, data.val.x, data.val.y)
        out[name] = {"trained": t, "widths": widths, "val_acc": acc}
        curves["steps"] = t.arrays["steps"]
        curves |= {f"{name}_{k}": t.arrays[k] for k in ("train_loss", "train_acc", "val_acc")}
    save_npz(folder / "depth.npz", curves)
    return out
