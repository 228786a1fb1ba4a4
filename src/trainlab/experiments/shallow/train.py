"""Train the shallow study's populations, measure what the summary needs, and store the data.

Each population trains once through ``trainlab.runner.run_population``. Curves (train loss and
accuracy, val loss and accuracy) are recorded every ``eval_every`` steps; the val curves use the
first ``n_curve`` validation points, because evaluating every member on all 10,000 points 50
times would cost more than the training itself. After training, every member is evaluated once on
the full validation set (the final val metrics), and the variant populations on their test set at
each checkpoint (a callback). Dead hidden units (ReLUs that output 0 on every training point) are
counted at init and at the end: they explain most failures of this small net.

``run`` is the study's entry: it trains every population of ``populations.plan``, hands the
results to ``summary.results`` and stores the raw material of the figures in the folder.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from trainlab.data.toy import Split
from trainlab.experiments.shallow import summary
from trainlab.experiments.shallow.populations import ACTIVATION, CENTER, DEAD_BIAS, HIDDEN, PopulationPlan, plan
from trainlab.experiments.shallow.regimes import classify, features
from trainlab.experiments.shallow.settings import SIGMA_REF, ShallowSettings
from trainlab.experiments.study import Advance, StudyRun
from trainlab.loop import FitState, evaluate
from trainlab.nn.population import PopulationMLP
from trainlab.runner import build_population, load_data, run_population
from trainlab.runs.io import write_json_atomic
from trainlab.runs.store import save_weights


@dataclass
class TrainedPopulation:
    """One trained population: curves (rows = evaluations, row 0 = init), final metrics per member."""

    plan: PopulationPlan
    steps: np.ndarray  # (E,)
    curves: dict[str, np.ndarray]  # train_loss, train_acc, val_loss, val_acc: (E, K); val on n_curve points
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


def _merge_probes(probes: list[HeldOutProbe]) -> dict[int, dict[str, np.ndarray]]:
    """Join chunk probes along the member axis (chunks are in member order)."""
    if not probes:
        return {}
    steps = sorted(set.intersection(*(set(p.records) for p in probes)))
    return {s: {k: np.concatenate([p.records[s][k] for p in probes]) for k in ("loss", "acc")} for s in steps}


def train_plan(p: PopulationPlan, n_curve: int, device: torch.device,
               progress: Optional[Advance] = None) -> TrainedPopulation:
    """Train ``p`` and measure its members (curves, final val metrics, dead units, regimes)."""
    t0 = time.perf_counter()
    ds = load_data(p.cfg.data, p.cfg.run.seed)
    curve_ds = ds if p.held_out == "test" else replace(ds, val=Split(ds.val.x[:n_curve], ds.val.y[:n_curve]))
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
    return TrainedPopulation(
        plan=p, steps=steps, curves={k: v for k, v in arrays.items() if k != "steps"},
        val_loss=np.asarray(val_loss, dtype=np.float64), val_acc=np.asarray(val_acc, dtype=np.float64),
        frozen=frozen, dead_init=dead_units(init_model, x_train), dead_end=dead_units(model, x_train),
        weight_change=weight_change(init_model, model),
        regimes=[classify(f) for f in feats], leave_steps=[f.leave_step for f in feats], model=model.to("cpu"),
        train_x=ds.train.x.numpy(), train_y=ds.train.y.numpy(), seconds=time.perf_counter() - t0,
        test=_merge_probes(probes))


def run(st: ShallowSettings, sr: StudyRun) -> dict[str, Any]:
    """Train every population into ``sr.folder``; returns the study's results (``summary.results``)."""
    trained: list[TrainedPopulation] = []
    for p in plan(st):
        with sr.timed(p.name):
            desc = f"shallow/{p.name}: {len(p.members)} members x {p.cfg.train.steps} steps"
            trained.append(train_plan(p, st.n_curve, sr.device, sr.task(desc)))
    res = summary.Results(trained)
    results = summary.results(res, st)
    save_data(sr.folder, res, trained, results["picked"])
    sr.provenance |= {
        "setup": _setup(st),
        "populations": [{"name": t.plan.name, "members": len(t.plan.members), "steps": t.plan.cfg.train.steps,
                         "optimizer": t.plan.cfg.optim.name, "lr": t.plan.cfg.optim.lr,
                         "data": t.plan.cfg.data.model_dump(mode="json"), "seconds": t.seconds} for t in trained]}
    return results


def _setup(st: ShallowSettings) -> dict[str, Any]:
    return {
        "data": f"circles radii (1, 2), noise 0.15, {st.n_train} train / {st.n_val} val points "
                f"(val curves: first {st.n_curve})",
        "network": f"{'-'.join(map(str, (2, *HIDDEN, 2)))} {ACTIVATION}, weights N(0, sigma^2) with sigma the "
                   "standard deviation, biases zero",
        "training": f"SGD lr {st.lr}, full batch (GD), cross-entropy, {st.steps} steps, curves every "
                    f"{st.eval_every} steps",
        "sigma_fixed": SIGMA_REF, "data_scales": [*st.scales, 1.0], "center": list(CENTER), "dead_relu_bias": DEAD_BIAS,
    }


def _boundary_members(res: summary.Results, picked: dict[str, Optional[float]]) -> list[dict[str, Any]]:
    """For each picked sigma and Glorot normal: the lab member with its group's median val accuracy."""
    wanted = [(f"sigma = {v:g} ({k})", f"sigma={v:g}") for k, v in picked.items() if v is not None]
    wanted.append(("Glorot/Xavier normal", "xavier_normal"))
    out = []
    for title, name in wanted:
        t, g = res.groups[name]
        order = sorted(g.members, key=lambda j: t.val_acc[j])
        j = order[(len(order) - 1) // 2]
        out.append({"title": f"{title}, seed {t.plan.members[j].seed}", "group": name, "member": j,
                    "seed": t.plan.members[j].seed, "regime": t.regimes[j], "val_acc": float(t.val_acc[j])})
    return out


def _member_rows(trained: list[TrainedPopulation]) -> list[dict[str, Any]]:
    rows = []
    for t in trained:
        names: dict[int, list[str]] = {}
        for g in t.plan.groups:
            for j in g.members:
                names.setdefault(j, []).append(g.name)
        last = max(t.test) if t.test else None
        for j, m in enumerate(t.plan.members):
            rows.append({"population": t.plan.name, "member": j, "seed": m.seed, "values": m.values,
                         "groups": names.get(j, []), "regime": t.regimes[j], "leave_step": t.leave_steps[j],
                         "frozen": bool(t.frozen[j]), "test_acc": None if last is None else t.test[last]["acc"][j],
                         **{k: t.stat_values(k, [j])[0] for k in ("loss_at_init", "final_train_loss", "val_loss",
                                                                  "val_acc", "dead_units_init", "dead_units_end",
                                                                  "weight_change")}})
    return rows


def save_data(folder: Path, res: summary.Results, trained: list[TrainedPopulation],
              picked: dict[str, Optional[float]]) -> None:
    """The raw material of the figures: curves, per-member results, boundary members' weights."""
    lab = res.trained["lab"]
    sigma = np.full(len(lab.plan.members), np.nan)
    for g in lab.plan.groups:
        if g.kind == "sigma":
            sigma[g.members] = g.meta["sigma"]
    np.savez_compressed(folder / "curves.npz", steps=lab.steps, train_loss=lab.curves["train_loss"],
                        val_loss=lab.curves["val_loss"], sigma=sigma, train_x=lab.train_x, train_y=lab.train_y)
    write_json_atomic(folder / "members.json", _member_rows(trained))
    chosen = _boundary_members(res, picked)
    save_weights(folder, lab.model.select([c["member"] for c in chosen]).state_dict(), "boundaries.safetensors")
    write_json_atomic(folder / "boundaries.json", chosen)
