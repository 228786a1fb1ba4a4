"""Train the three arms of the GD vs SGD study (seed 003) on the seed's data, paired over seeds.

Each arm is one population of ``seeds`` members (``experiments.paired``); member j of every arm
starts from the same weights (PyTorch's default init from member seed j), so the arms differ only
in how they step:

- ``sgd``: mini-batches of 32, reshuffled every epoch (each member its own shuffle), 25 updates
  per epoch, evaluated every ``eval_every`` updates (so both per-epoch and per-update curves exist);
- ``gd``: the full training set each update, one update per epoch, evaluated after each;
- ``gd_scaled``: GD with lr x N/B (the linear scaling rule from B = 32 to the full batch).

Every evaluation measures train and test loss and accuracy on the whole of each part, and the
per-layer norms (``trainlab.norms``). Each arm's history goes to ``metrics_<arm>.npz`` (plus
``epochs``: the evaluation steps in epochs); ``summary.results`` reads the numbers from it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.data.toy import Dataset, make_toy
from trainlab.data.transforms import apply_transforms
from trainlab.experiments.gd_vs_sgd.settings import GdVsSgdSettings
from trainlab.experiments.gd_vs_sgd.summary import ARMS, label, results
from trainlab.experiments.paired import Arm, Trained, save_npz, train_arm
from trainlab.experiments.study import StudyRun
from trainlab.loop import TrainSpec
from trainlab.nn.population import MemberInit
from trainlab.norms import NORM_KEYS
from trainlab.runs.io import write_json_atomic


def moons(st: GdVsSgdSettings) -> Dataset:
    """The seed's data: two moons, an 80/20 split, standardized with the training part's statistics."""
    ds = make_toy("moons", st.n_train, st.n_test, 0, st.data_seed, noise=st.noise)
    return apply_transforms(ds, [{"name": "standardize"}])


def _eval_every(st: GdVsSgdSettings) -> int:
    """The largest divisor of an epoch's updates that is <= eval_every: every epoch end is evaluated."""
    return max(d for d in range(1, min(st.eval_every, st.steps_per_epoch) + 1) if st.steps_per_epoch % d == 0)


def arms(st: GdVsSgdSettings) -> list[Arm]:
    """The three arms, each ``seeds`` members with PyTorch's default init (weights and biases)."""
    inits = [MemberInit(s, "torch_default", 1.0, "torch_default", 0.0) for s in range(st.seeds)]
    sizes = [2, st.hidden, 2]
    out = []
    for name in ARMS:
        mini = name == "sgd"
        lr = st.scaled_lr if name == "gd_scaled" else st.lr
        spec = TrainSpec(steps=st.epochs * (st.steps_per_epoch if mini else 1), batch_size=st.batch_size if mini else None,
                         eval_every=_eval_every(st) if mini else 1)
        out.append(Arm(name, sizes, list(inits), "momentum", {"lr": [lr], "momentum": [st.momentum]}, spec))
    return out


def run(st: GdVsSgdSettings, sr: StudyRun) -> dict[str, Any]:
    """Train the three arms into ``sr.folder`` and return the study's numbers."""
    with sr.timed("data"):
        data = moons(st)
    trained: list[Trained] = []
    for arm in arms(st):
        with sr.timed(f"train_{arm.name}"):
            advance = sr.task(f"gd-vs-sgd: {arm.name} ({arm.spec.steps} updates x {st.seeds} seeds)", arm.spec.steps)
            t = train_arm(arm, data, sr.device, st.run_seed, progress=advance)
            per_epoch = 1 if arm.spec.batch_size is None else st.steps_per_epoch
            save_npz(sr.folder / f"metrics_{arm.name}.npz", t.arrays | {"epochs": t.arrays["steps"] / per_epoch})
            trained.append(t)
    with sr.timed("store"):
        _norms_by_epoch(sr, st, trained)
    sr.provenance["data"] = {"source": data.source, "notes": list(data.notes)}
    return results(st, trained, data)


def _norms_by_epoch(sr: StudyRun, st: GdVsSgdSettings, trained: list[Trained]) -> None:
    """The arms' norms at each epoch end, side by side (members = arms x seeds): one figure compares them."""
    parts, groups, start = {k: [] for k in NORM_KEYS}, {}, 0
    for t in trained:
        per_epoch = 1 if t.arm.spec.batch_size is None else st.steps_per_epoch
        rows = t.arrays["steps"] % per_epoch == 0
        for k in NORM_KEYS:
            parts[k].append(t.arrays[k][rows])
        groups[label(t.arm.name, st)] = list(range(start, start + t.K))
        start += t.K
    arrays = {k: np.concatenate(v, axis=1) for k, v in parts.items()}
    save_npz(sr.folder / "norms_by_epoch.npz", arrays | {"epochs": np.arange(arrays["weight_norm"].shape[0])})
    write_json_atomic(sr.folder / "norm_groups.json", groups)
