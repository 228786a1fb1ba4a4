"""Assemble and run a config: data -> population -> fit (in memory-bounded chunks) -> run folder.

This module only connects stages; each stage knows nothing of the later ones.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from trainlab.config import Config, DataConfig, to_yaml
from trainlab.env import pick_device, provenance, set_threads
from trainlab.errors import UsageError, unknown_choice
from trainlab.loop import FitResult, TrainSpec, fit
from trainlab.members import Member, MemberTable, resolve_members
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer
from trainlab.per_config import config_rows, default_metric, write_configs_csv
from trainlab.runs.store import write_run
from trainlab.schedules import make_schedule
from trainlab.stats import summarize

def load_data(cfg: DataConfig, seed: int, console: Any = None):
    """The config's dataset (a ``trainlab.data.toy.Dataset``), transforms applied."""
    from trainlab.data.images import IMAGE_DATASETS, lab_split, load_image_dataset
    from trainlab.data.toy import TOY_GENERATORS, make_toy
    from trainlab.data.transforms import apply_transforms

    if cfg.name in TOY_GENERATORS:
        ds = make_toy(cfg.name, cfg.n_train, cfg.n_val, cfg.n_test, seed, **cfg.params)
    elif cfg.name in IMAGE_DATASETS:
        data = load_image_dataset(cfg.name, data_dir=cfg.data_dir, console=console)
        ds = lab_split(data, n_train=cfg.n_train, n_val=cfg.n_val, seed=seed, use_test=cfg.n_test > 0)
    else:
        raise UsageError(unknown_choice("dataset", cfg.name, [*TOY_GENERATORS, *IMAGE_DATASETS]))
    if cfg.transforms:
        ds = apply_transforms(ds, cfg.transforms)
    return ds


def build_population(cfg: Config, members: MemberTable | Sequence[Member], input_dim: int,
                     n_classes: int) -> PopulationMLP:
    """Initialize every member from its row of the table (a list of members is resolved first)."""
    table = members if isinstance(members, MemberTable) else resolve_members(cfg, members)
    bias = cfg.model.bias_init
    inits = [MemberInit(seed, scheme, float(scale), bias.scheme, bias.value)
             for seed, scheme, scale in zip(table.seeds, table.init_scheme, table.init_scale.tolist())]
    sizes = [input_dim, *cfg.model.hidden, n_classes]
    return PopulationMLP.create(
        sizes, cfg.model.activation, inits, run_seed=cfg.run.seed, maxout_k=cfg.model.maxout_k,
        p_input=table.dropout_input, p_hidden=table.dropout_hidden,
        input_scale=table.data_scale, input_offset=table.data_offset,
    )


def build_optimizer(cfg: Config, members: MemberTable | Sequence[Member], params: list[torch.Tensor]) -> PopulationOptimizer:
    """The config's optimizer over ``params``, with each member's hyperparameters from the table."""
    table = members if isinstance(members, MemberTable) else resolve_members(cfg, members)
    hp = {key: col.to(params[0].device) for key, col in table.optim.items()}
    sc = cfg.optim.schedule
    schedule = make_schedule(sc.name, cfg.train.steps, step_size=sc.step_size, gamma=sc.gamma, decay=sc.decay,
                             min_factor=sc.min_factor)
    return PopulationOptimizer(cfg.optim.name, params, hp, schedule)


def train_spec(cfg: Config, table: MemberTable, device) -> TrainSpec:
    """What ``fit`` needs: the config's training settings and the members' penalty strengths and bounds."""
    return TrainSpec(steps=cfg.train.steps, batch_size=cfg.train.batch_size, eval_every=cfg.train.eval_every,
                     val_at_init=cfg.train.val_at_init,
                     loss=cfg.train.loss, l1=table.l1.to(device), l2=table.l2.to(device),
                     max_norm=None if table.max_norm is None else table.max_norm.to(device),
                     record_norms=cfg.train.record_norms)


def chunk_size(cfg: Config, n_rows: int, input_dim: int, n_classes: int) -> int:
    """Members per chunk so that activations and optimizer state fit ``run.memory_budget_mb``."""
    widths = [input_dim, *cfg.model.hidden, n_classes]
    pieces = cfg.model.maxout_k if cfg.model.activation == "maxout" else 1
    batch = min(cfg.train.batch_size or n_rows, n_rows)
    n_params = sum(a * b * pieces + b * pieces for a, b in zip(widths[:-1], widths[1:]))
    act_bytes = 4 * 6 * max(batch, min(8192, max(cfg.data.n_val, n_rows))) * sum(w * pieces for w in widths)
    per_member = act_bytes + 4 * 6 * n_params
    return max(1, int(cfg.run.memory_budget_mb * 2**20 // per_member))


@dataclass
class RunResult:
    """A finished (or, after Ctrl-C, partial: ``interrupted``) run of a config."""

    model: PopulationMLP
    members: list[Member]
    arrays: dict[str, np.ndarray]
    fits: list[FitResult]
    summary: dict
    dataset: Any

    @property
    def interrupted(self) -> bool:
        return self.summary.get("status") == "interrupted"


def run_population(cfg: Config, dataset, members: MemberTable | Sequence[Member] | None = None,
                   device: str | torch.device = "cpu",
                   callbacks_factory: Optional[Callable[[list[Member]], list]] = None,
                   progress: Optional[Callable[..., None]] = None) -> tuple[PopulationMLP, list[FitResult], dict]:
    """Train the members in chunks that fit the memory budget; chunking changes no member's result.

    ``members``: a resolved table, or members to resolve (default: the config's population block).
    ``callbacks_factory(chunk_members)`` gives fresh callbacks for each chunk.
    """
    table = members if isinstance(members, MemberTable) else resolve_members(cfg, members)
    dev = torch.device(device)
    n_train, batch = len(dataset.train.y), cfg.train.batch_size
    if batch is not None and batch > n_train:
        raise UsageError(f"train.batch_size={batch} is larger than the {n_train} training points; use at most "
                         f"{n_train}, or leave it unset (null) for full-batch gradient descent")
    tr = (dataset.train.x.to(dev), dataset.train.y.to(dev))
    va = (dataset.val.x.to(dev), dataset.val.y.to(dev))
    size = chunk_size(cfg, tr[0].shape[0], dataset.input_dim, dataset.n_classes)
    if progress is not None:
        progress(0, total=cfg.train.steps * -(-len(table) // size))
    parts, fits = [], []
    for start in range(0, len(table), size):
        chunk = table.rows(start, start + size)
        model = build_population(cfg, chunk, dataset.input_dim, dataset.n_classes).to(dev)
        opt = build_optimizer(cfg, chunk, model.parameters())
        res = fit(model, opt, tr, va, train_spec(cfg, chunk, dev),
                  callbacks=callbacks_factory(list(chunk.members)) if callbacks_factory else None, progress=progress)
        parts.append(res.model)
        fits.append(res)
        if res.interrupted:  # Ctrl-C: the remaining chunks are not started
            break
    model = parts[0] if len(parts) == 1 else PopulationMLP.concat(parts)
    arrays = _merge_histories(fits)
    return model, fits, arrays


def _merge_histories(fits: list[FitResult]) -> dict[str, np.ndarray]:
    """Concatenate chunk histories along the member axis (chunks that stopped early are padded with NaN).

    Metrics are (evaluations, members); the per-layer norms (evaluations, members, layers)."""
    all_steps = sorted({s for f in fits for s in f.history.steps})
    out: dict[str, np.ndarray] = {"steps": np.asarray(all_steps, dtype=np.int64)}
    names = [*fits[0].history.metrics, *fits[0].history.layers]
    for name in names:
        cols = []
        for f in fits:
            a = f.history.array(name)
            full = np.full((len(all_steps), *a.shape[1:]), np.nan)
            pos = [all_steps.index(s) for s in f.history.steps]
            full[pos] = a
            cols.append(full)
        out[name] = np.concatenate(cols, axis=1)
    return out


def run_config(cfg: Config, out: Optional[Path] = None, console: Any = None,
               progress: Optional[Callable[..., None]] = None, tensorboard: bool = False,
               members: Optional[MemberTable] = None,
               finish: Optional[Callable[[Path, dict, dict], dict]] = None) -> RunResult:
    """Run a config end to end and, when ``out`` is given, write its run folder.

    ``train.early_stopping`` adds per-member early stopping; ``tensorboard`` writes event files
    into ``out/tensorboard``. ``members``: the config's table when the caller resolved it already.
    ``finish(out, summary, arrays)`` completes the summary before the folder is written (the CLI
    draws the figures there and adds their words): written once.
    """
    set_threads(cfg.run.threads)
    device = pick_device(cfg.run.device)
    torch.manual_seed(cfg.run.seed)
    t0 = time.perf_counter()
    dataset = load_data(cfg.data, cfg.run.seed, console)
    table = members if members is not None else resolve_members(cfg)
    stoppers: list = []
    if tensorboard and out is None:
        raise UsageError("--tensorboard needs an output folder")

    def callbacks_factory(chunk: list[Member]) -> list:
        cbs: list = []
        if cfg.train.early_stopping is not None:
            from trainlab.callbacks import EarlyStopping

            stoppers.append(EarlyStopping(**cfg.train.early_stopping.model_dump()))
            cbs.append(stoppers[-1])
        if tensorboard:
            from trainlab.tensorboard import TensorBoardCallback

            probe = (dataset.val.x if len(dataset.val) else dataset.train.x,
                     dataset.val.y if len(dataset.val) else dataset.train.y)
            cbs.append(TensorBoardCallback(Path(out) / "tensorboard" / f"members_{chunk[0].id}-{chunk[-1].id}",
                                           (probe[0].to(device), probe[1].to(device)), [m.id for m in chunk],
                                           cfg.train.loss))
        return cbs
    model, fits, arrays = run_population(cfg, dataset, table, device, callbacks_factory, progress)
    interrupted = any(f.interrupted for f in fits)
    members = list(table.members[:sum(f.model.K for f in fits)])  # an interrupt leaves later chunks untrained
    frozen = {}
    offset = 0
    for f in fits:
        for k, info in f.frozen.items():
            frozen[members[offset + k].id] = info
        offset += f.model.K
    last = {k: v[-1] for k, v in arrays.items() if k != "steps" and v.ndim == 2}  # not the per-layer norms
    member_rows = []
    for j, m in enumerate(members):
        member_rows.append({"id": m.id, "seed": m.seed, "values": m.values, "frozen": frozen.get(m.id),
                            **{f"final_{k}": float(v[j]) for k, v in last.items()},
                            "loss_at_init": float(arrays["train_loss"][0, j])})
    rank_metric = default_metric(member_rows)
    summary = {
        "experiment": "train",
        "name": cfg.run.name,
        "status": "interrupted" if interrupted else "ok",
        "members": len(members),
        "data_source": dataset.source,
        "data_notes": list(dataset.notes),
        "final": {k: summarize(v) for k, v in last.items()},
        "loss_at_init": summarize(arrays["train_loss"][0]),
        "rank_metric": rank_metric,
        "configs": config_rows(member_rows, rank_metric),  # per configuration over its seeds, best first
        "ln_n_classes": math.log(dataset.n_classes),
        "stops": [f.stop.to_json() for f in fits],
        "frozen": [{"member": mid} | info for mid, info in sorted(frozen.items())],
        "early_stopping": _early_events(stoppers, fits, members),
        "seconds": time.perf_counter() - t0,
        "provenance": provenance(device),
    }
    if out is not None and finish is not None:
        summary = finish(Path(out), summary, arrays)
    if out is not None:
        write_configs_csv(Path(out), summary["configs"])
        write_run(Path(out), to_yaml(cfg), arrays, member_rows, summary,
                  model.state_dict() if cfg.run.save_weights else None)
    return RunResult(model, members, arrays, fits, summary, dataset)


def _early_events(stoppers: list, fits: list[FitResult], members: list[Member]) -> list[dict]:
    """Early-stopping events with member ids (chunk-local indices mapped back)."""
    out, offset = [], 0
    for es, f in zip(stoppers, fits):
        out += [e | {"member": members[offset + e["member"]].id} for e in es.events]
        offset += f.model.K
    return out
