"""`trainlab lab shallow`: seed 000 Part 1, initialization of a shallow network, with seeds.

The lab's set-up: circles (radii 1 and 2, noise 0.15), 100 training and 10,000 validation points;
a 2-6-3-2 ReLU net with weights N(0, sigma^2) (sigma is the standard deviation) and zero biases;
SGD at lr 0.1 on the full batch, cross-entropy, 1000 steps. The study

- sweeps sigma over a log grid (every sigma x seed is a member of ONE population), checks the loss at
  init against ln 2, labels each seed with a measured regime (``shallow_regimes``) and each sigma with
  the majority, and picks the lab's small / good / large sigma automatically;
- trains Glorot (normal, uniform), He (normal, uniform) and PyTorch's default next to the sweep;
- scales the data instead of the init, moves the circles to (10, 10) raw and standardized, and runs
  the student report's own set-up (AdamW 3e-4, best of several inits, test set) to compare;
- breaks training on purpose (zero / constant init, lr far too high / low, dead ReLUs).

Modules: ``shallow_plan`` (what trains), ``shallow_train`` (training and measuring),
``shallow_summary`` (numbers), ``shallow_text`` (observations, tables), ``shallow_figures``.
Everything is written into the study folder atomically: it appears complete or not at all.
"""
from __future__ import annotations

import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from trainlab.env import pick_device, provenance
from trainlab.experiments.registry import Study, StudyOptions, register
from trainlab.experiments.shallow_figures import draw_figures
from trainlab.experiments.shallow_plan import (
    CENTER, DEAD_BIAS, EVAL_EVERY, LAB_LR, LAB_STEPS, N_CURVE, N_TRAIN, N_VAL, SIGMA_REF, Settings, plan,
    resolve_settings)
from trainlab.experiments.shallow_regimes import criteria_json
from trainlab.experiments.shallow_summary import (
    Results, breaker_rows, loss_exponent, paired_rows, picks, scaling_rows, scheme_rows, sigma_rows)
from trainlab.experiments.shallow_text import headline, observations, tables
from trainlab.experiments.shallow_train import Trained, torch_threads, train_population
from trainlab.runs.io import atomic_dir, write_json_atomic
from trainlab.stats import json_clean

SCHEMA_VERSION = 1
# These nets are tiny (widths 2-6): one thread avoids thread hand-off costs that, on a busy 2-core
# machine, made a training step about 20x slower with 2 threads (K=688: 5 ms vs 90-110 ms per step;
# benchmarks/README.md, "shallow study"). --threads N overrides it.
DEFAULT_THREADS = 1


def _progress(quiet: bool):
    """Rich progress bars on stderr, or nothing when quiet."""
    if quiet:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)


def _task(bar, description: str) -> Optional[Callable[..., None]]:
    """A ``progress(n, total=None)`` callback driving one bar task (None without bars)."""
    if bar is None:
        return None
    task = bar.add_task(description, total=None)

    def advance(n: int, total: Optional[int] = None) -> None:
        if total is not None:
            bar.update(task, total=total)
        bar.advance(task, n)
    return advance


def build_summary(res: Results, st: Settings) -> dict[str, Any]:
    """Every key of summary.json except ``figures`` and ``provenance``."""
    rows = sigma_rows(res)
    picked = picks(rows)
    paired = paired_rows(res, picked["good"])
    schemes = scheme_rows(res, picked["good"])
    for row in schemes:
        row["paired"] = [{"vs": p["b"], "metric": p["metric"], "diff": p["diff"]} for p in paired if p["a"] == row["name"]]
    s: dict[str, Any] = {
        "experiment": "shallow", "schema_version": SCHEMA_VERSION, "seeds": st.seeds, "sigmas": rows,
        "picked": picked, "schemes": schemes, "data_scaling": scaling_rows(res, rows, st),
        "breakers": breaker_rows(res), "regime_criteria": criteria_json(),
    }
    s["observations"] = observations(s, loss_exponent(rows))
    s["tables"] = tables(s, paired)
    return s


def _setup(st: Settings, threads: int) -> dict[str, Any]:
    return {
        "data": f"circles radii (1, 2), noise 0.15, {N_TRAIN} train / {N_VAL} val points (val curves: first {N_CURVE})",
        "network": "2-6-3-2 ReLU, weights N(0, sigma^2) with sigma the standard deviation, biases zero",
        "training": f"SGD lr {LAB_LR}, full batch (GD), cross-entropy, {LAB_STEPS} steps, curves every {EVAL_EVERY} steps",
        "sigmas": list(st.sigmas), "sigma_fixed": SIGMA_REF, "data_scales": [*st.scales, 1.0],
        "center": list(CENTER), "dead_relu_bias": DEAD_BIAS, "variant_steps": st.variant_steps,
        "quick": st.quick, "threads": threads,
    }


def _boundary_members(res: Results, picked: dict[str, Optional[float]]) -> list[dict[str, Any]]:
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


def _member_rows(trained: list[Trained]) -> list[dict[str, Any]]:
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


def write_data(folder: Path, res: Results, trained: list[Trained], picked: dict[str, Optional[float]]) -> None:
    """The raw material of the figures: curves, per-member results, boundary members' weights."""
    from trainlab.runs.store import save_weights

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


def run_shallow(out: Path, opts: StudyOptions) -> dict:
    """Run the study into ``out`` (atomically) and return its summary."""
    t_start = time.perf_counter()
    st = resolve_settings(opts.quick, opts.seeds)
    device = pick_device(opts.device)
    threads = opts.threads if opts.threads is not None else DEFAULT_THREADS
    trained: list[Trained] = []
    with torch_threads(threads), _progress(opts.quiet) as bar:
        for p in plan(st):
            desc = f"shallow/{p.name}: {len(p.members)} members x {p.cfg.train.steps} steps"
            trained.append(train_population(p, device, _task(bar, desc)))
    res = Results(trained)
    summary = build_summary(res, st)
    summary["provenance"] = provenance(device) | {
        "threads_used": threads, "setup": _setup(st, threads),
        "populations": [{"name": t.plan.name, "members": len(t.plan.members), "steps": t.plan.cfg.train.steps,
                         "optimizer": t.plan.cfg.optim.name, "lr": t.plan.cfg.optim.lr,
                         "data": t.plan.cfg.data.model_dump(mode="json"), "seconds": t.seconds} for t in trained],
    }
    with atomic_dir(out) as d:
        write_data(d, res, trained, summary["picked"])
        summary["figures"], notes = draw_figures(d, summary)
        summary["provenance"]["figure_notes"] = notes
        summary["seconds"] = time.perf_counter() - t_start
        summary = json.loads(json.dumps(json_clean(summary), allow_nan=False))
        write_json_atomic(d / "summary.json", summary)
    return summary


register(Study(name="shallow", title="Part 1: Initialization of a shallow network", run=run_shallow,
               schema="shallow.schema.json", headline=headline, order=10))
