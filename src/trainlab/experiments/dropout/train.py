"""Train the dropout study's population, run its MC-dropout ensembles and checks, store the data.

Every (init, dropout variant, seed) is one member of ONE population (dropout rates and init
schemes are per-member values), so all variants train in lockstep, and members with the same seed
index share their shuffles and, within an init, their initial weights: comparisons between
variants are paired. Per epoch the loop measures train and val loss and error in eval mode; each
member's best epoch (lowest val error) and its weights are kept (``ensemble.BestEpoch``).

``run`` is the study's entry: data, training, ensembles, the set-up checks, then the files the
figures and words read (curves, ensembles, first-layer weights, members, groups, config).
"""
from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from trainlab.config import Config, build_config, to_yaml
from trainlab.data.images import lab_split, load_image_dataset
from trainlab.experiments.dropout import summary
from trainlab.experiments.dropout.checks import init_values, loss_at_init, loss_at_init_dropout_on, watch_findings
from trainlab.experiments.dropout.ensemble import BestEpoch, MemberWeights, best_population, ensemble_errors
from trainlab.experiments.dropout.settings import INIT_CHOICES, VARIANTS, DropoutSettings
from trainlab.experiments.study import Advance, StudyRun
from trainlab.loop import evaluate
from trainlab.members import Member
from trainlab.runner import build_population, run_population
from trainlab.runs.io import write_bytes_atomic, write_json_atomic, write_text_atomic
from trainlab.runs.store import save_weights

N_UNITS_SHOWN = 10  # first-layer units drawn per variant


@dataclass
class VariantGroup:
    """The members of one (init, variant): their indices in the population, in seed order."""

    init: str
    variant: str
    members: list[int]

    @property
    def key(self) -> str:
        return f"{self.init}__{self.variant}"


@dataclass
class TrainedVariants:
    """What training left: per-epoch arrays (rows = epochs 0..E), best epochs and weights."""

    arrays: dict[str, np.ndarray]
    best_model: Any  # PopulationMLP at each member's best epoch
    best_epoch: np.ndarray
    steps_per_epoch: int
    seconds: float


def make_members(st: DropoutSettings) -> tuple[list[Member], list[VariantGroup]]:
    """Members in (init, variant, seed) order; seed s of every group uses member seed s."""
    members: list[Member] = []
    groups: list[VariantGroup] = []
    for init in st.inits:
        for name in st.variants:
            v = VARIANTS[name]
            ids = []
            for s in range(st.seeds):
                ids.append(len(members))
                members.append(Member(len(members), s, init_values(init, v.p_input, v.p_hidden)))
            groups.append(VariantGroup(init, name, ids))
    return members, groups


def base_config(st: DropoutSettings, n_train: int) -> Config:
    """The structure and training set-up shared by all members (members carry init and rates)."""
    steps_per_epoch = max(n_train // st.batch_size, 1)  # as trainlab.loop.batch_indices
    return build_config({
        "data": {"name": st.dataset, "n_train": st.n_train, "n_val": st.n_val, "data_dir": st.data_dir},
        "model": {"hidden": list(st.hidden), "activation": "relu",
                  "init": {"scheme": "normal", "std": INIT_CHOICES["lab"].std}, "bias_init": {"scheme": "zeros"}},
        "optim": {"name": "adamw", "lr": st.lr, "weight_decay": st.weight_decay},
        "train": {"steps": st.epochs * steps_per_epoch, "batch_size": st.batch_size,
                  "eval_every": steps_per_epoch, "loss": "cross_entropy"},
        "population": {"seeds": st.seeds},
        "run": {"name": "dropout", "seed": st.run_seed, "memory_budget_mb": st.memory_budget_mb,
                "save_weights": st.save_weights},
    })


def load_data(st: DropoutSettings):
    """The lab's split of the study's dataset; a fallback (auto -> mnist-5k) is always said."""
    from rich.console import Console

    data = load_image_dataset(st.dataset, data_dir=st.data_dir, console=Console(stderr=True))
    return lab_split(data, n_train=st.n_train, n_val=st.n_val, seed=st.run_seed, use_test=st.test)


def train_members(cfg: Config, dataset, members: list[Member], device: torch.device,
                  advance: Advance) -> TrainedVariants:
    """Train the whole population once; the BestEpoch callback keeps each member's best weights."""
    t0 = time.perf_counter()
    spe = cfg.train.eval_every
    trackers: list[BestEpoch] = []

    def callbacks(chunk: Optional[list[Member]] = None) -> list[BestEpoch]:
        trackers.append(BestEpoch(spe))
        return [trackers[-1]]

    model, fits, arrays = run_population(cfg, dataset, members, device, callbacks, advance)
    best_model, best_epoch = best_population(model, trackers)
    return TrainedVariants(arrays, best_model.to(model.device), best_epoch, spe, time.perf_counter() - t0)


def run_ensembles(st: DropoutSettings, groups: list[VariantGroup], trained: TrainedVariants, x: torch.Tensor,
                  y: torch.Tensor, eval_err: np.ndarray, sr: StudyRun) -> list[dict[str, Any]]:
    """MC-dropout error for sizes 1..t_max for seed 0 of each stochastic variant of ``mc_inits``."""
    chosen = [g for g in groups if g.init in st.mc_inits and VARIANTS[g.variant].stochastic]
    advance = sr.task(f"MC dropout: {len(chosen)} x {st.t_max} passes", len(chosen) * st.t_max)
    out = []
    for g in chosen:
        k = g.members[0]
        mw = MemberWeights.of(trained.best_model, k)
        t0 = time.perf_counter()
        errors = ensemble_errors(mw, x, y, st.t_max, advance)
        secs = time.perf_counter() - t0
        out.append({"group": g.key, "init": g.init, "variant": g.variant, "member": k, "seed": mw.seed,
                    "errors": errors, "eval_mode_error": float(eval_err[k]), "seconds": secs,
                    "flops": st.t_max * mw.flops_per_pass(x.shape[0])})
    return out


def _eval_errors(model, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    loss, acc = evaluate(model, x, y)
    return loss.cpu().numpy().astype(np.float64), 1.0 - acc.cpu().numpy().astype(np.float64)


def run(st: DropoutSettings, sr: StudyRun) -> dict[str, Any]:
    """Train, ensemble and check into ``sr.folder``; returns the study's results (``summary.results``)."""
    device = sr.device
    torch.manual_seed(st.run_seed)
    with sr.timed("data"):
        dataset = load_data(st)
    cfg = base_config(st, len(dataset.train.y))
    members, groups = make_members(st)
    n_mc = min(st.mc_samples, len(dataset.val.y))
    x_mc, y_mc = dataset.val.x[:n_mc].to(device), dataset.val.y[:n_mc].to(device)
    spe = cfg.train.eval_every
    advance = sr.task(f"train {len(members)} members x {cfg.train.steps // spe} epochs", cfg.train.steps)
    trained = train_members(cfg, dataset, members, device, advance)
    sr.timing["train"] = trained.seconds
    with sr.timed("ensembles"):
        _, mc_eval_err = _eval_errors(trained.best_model, x_mc, y_mc)
        test_err = None
        if st.test and len(dataset.test.y) > 0:
            _, test_err = _eval_errors(trained.best_model, dataset.test.x.to(device), dataset.test.y.to(device))
        ensembles = run_ensembles(st, groups, trained, x_mc, y_mc, mc_eval_err, sr)
    with sr.timed("checks"):
        checks = {"loss_at_init": loss_at_init(cfg, st, dataset, device),
                  "loss_dropout_on": loss_at_init_dropout_on(cfg, members, dataset, device),
                  "watch": watch_findings(cfg, st, dataset, device)}
    with sr.timed("write"):
        curves = curve_arrays(trained)
        save_data(sr.folder, curves, trained, ensembles, groups, members, cfg, st)
    return summary.results(st=st, dataset=dataset, groups=groups, curves=curves, trained=trained,
                           mc_eval_err=mc_eval_err, n_mc=n_mc, test_err=test_err, ensembles=ensembles, checks=checks)


def curve_arrays(trained: TrainedVariants) -> dict[str, np.ndarray]:
    """Per epoch (rows) and member (columns): what ``curves.npz`` holds, and the summary reads."""
    a = trained.arrays
    return {"steps": a["steps"], "epoch": a["steps"] // trained.steps_per_epoch,
            "train_loss": a["train_loss"], "val_loss": a["val_loss"],
            "train_error": 1.0 - a["train_acc"], "val_error": 1.0 - a["val_acc"], "best_epoch": trained.best_epoch}


def save_data(folder: Path, curves: dict[str, np.ndarray], trained: TrainedVariants, ensembles: list[dict],
              groups: list[VariantGroup], members: list[Member], cfg: Config, st: DropoutSettings) -> None:
    """The stored data the figures and words read: curves, ensembles, weights, members."""
    _npz(folder / "curves.npz", curves)
    ens = {f"errors__{e['group']}": e["errors"] for e in ensembles}
    ens |= {f"eval_mode__{e['group']}": np.asarray([e["eval_mode_error"]]) for e in ensembles}
    _npz(folder / "ensemble.npz", ens)
    _npz(folder / "first_layer.npz", first_layer_units(trained.best_model, cfg, groups, members))
    write_json_atomic(folder / "members.json", [
        {"id": m.id, "seed": m.seed, "values": m.values, "init": g.init, "variant": g.variant,
         "best_epoch": int(trained.best_epoch[m.id])}
        for g in groups for m in (members[i] for i in g.members)])
    write_json_atomic(folder / "groups.json", [asdict(g) for g in groups])
    write_text_atomic(folder / "config.yaml", to_yaml(cfg))
    if st.save_weights:
        save_weights(folder, trained.best_model.state_dict(), "best_weights.safetensors")


def _npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    write_bytes_atomic(path, buf.getvalue())


def first_layer_units(best_model, cfg: Config, groups: list[VariantGroup],
                      members: list[Member]) -> dict[str, np.ndarray]:
    """Seed 0 of each group: the incoming weights (as 28x28-able vectors) of the units whose
    weights changed most in training, at the best epoch and at init, for the weight figure."""
    out: dict[str, np.ndarray] = {}
    for g in groups:
        k = g.members[0]
        w_best = best_model.weights[0][k].detach().cpu()  # (784, 800)
        w_init = build_population(cfg, [members[k]], w_best.shape[0], best_model.sizes[-1]).weights[0][0]
        change = (w_best - w_init).norm(dim=0)
        units = change.argsort(descending=True)[:N_UNITS_SHOWN]
        out[f"best__{g.key}"] = w_best[:, units].T.numpy()
        out[f"init__{g.key}"] = w_init[:, units].T.numpy()
    return out
