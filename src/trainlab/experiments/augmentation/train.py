"""Train the augmentation study: one population, with and without live random shifts, paired seeds.

Both arms are members of ONE population: the shift bound is a per-member value of the
augmentation (``data.augment.RandomShift`` with a (K,) bound: 0 for the unaugmented arm), so
member seed s has the same initial weights and the same mini-batches in both arms, and the only
difference is whether its images move. Training and validation error are measured each epoch in
eval mode on the original images (the training error is on the unshifted training set); the
per-layer norms (``trainlab.norms``) of both arms go to ``metrics.npz`` with ``groups.json``.
"""
from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
import torch

from trainlab.config import Config, build_config
from trainlab.data.augment import RandomShift
from trainlab.data.images import lab_split, load_image_dataset
from trainlab.experiments.augmentation import summary
from trainlab.experiments.augmentation.settings import ARMS, AugmentationSettings
from trainlab.experiments.paired import save_norms
from trainlab.experiments.study import StudyRun
from trainlab.loop import fit
from trainlab.members import Member, resolve_members
from trainlab.rng import member_keys
from trainlab.runner import build_optimizer, build_population, train_spec
from trainlab.runs.io import write_bytes_atomic


def load_data(st: AugmentationSettings):
    """The dropout study's split of its dataset; a fallback (auto -> mnist-5k) is said on stderr and kept in notes."""
    from rich.console import Console

    data = load_image_dataset(st.dataset, data_dir=st.data_dir, console=Console(stderr=True))
    return lab_split(data, n_train=st.n_train, n_val=st.n_val, seed=st.run_seed)


def base_config(st: AugmentationSettings, n_train: int) -> Config:
    steps_per_epoch = max(n_train // st.batch_size, 1)  # as trainlab.loop.batch_indices
    return build_config({
        "data": {"name": st.dataset, "n_train": st.n_train, "n_val": st.n_val},
        "model": {"hidden": list(st.hidden), "activation": "relu", "init": {"scheme": "kaiming_normal"},
                  "bias_init": {"scheme": "zeros"}},
        "optim": {"name": "adamw", "lr": st.lr, "weight_decay": st.weight_decay},
        "train": {"steps": st.epochs * steps_per_epoch, "batch_size": st.batch_size, "eval_every": steps_per_epoch},
        "population": {"seeds": st.seeds},
        "run": {"name": "augmentation", "seed": st.run_seed, "save_weights": False},
    })


def members(st: AugmentationSettings) -> tuple[list[Member], torch.Tensor]:
    """Arm-major members (seeds 0..S-1 per arm) and each member's shift bound."""
    out, bound = [], []
    for arm in ARMS:
        for s in range(st.seeds):
            out.append(Member(len(out), s, {}))
            bound.append(st.max_shift if arm == "shift" else 0)
    return out, torch.tensor(bound)


def examples(st: AugmentationSettings, x: torch.Tensor, y: torch.Tensor, shift: RandomShift) -> dict[str, np.ndarray]:
    """The first training images and how member seed 0 of the shift arm moves them at step 0."""
    n = min(st.examples, len(y))
    keys = member_keys(st.run_seed, [0], "augment")
    one = dataclasses.replace(shift, max_shift=st.max_shift)
    moved, labels = one(x[None, :n], y[None, :n], 0, keys)
    return {"original": x[:n].numpy(), "shifted": moved[0].numpy(), "offsets": one.offsets(keys, 0, n)[0].numpy(),
            "labels": labels[0].numpy()}


def run(st: AugmentationSettings, sr: StudyRun) -> dict[str, Any]:
    """Train both arms as one population; store curves and example images; return the results."""
    torch.manual_seed(st.run_seed)
    with sr.timed("data"):
        data = load_data(st)
    cfg = base_config(st, len(data.train.y))
    mem, bound = members(st)
    table = resolve_members(cfg, mem)
    dev = sr.device
    fill = float(data.train.x.min())  # a blank pixel after normalization: (0 - mean) / std
    shift = RandomShift(tuple(data.input_shape), bound.to(dev), fill)
    with sr.timed("train"):
        model = build_population(cfg, table, data.input_dim, data.n_classes).to(dev)
        opt = build_optimizer(cfg, table, model.parameters())
        spec = dataclasses.replace(train_spec(cfg, table, dev), augment=shift)
        advance = sr.task(f"{len(mem)} members x {st.epochs} epochs", cfg.train.steps)
        res = fit(model, opt, (data.train.x.to(dev), data.train.y.to(dev)), (data.val.x.to(dev), data.val.y.to(dev)),
                  spec, progress=advance)
    h = res.history
    curves = {"steps": np.asarray(h.steps), "epoch": np.asarray(h.steps) / cfg.train.eval_every}
    for key in ("train_loss", "val_loss"):
        curves[key] = h.array(key).reshape(len(h.steps), len(ARMS), st.seeds)
    for key in ("train_acc", "val_acc"):
        curves[key.replace("acc", "err")] = 1.0 - h.array(key).reshape(len(h.steps), len(ARMS), st.seeds)
    _save(sr, "curves.npz", curves)
    s = st.seeds
    save_norms(sr.folder, curves["steps"], h.arrays(),
               {label: range(i * s, (i + 1) * s) for i, label in enumerate(ARMS.values())})
    _save(sr, "examples.npz", examples(st, data.train.x, data.train.y, shift))
    frozen = sorted(int(k) for k in res.frozen)
    return summary.results(st, curves, data, cfg, fill, frozen)


def _save(sr: StudyRun, name: str, arrays: dict[str, Any]) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes_atomic(sr.folder / name, buf.getvalue())
