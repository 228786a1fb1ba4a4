"""Figures for `trainlab train` run folders, built from what the store holds.

Each figure function declares the metrics it ``requires``; ``render_train_figures`` skips a figure
with a note when its data is missing, instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.runs.io import write_json_atomic  # noqa: E402
from trainlab.runs.store import RunFolder  # noqa: E402
from trainlab.stats import summarize  # noqa: E402


@dataclass(frozen=True)
class Figure:
    file: str
    caption: str
    requires: tuple[str, ...]
    draw: Callable[[dict[str, np.ndarray], Path], None]


def _band(ax, steps, arr, label, color=None):
    med = np.nanmedian(arr, axis=1)
    lo, hi = np.nanpercentile(arr, 10, axis=1), np.nanpercentile(arr, 90, axis=1)
    line, = ax.plot(steps, med, label=label, color=color)
    ax.fill_between(steps, lo, hi, alpha=0.2, color=line.get_color())


def _loss_curves(m, path):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    _band(ax, m["steps"], m["train_loss"], "train")
    if "val_loss" in m:
        _band(ax, m["steps"], m["val_loss"], "validation")
    ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="cross-entropy loss (log scale)", title="Loss: median over members, 10-90% band")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _acc_curves(m, path):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    _band(ax, m["steps"], 100 * m["train_acc"], "train")
    if "val_acc" in m:
        _band(ax, m["steps"], 100 * m["val_acc"], "validation")
    ax.set(xlabel="step", ylabel="accuracy (%)", title="Accuracy: median over members, 10-90% band")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


TRAIN_FIGURES = [
    Figure("loss_curves.png", "Training and validation loss per evaluation step (median over members, 10-90% band).",
           ("steps", "train_loss"), _loss_curves),
    Figure("accuracy_curves.png", "Training and validation accuracy (median over members, 10-90% band).",
           ("steps", "train_acc"), _acc_curves),
]


def train_observations(summary: dict, metrics: dict[str, np.ndarray]) -> list[str]:
    """Sentences computed from the stored numbers."""
    obs = []
    init, ln_c = summary["loss_at_init"], summary.get("ln_n_classes")
    if init.get("median") is not None and ln_c:
        rel = abs(init["median"] - ln_c) / ln_c
        verdict = "as expected for an untrained classifier" if rel < 0.2 else "far from it: check the init scale and inputs"
        obs.append(f"Loss at init {init['median']:.3f} [{init['lo']:.3f}, {init['hi']:.3f}] against ln C = {ln_c:.3f}: {verdict}.")
    if "val_acc" in metrics and metrics["val_acc"].size:
        va = summarize(metrics["val_acc"][-1])
        if va["median"] is not None:
            obs.append(f"Final validation accuracy {100 * va['median']:.1f}% [{100 * va['lo']:.1f}, {100 * va['hi']:.1f}] "
                       f"over {va['n']} members.")
        if "train_acc" in metrics:
            gap = metrics["train_acc"][-1] - metrics["val_acc"][-1]
            g = summarize(gap)
            if g["median"] is not None:
                obs.append(f"Train minus validation accuracy at the end: {100 * g['median']:.1f} points "
                           f"[{100 * g['lo']:.1f}, {100 * g['hi']:.1f}].")
    n_frozen = len(summary.get("frozen", []))
    if n_frozen:
        obs.append(f"{n_frozen} member(s) went non-finite and were frozen: {summary['frozen'][0]['message']} (first).")
    return obs


def render_train_figures(folder: Path) -> dict:
    """Draw the train figures into ``folder`` and add figures/observations/tables to its summary."""
    rf = RunFolder.load(folder)
    figures, notes = [], []
    for f in TRAIN_FIGURES:
        missing = [r for r in f.requires if r not in rf.metrics]
        if missing:
            notes.append(f"{f.file} skipped: the run stored no {', '.join(missing)}")
            continue
        f.draw(rf.metrics, Path(folder) / f.file)
        figures.append({"file": f.file, "caption": f.caption})
    s = rf.summary
    table = {"title": "Final metrics over members: median [95% CI]", "columns": ["metric", "value"],
             "rows": [[k, v] for k, v in s["final"].items()] + [["loss at init", s["loss_at_init"]]]}
    s = s | {"figures": figures, "observations": train_observations(s, rf.metrics) + notes, "tables": [table],
             "title": f"trainlab train: {s.get('name', Path(folder).name)}"}
    write_json_atomic(Path(folder) / "summary.json", s)
    return s


