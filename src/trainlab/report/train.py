"""Figures and words of a `trainlab train` run folder, built from what the store holds.

``finish_train_run`` is the ``finish`` hook of ``runner.run_config``: it draws the figures into the
run folder (the ``report.figures`` protocol) and returns the summary with its figures,
observations, tables and title, before the summary is written: once.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.report.figures import Figure, band_10_90, render_figures  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402
from trainlab.stats import summarize  # noqa: E402


def _curves(run: RunData, key: str, scale: float, ylabel: str, title: str):
    m = run.npz("metrics.npz")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    band_10_90(ax, m["steps"], scale * m[f"train_{key}"], label="train", alpha=0.2)
    if f"val_{key}" in m:
        band_10_90(ax, m["steps"], scale * m[f"val_{key}"], label="validation", alpha=0.2)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    ax.legend()
    return fig, ax


def loss_curves(run: RunData):
    fig, ax = _curves(run, "loss", 1.0, "cross-entropy loss (log scale)", "Loss: median over members, 10-90% band")
    ax.set_yscale("log")
    fig.tight_layout()
    return fig


def accuracy_curves(run: RunData):
    fig, _ = _curves(run, "acc", 100.0, "accuracy (%)", "Accuracy: median over members, 10-90% band")
    fig.tight_layout()
    return fig


TRAIN_FIGURES = (
    Figure("loss_curves.png", loss_curves,
           "Training and validation loss per evaluation step (median over members, 10-90% band).",
           requires=("metrics.npz:steps", "metrics.npz:train_loss")),
    Figure("accuracy_curves.png", accuracy_curves,
           "Training and validation accuracy (median over members, 10-90% band).",
           requires=("metrics.npz:steps", "metrics.npz:train_acc")),
    norm_figures("metrics.npz", what="all members"),  # none when train.record_norms is off
)


def train_observations(run: RunData) -> list[str]:
    """Sentences computed from the stored numbers."""
    summary, metrics = run.summary, run.npz("metrics.npz")
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
            g = summarize(metrics["train_acc"][-1] - metrics["val_acc"][-1])
            if g["median"] is not None:
                obs.append(f"Train minus validation accuracy at the end: {100 * g['median']:.1f} points "
                           f"[{100 * g['lo']:.1f}, {100 * g['hi']:.1f}].")
    n_frozen = len(summary.get("frozen", []))
    if n_frozen:
        obs.append(f"{n_frozen} member(s) went non-finite and were frozen: {summary['frozen'][0]['message']} (first).")
    return obs


def finish_train_run(folder: Path, summary: dict, arrays: dict[str, np.ndarray]) -> dict:
    """Draw the train figures into ``folder``; the summary with figures, observations, tables, title."""
    run = RunData(folder, summary, files={"metrics.npz": arrays})
    figures, notes = render_figures(TRAIN_FIGURES, run)
    table = {"title": "Final metrics over members: median [95% CI]", "columns": ["metric", "value"],
             "rows": [[k, v] for k, v in summary["final"].items()] + [["loss at init", summary["loss_at_init"]]]}
    return summary | {"figures": figures, "observations": train_observations(run) + notes, "tables": [table],
                      "title": f"trainlab train: {summary.get('name', Path(folder).name)}"}
