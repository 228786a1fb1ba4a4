"""Figures of the preprocessing study, drawn from the folder alone (summary.json, curves.npz).

- ``curves.png``: training loss at every step, each transform at its best learning rate (median and
  interquartile band over seeds, log scale), the target dashed;
- ``conditioning.png``: condition numbers after each transform next to the steps to the target;
- ``steps_vs_lr.png``: steps to the target against the learning rate, one line per transform;
- ``norms*.png``: per-layer norms over training, each transform at its best learning rate.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.report.figures import Figure, band_iqr, errorbars_ci  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

COLORS = {"none": "#7f7f7f", "center": "#1f77b4", "standardize": "#ff7f0e", "pca": "#2ca02c", "whiten": "#d62728"}


def _curves(run: RunData):
    c = run.npz("curves.npz")
    s = run.summary
    seeds = s["task"]["seeds"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for arm in s["arms"]:
        loss = c[f"{arm['name']}_loss"].astype(np.float64)  # (steps + 1, K)
        b = arm["best"]
        part = loss[:, b * seeds:(b + 1) * seeds]
        band_iqr(ax, np.arange(1, len(part) + 1), np.where(np.isfinite(part), part, np.nan),
                 color=COLORS.get(arm["name"]), label=f"{arm['label']} (lr {arm['best_lr']:g})")
    ax.axhline(s["task"]["target"], color="k", ls="--", lw=1, label="target")
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("gradient-descent step + 1 (log)")
    ax.set_ylabel("training loss (median, IQR band)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.13, top=0.97)
    return fig


def _conditioning(run: RunData):
    s = run.summary
    arms = s["arms"]
    x = np.arange(len(arms))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    cov = [a["conditioning"]["covariance"] for a in arms]
    mom = [a["conditioning"]["second_moment"] for a in arms]
    axes[0].bar(x - 0.2, cov, 0.4, label="input covariance")
    axes[0].bar(x + 0.2, mom, 0.4, label="second moment with a bias column")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("condition number (train split)")
    axes[0].legend(fontsize=8)
    best = [a["rates"][a["best"]]["steps"] for a in arms]
    errorbars_ci(axes[1], x, best, fmt="o", color="k")
    budget = s["task"]["steps"]
    axes[1].axhline(budget + 1, color="grey", ls=":", lw=1, label=f"not reached ({budget + 1})")
    axes[1].set_ylabel("GD steps to the target (median, 95% CI)")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xticks(x, [a["name"] for a in arms])
        ax.grid(alpha=0.3, axis="y")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.1, top=0.96, wspace=0.3)
    return fig


def _steps_vs_lr(run: RunData):
    s = run.summary
    budget = s["task"]["steps"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for arm in s["arms"]:
        lrs = [r["lr"] for r in arm["rates"]]
        errorbars_ci(ax, lrs, [r["steps"] for r in arm["rates"]], fmt="o-", color=COLORS.get(arm["name"]),
                     label=arm["label"], ms=4)
    ax.axhline(budget + 1, color="grey", ls=":", lw=1, label="not reached")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("GD steps to the target (median, 95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.13, top=0.97)
    return fig


FIGURES = (
    Figure("curves.png", _curves, lambda run: (
        f"Training loss at every gradient-descent step, each transform at its best learning rate: median and "
        f"interquartile band over {run.summary['task']['seeds']} seeds; dashed: the target."), requires=("curves.npz",)),
    Figure("conditioning.png", _conditioning, "Left: condition numbers on the training split after each transform "
           "(the covariance; and the second moment with a constant column, which the offset inflates). Right: GD "
           "steps to the target at each transform's best learning rate (median, 95% CI)."),
    Figure("steps_vs_lr.png", _steps_vs_lr, "GD steps to the target against the learning rate (median over seeds, "
           "95% CI; a member that never reaches the target counts as the budget + 1)."),
    norm_figures("metrics.npz", lambda run: run.json("groups.json"), prefix="norms",
                 what="each transform at its best lr", xlabel="GD step"),
)
KEY_FIGURES = ("curves.png", "conditioning.png")
