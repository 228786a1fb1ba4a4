"""Figures of the augmentation study, drawn from the folder alone (summary.json, curves.npz, examples.npz).

- ``curves.png``: training and val error per epoch, with and without shifts (median, IQR band);
- ``errors.png``: each seed's final training and val error in both arms, joined by a line (paired);
- ``examples.png``: training images and their shifted versions, with the offsets;
- ``norms_*.png``: per-layer gradient, weight and bias norms and update ratios of both arms
  (``report.norms``, from metrics.npz and groups.json).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.report.figures import Figure, band_iqr  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402

COLORS = {"none": "#1f77b4", "shift": "#d62728"}


def _curves(run: RunData):
    c = run.npz("curves.npz")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, key, title in ((axes[0], "train_err", "training error (original images)"),
                           (axes[1], "val_err", "val error")):
        for i, arm in enumerate(run.summary["arms"]):
            band_iqr(ax, c["epoch"], 100 * c[key][:, i, :], color=COLORS[arm["name"]], label=arm["label"])
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("error, % (median, IQR band)")
    axes[0].legend(fontsize=8)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.92, wspace=0.08)
    return fig


def _errors(run: RunData):
    c = run.npz("curves.npz")
    arms = run.summary["arms"]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, key, title in ((axes[0], "train_err", "training error"), (axes[1], "val_err", "val error")):
        last = 100 * c[key][-1]  # (arms, seeds)
        for s in range(last.shape[1]):
            ax.plot(range(len(arms)), last[:, s], "-o", color="grey", alpha=0.6, ms=3)
        ax.plot(range(len(arms)), np.median(last, axis=1), "-s", color="k", ms=6, label="median")
        ax.set_xticks(range(len(arms)), [a["label"] for a in arms])
        ax.set_title(title + ", after the last epoch")
        ax.set_ylabel("%")
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.1, top=0.9, wspace=0.3)
    return fig


def _examples(run: RunData):
    e = run.npz("examples.npz")
    n = len(e["labels"])
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 3.0), squeeze=False)
    for j in range(n):
        for r, key in enumerate(("original", "shifted")):
            ax = axes[r, j]
            ax.imshow(e[key][j].reshape(28, 28), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        dy, dx = (int(v) for v in e["offsets"][j])
        axes[0, j].set_title(f"label {int(e['labels'][j])}", fontsize=8)
        axes[1, j].set_title(f"dy={dy:+d} dx={dx:+d}", fontsize=8)
    axes[0, 0].set_ylabel("original", fontsize=8)
    axes[1, 0].set_ylabel("shifted", fontsize=8)
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.02, top=0.9, hspace=0.3)
    return fig


FIGURES = (
    Figure("curves.png", _curves, lambda run: (
        f"Training error (on the original, unshifted images) and val error per epoch, with and without random shifts "
        f"of up to {run.summary['task']['max_shift']} pixels: median and interquartile band over "
        f"{run.summary['task']['seeds']} seeds."), requires=("curves.npz",)),
    Figure("errors.png", _errors, "Each seed's error after the last epoch in both arms, joined by a line (the same "
           "seed: the same initial weights and mini-batches); black: the median.", requires=("curves.npz",)),
    Figure("examples.png", _examples, "Training images (top) and the same images as the first shifted member draws "
           "them at step 0 (bottom), with the offsets in pixels; borders filled with the blank pixel's value.",
           requires=("examples.npz",)),
    norm_figures("metrics.npz", lambda run: run.json("groups.json"), prefix="norms", what="with and without shifts",
                 xlabel="step (mini-batch updates)"),
)
KEY_FIGURES = ("curves.png", "examples.png")
