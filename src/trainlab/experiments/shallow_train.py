"""Train the shallow study's populations and measure what the summary needs.

Each population trains once through ``trainlab.runner.run_population``. Curves (train loss and
accuracy, val loss and accuracy) are recorded every ``EVAL_EVERY`` steps; the val curves use the
first ``N_CURVE`` validation points, because evaluating every member on all 10,000 points 50
times would cost more than the training itself. After training, every member is evaluated once on
the full validation set (the final val metrics), and the variant populations on their test set at
each checkpoint (a callback). Dead hidden units (ReLUs that output 0 on every training point) are
counted at init and at the end: they explain most failures of this small net.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch

from trainlab.data.toy import Split
from trainlab.experiments.shallow_plan import N_CURVE, PopulationPlan
from trainlab.experiments.shallow_regimes import classify, features
from trainlab.loop import FitState, evaluate
from trainlab.nn.population import PopulationMLP
from trainlab.runner import build_population, load_data, run_population

Progress = Callable[..., None]


@dataclass
class Trained:
    """One trained population: curves (rows = evaluations, row 0 = init), final metrics per member."""

    plan: PopulationPlan
    steps: np.ndarray  # (E,)
    curves: dict[str, np.ndarray]  # train_loss, train_acc, val_loss, val_acc: (E, K); val on N_CURVE points
    val_loss: np.ndarray  # (K,) on the full validation set
    val_acc: np.ndarray
    frozen: np.ndarray  # (K,) bool: the loss went non-finite and the member was frozen
    dead_init: np.ndarray  # (K,) dead hidden units at init
    dead_end: np.ndarray  # (K,) dead hidden units at the end
    weight_change: np.ndarray  # (K,) ||W_end - W_init|| / ||W_init|| over all weights
    regimes: list[str]
    leave_steps: list[Optional[int]]
    model: PopulationMLP  # final weights, on the CPU
    train_x: np.ndarray
    train_y: np.ndarray
    seconds: float
    test: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # step -> {loss, acc} (K,)

    def stat_values(self, key: str, idx: list[int]) -> np.ndarray:
        """Per-member values of one final metric for the members ``idx``."""
        table = {"loss_at_init": lambda: self.curves["train_loss"][0], "final_train_loss":
                 lambda: self.curves["train_loss"][-1], "val_acc": lambda: self.val_acc,
                 "val_loss": lambda: self.val_loss, "dead_units_init": lambda: self.dead_init,
                 "dead_units_end": lambda: self.dead_end, "weight_change": lambda: self.weight_change}
        return np.asarray(table[key]())[idx]


class HeldOutProbe:
    """A fit callback: loss and accuracy on a held-out set (the variant's test set) at every evaluation."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y
        self.records: dict[int, dict[str, np.ndarray]] = {}

    def on_eval(self, state: FitState) -> None:
        loss, acc = evaluate(state.model, self.x, self.y)
        self.records[state.step] = {"loss": loss.cpu().numpy().astype(np.float64),
                                    "acc": acc.cpu().numpy().astype(np.float64)}


@torch.no_grad()
def dead_units(model: PopulationMLP, x: torch.Tensor) -> np.ndarray:
    """(K,) number of hidden ReLU units whose output is 0 on every row of ``x``."""
    x = x.to(model.device)
    h = x * model.input_scale.view(-1, 1, 1) + model.input_offset.view(-1, 1, 1)
    dead = torch.zeros(model.K, device=model.device)
    for w, b in zip(model.weights[:-1], model.biases[:-1]):
        h = torch.relu(torch.matmul(h, w) + b.unsqueeze(1))
        dead += (h.amax(dim=1) <= 0).sum(dim=-1)
    return dead.cpu().numpy().astype(np.int64)


@torch.no_grad()
def weight_change(start: PopulationMLP, end: PopulationMLP) -> np.ndarray:
    """(K,) relative distance the weights travelled: ||W_end - W_init|| / ||W_init|| (inf from zero)."""
    num = sum(((b.to(a.device) - a) ** 2).sum(dim=(1, 2)) for a, b in zip(start.weights, end.weights))
    den = sum((a ** 2).sum(dim=(1, 2)) for a in start.weights)
    return (num.sqrt() / den.sqrt()).cpu().numpy().astype(np.float64)


@contextlib.contextmanager
def torch_threads(n: Optional[int]) -> Iterator[None]:
    """Use ``n`` CPU threads inside the block and restore the previous setting after it."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _merge_probes(probes: list[HeldOutProbe]) -> dict[int, dict[str, np.ndarray]]:
    """Join chunk probes along the member axis (chunks are in member order)."""
    if not probes:
        return {}
    steps = sorted(set.intersection(*(set(p.records) for p in probes)))
    return {s: {k: np.concatenate([p.records[s][k] for p in probes]) for k in ("loss", "acc")} for s in steps}


def train_population(p: PopulationPlan, device: torch.device, progress: Optional[Progress] = None) -> Trained:
    """Train ``p`` and measure its members (curves, final val metrics, dead units, regimes)."""
    t0 = time.perf_counter()
    ds = load_data(p.cfg.data, p.cfg.run.seed)
    curve_ds = ds if p.held_out == "test" else replace(ds, val=Split(ds.val.x[:N_CURVE], ds.val.y[:N_CURVE]))
    probes: list[HeldOutProbe] = []

    def callbacks(chunk: Optional[list] = None) -> list[Any]:
        if p.held_out != "test":
            return []
        probes.append(HeldOutProbe(ds.test.x.to(device), ds.test.y.to(device)))
        return [probes[-1]]

    model, fits, arrays = run_population(p.cfg, curve_ds, p.members, device, callbacks, progress)
    frozen = np.zeros(len(p.members), dtype=bool)
    offset = 0
    for f in fits:
        for k in f.frozen:
            frozen[offset + k] = True
        offset += f.model.K
    if p.held_out == "test":  # the curves already cover the whole (small) val set
        val_loss, val_acc = arrays["val_loss"][-1], arrays["val_acc"][-1]
    else:
        vl, va = evaluate(model, ds.val.x.to(device), ds.val.y.to(device), chunk=2048)
        val_loss, val_acc = vl.cpu().numpy().astype(np.float64), va.cpu().numpy().astype(np.float64)
    init_model = build_population(p.cfg, p.members, ds.input_dim, ds.n_classes).to(device)
    x_train = ds.train.x.to(device)
    steps = arrays["steps"]
    feats = [features(steps, arrays["train_loss"][:, j], val_acc[j], bool(frozen[j])) for j in range(len(p.members))]
    return Trained(
        plan=p, steps=steps, curves={k: v for k, v in arrays.items() if k != "steps"},
        val_loss=np.asarray(val_loss, dtype=np.float64), val_acc=np.asarray(val_acc, dtype=np.float64),
        frozen=frozen, dead_init=dead_units(init_model, x_train), dead_end=dead_units(model, x_train),
        weight_change=weight_change(init_model, model),
        regimes=[classify(f) for f in feats], leave_steps=[f.leave_step for f in feats], model=model.to("cpu"),
        train_x=ds.train.x.numpy(), train_y=ds.train.y.numpy(), seconds=time.perf_counter() - t0,
        test=_merge_probes(probes))
