"""`trainlab lab dropout`: seed 000 Part 3, regularization with dropout, checked rather than produced.

The net is the paper's and the lab's 784-800-800-10 ReLU MLP with dropout on the input and after
each hidden layer, biases zero, AdamW at lr 3e-4. Every (init, dropout variant, seed) is one member
of ONE population (dropout rates and init schemes are per-member values), so all variants train in
lockstep, and members with the same seed index share their shuffles and, within an init, their
initial weights: comparisons between variants are paired. Per epoch the loop measures train and
val loss and error in eval mode; each member's best epoch (lowest val error) and its weights are
kept. Then:

- MC-dropout ensembles (``dropout_ensemble``): one seed per dropout variant, T passes, the error of
  every ensemble size 1..T from one sequence of passes, against the eval-mode (weight-scaling)
  error on the same samples; Srivastava et al. 2014's "~50 samples" is checked;
- the set-up itself (``dropout_checks``): loss at init per init reading against ln 10, He init
  trained next to the lab's init, and trainlab.watch findings on an exported member;
- figures (``dropout_figures``) and summary.json (``dropout_report``), built from the folder.

Everything is written into ``out`` atomically: the folder appears complete or not at all.
"""
from __future__ import annotations

import io
import json
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from trainlab.config import Config, build_config, to_yaml
from trainlab.data.images import lab_split, load_image_dataset
from trainlab.env import pick_device, provenance, set_threads
from trainlab.experiments.dropout_checks import init_values, loss_at_init, loss_at_init_dropout_on, watch_findings
from trainlab.experiments.dropout_ensemble import BestEpoch, MemberWeights, best_population, ensemble_errors
from trainlab.experiments.dropout_figures import render_figures
from trainlab.experiments.dropout_report import build_summary, headline
from trainlab.experiments.dropout_settings import INIT_CHOICES, VARIANTS, DropoutSettings, resolve_settings
from trainlab.experiments.registry import Study, StudyOptions, register
from trainlab.loop import evaluate
from trainlab.members import Member
from trainlab.runner import run_population
from trainlab.runs.io import atomic_dir, write_bytes_atomic, write_json_atomic, write_text_atomic
from trainlab.runs.store import save_weights


@dataclass
class Group:
    """The members of one (init, variant): their indices in the population, in seed order."""

    init: str
    variant: str
    members: list[int]

    @property
    def key(self) -> str:
        return f"{self.init}__{self.variant}"


def make_members(settings: DropoutSettings) -> tuple[list[Member], list[Group]]:
    """Members in (init, variant, seed) order; seed s of every group uses member seed s."""
    members: list[Member] = []
    groups: list[Group] = []
    for init in settings.inits:
        for name in settings.variants:
            v = VARIANTS[name]
            ids = []
            for s in range(settings.seeds):
                ids.append(len(members))
                members.append(Member(len(members), s, init_values(init, v.p_input, v.p_hidden)))
            groups.append(Group(init, name, ids))
    return members, groups


def base_config(settings: DropoutSettings, opts: StudyOptions, n_train: int) -> Config:
    """The structure and training set-up shared by all members (members carry init and rates)."""
    steps_per_epoch = max(n_train // settings.batch_size, 1)  # as trainlab.loop.batch_indices
    return build_config({
        "data": {"name": opts.dataset, "n_train": settings.n_train, "n_val": settings.n_val,
                 "data_dir": opts.data_dir},
        "model": {"hidden": list(settings.hidden), "activation": "relu",
                  "init": {"scheme": "normal", "std": INIT_CHOICES["lab"].std}, "bias_init": {"scheme": "zeros"}},
        "optim": {"name": "adamw", "lr": settings.lr, "weight_decay": settings.weight_decay},
        "train": {"steps": settings.epochs * steps_per_epoch, "batch_size": settings.batch_size,
                  "eval_every": steps_per_epoch, "loss": "cross_entropy"},
        "population": {"seeds": settings.seeds},
        "run": {"name": "dropout", "seed": settings.run_seed, "device": opts.device, "threads": opts.threads,
                "memory_budget_mb": settings.memory_budget_mb, "save_weights": settings.save_weights},
    })


def _progress(quiet: bool):
    """Rich progress bars on stderr, or nothing when quiet."""
    if quiet:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False)


def _task(bar, description: str, total: int):
    """A ``progress(n, total=None)`` callback driving one bar task (a no-op without bars)."""
    if bar is None:
        return lambda n, total=None: None
    task = bar.add_task(description, total=total)

    def advance(n: int, total: Optional[int] = None) -> None:
        if total is not None:
            bar.update(task, total=total)
        bar.advance(task, n)
    return advance


@dataclass
class Trained:
    """What training left: per-epoch arrays (rows = epochs 0..E), best epochs and weights."""

    arrays: dict[str, np.ndarray]
    best_model: Any  # PopulationMLP at each member's best epoch
    best_epoch: np.ndarray
    steps_per_epoch: int
    seconds: float


def train(cfg: Config, dataset, members: list[Member], device: torch.device, bar) -> Trained:
    """Train the whole population once; the BestEpoch callback keeps each member's best weights."""
    t0 = time.perf_counter()
    spe = cfg.train.eval_every
    trackers: list[BestEpoch] = []

    def callbacks(chunk: Optional[list[Member]] = None) -> list[BestEpoch]:
        trackers.append(BestEpoch(spe))
        return [trackers[-1]]

    progress = _task(bar, f"train {len(members)} members x {cfg.train.steps // spe} epochs", cfg.train.steps)
    model, fits, arrays = run_population(cfg, dataset, members, device, callbacks, progress)
    best_model, best_epoch = best_population(model, trackers)
    return Trained(arrays, best_model.to(model.device), best_epoch, spe, time.perf_counter() - t0)


def run_ensembles(settings: DropoutSettings, groups: list[Group], trained: Trained, x: torch.Tensor,
                  y: torch.Tensor, eval_err: np.ndarray, bar) -> list[dict[str, Any]]:
    """MC-dropout error for sizes 1..t_max for seed 0 of each stochastic variant of ``mc_inits``."""
    chosen = [g for g in groups if g.init in settings.mc_inits and VARIANTS[g.variant].stochastic]
    progress = _task(bar, f"MC dropout: {len(chosen)} x {settings.t_max} passes", len(chosen) * settings.t_max)
    out = []
    for g in chosen:
        k = g.members[0]
        mw = MemberWeights.of(trained.best_model, k)
        t0 = time.perf_counter()
        errors = ensemble_errors(mw, x, y, settings.t_max, progress)
        secs = time.perf_counter() - t0
        out.append({"group": g.key, "init": g.init, "variant": g.variant, "member": k, "seed": mw.seed,
                    "errors": errors, "eval_mode_error": float(eval_err[k]), "seconds": secs,
                    "flops": settings.t_max * mw.flops_per_pass(x.shape[0])})
    return out


def _data(opts: StudyOptions, settings: DropoutSettings):
    from rich.console import Console

    console = Console(stderr=True)  # a fallback is always said, quiet or not
    data = load_image_dataset(opts.dataset, data_dir=opts.data_dir, console=console)
    return lab_split(data, n_train=settings.n_train, n_val=settings.n_val, seed=settings.run_seed,
                     use_test=opts.test)


def _eval_errors(model, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    loss, acc = evaluate(model, x, y)
    return loss.cpu().numpy().astype(np.float64), 1.0 - acc.cpu().numpy().astype(np.float64)


def run_dropout(out: Path, opts: StudyOptions) -> dict:
    """Run the study into ``out`` (atomically) and return its summary."""
    t_start = time.perf_counter()
    settings = resolve_settings(opts.quick, opts.seeds, opts.extra)
    set_threads(opts.threads)
    device = pick_device(opts.device)
    torch.manual_seed(settings.run_seed)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    dataset = _data(opts, settings)
    timing["data"] = time.perf_counter() - t0
    cfg = base_config(settings, opts, len(dataset.train.y))
    members, groups = make_members(settings)
    n_mc = min(settings.mc_samples, len(dataset.val.y))
    x_mc, y_mc = dataset.val.x[:n_mc].to(device), dataset.val.y[:n_mc].to(device)
    with _progress(opts.quiet) as bar:
        trained = train(cfg, dataset, members, device, bar)
        timing["train"] = trained.seconds
        t0 = time.perf_counter()
        _, mc_eval_err = _eval_errors(trained.best_model, x_mc, y_mc)
        test_err = None
        if opts.test and len(dataset.test.y) > 0:
            _, test_err = _eval_errors(trained.best_model, dataset.test.x.to(device), dataset.test.y.to(device))
        ensembles = run_ensembles(settings, groups, trained, x_mc, y_mc, mc_eval_err, bar)
        timing["ensembles"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    checks = {"loss_at_init": loss_at_init(cfg, settings, dataset, device),
              "loss_dropout_on": loss_at_init_dropout_on(cfg, members, dataset, device),
              "watch": watch_findings(cfg, settings, dataset, device)}
    timing["checks"] = time.perf_counter() - t0
    with atomic_dir(Path(out)) as tmp:
        t0 = time.perf_counter()
        _write_arrays(tmp, trained, ensembles, groups, members, cfg, settings)
        summary = build_summary(settings=settings, dataset=dataset, groups=groups, trained=trained,
                                mc_eval_err=mc_eval_err, n_mc=n_mc, test_err=test_err, ensembles=ensembles,
                                checks=checks, quick=opts.quick)
        summary["figures"], notes = render_figures(tmp)
        summary["observations"] += notes
        timing["write"] = time.perf_counter() - t0
        summary["timing"] = timing
        summary["seconds"] = time.perf_counter() - t_start
        summary["provenance"] = provenance(device) | {"settings": _jsonable(asdict(settings)),
                                                      "options": {"quick": opts.quick, "seeds": opts.seeds,
                                                                  "dataset": opts.dataset, "test": opts.test}}
        write_json_atomic(tmp / "summary.json", summary)
    return summary


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=list))


def _write_arrays(folder: Path, trained: Trained, ensembles: list[dict], groups: list[Group],
                  members: list[Member], cfg: Config, settings: DropoutSettings) -> None:
    """The stored data the figures and any later report read: curves, ensembles, weights, members."""
    a = trained.arrays
    curves = {"steps": a["steps"], "epoch": a["steps"] // trained.steps_per_epoch,
              "train_loss": a["train_loss"], "val_loss": a["val_loss"],
              "train_error": 1.0 - a["train_acc"], "val_error": 1.0 - a["val_acc"], "best_epoch": trained.best_epoch}
    _npz(folder / "curves.npz", curves)
    ens = {f"errors__{e['group']}": e["errors"] for e in ensembles}
    ens |= {f"eval_mode__{e['group']}": np.asarray([e["eval_mode_error"]]) for e in ensembles}
    _npz(folder / "ensemble.npz", ens)
    first = first_layer_units(trained.best_model, cfg, groups, members)
    _npz(folder / "first_layer.npz", first)
    write_json_atomic(folder / "members.json", [
        {"id": m.id, "seed": m.seed, "values": m.values, "init": g.init, "variant": g.variant,
         "best_epoch": int(trained.best_epoch[m.id])}
        for g in groups for m in (members[i] for i in g.members)])
    write_json_atomic(folder / "groups.json", [asdict(g) for g in groups])
    write_text_atomic(folder / "config.yaml", to_yaml(cfg))
    if settings.save_weights:
        save_weights(folder, trained.best_model.state_dict(), "best_weights.safetensors")


def _npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    write_bytes_atomic(path, buf.getvalue())


N_UNITS_SHOWN = 10  # first-layer units drawn per variant


def first_layer_units(best_model, cfg: Config, groups: list[Group], members: list[Member]) -> dict[str, np.ndarray]:
    """Seed 0 of each group: the incoming weights (as 28x28-able vectors) of the units whose
    weights changed most in training, at the best epoch and at init, for the weight figure."""
    from trainlab.runner import build_population

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


register(Study(name="dropout", title="Part 3: Regularization with dropout", run=run_dropout,
               schema="dropout.schema.json", headline=headline, order=30))
