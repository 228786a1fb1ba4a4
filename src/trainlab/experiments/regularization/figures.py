"""Figures of the regularization study, drawn from the folder alone (summary, curves.npz, boundaries.npz).

- ``sweep_val_loss.png`` / ``sweep_val_acc.png``: one panel per regularizer, the metric against its
  strength (median and 95% interval over seeds), training dashed, the unregularized baseline as a
  band, the best strength starred: the under- and over-regularized ends side by side;
- ``weights.png``: weight norm and near-zero fraction against each regularizer's strength rank;
- ``curves.png``: val loss during training, each regularizer at its best strength against none;
- ``boundaries.png``: decision boundaries of seed 0, one row per regularizer, weakest to strongest;
- ``claims.png``: each claim's paired difference with its 95% interval, coloured by verdict;
- ``norms.png``: per-layer weight and gradient norms over training, each optimizer's baseline and
  each regularizer at its best strength (metrics.npz, groups.json).
"""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from trainlab.experiments import claims  # noqa: E402
from trainlab.report.figures import Figure, band_iqr, errorbars_ci  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402

VERDICT_COLORS = {"confirmed": "#2ca02c", "refuted": "#d62728", "inconclusive": "#7f7f7f"}
ARM_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _cfg(run: RunData, i: int) -> dict:
    return run.summary["configs"][i]


def _medians(stats: list[dict]) -> np.ndarray:
    return np.array([np.nan if s["median"] is None else s["median"] for s in stats], dtype=float)


def _sweep(run: RunData, metric: str, train_metric: str, ylabel: str):
    arms = run.summary["arms"]
    ncol = 4
    nrow = math.ceil(len(arms) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.2 * nrow), squeeze=False)
    for ax, arm in zip(axes.flat, arms):
        blocks = [_cfg(run, i) for i in arm["configs"]]
        x = np.array(arm["strengths"], dtype=float)
        base = _cfg(run, arm["baseline"])[metric]
        if base["median"] is not None:
            ax.axhspan(base["lo"], base["hi"], color="grey", alpha=0.2, lw=0)
            ax.axhline(base["median"], color="grey", lw=1, label="none (95% CI)")
        errorbars_ci(ax, x, [b[metric] for b in blocks], color="C0", marker="o", ms=4,
                     label=metric.replace("_", " "))
        ax.plot(x, _medians([b[train_metric] for b in blocks]), "--", color="C1", lw=1,
                label=train_metric.replace("_", " "))
        best = _cfg(run, arm["best"])[metric]
        if best["median"] is not None:
            ax.plot([arm["best_strength"]], [best["median"]], "*", color="k", ms=11, label="best (val loss)")
        ax.set_xscale("log")
        ax.set_xticks(x, [f"{v:g}" for v in x], fontsize=7)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(arm["symbol"] + (" (loosest first)" if arm["symbol"] == "c" else ""))
        if arm["symbol"] == "c":
            ax.invert_xaxis()  # strength grows to the right in every panel
        ax.set_title(arm["label"], fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(arms):]:
        ax.axis("off")
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7)
    t = run.summary["task"]
    fig.suptitle(f"{ylabel} against strength (weak -> strong), {t['seeds']} seeds: median and 95% CI")
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.1, top=0.88, wspace=0.25, hspace=0.5)  # tight_layout: 2 s
    return fig


def _weights(run: RunData):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for color, arm in zip(ARM_COLORS, run.summary["arms"]):
        blocks = [_cfg(run, i) for i in arm["configs"]]
        rank = np.arange(1, len(blocks) + 1)
        axes[0].plot(rank, _medians([b["weight_norm"] for b in blocks]), "o-", color=color, label=arm["label"], ms=3)
        axes[1].plot(rank, _medians([b["near_zero"] for b in blocks]), "o-", color=color, ms=3)
    base = next(c for c in run.summary["configs"] if c["arm"] == "none" and c["optimizer"] == "sgd")
    for ax, key in zip(axes, ("weight_norm", "near_zero")):
        if base[key]["median"] is not None:
            ax.axhline(base[key]["median"], color="grey", ls=":", label="none (SGD)")
        ax.set_xlabel("strength rank (1 = weakest)")
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("norm of all weights (median)")
    thr = run.summary["near_zero_threshold"]
    axes[1].set_ylabel(f"fraction with |w| < {thr:g} max|w|")
    axes[0].legend(fontsize=7)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.95, wspace=0.3)
    return fig


def _curves(run: RunData):
    c = run.npz("curves.npz")
    steps, val = c["steps"], c["val_loss"]  # (evals, configs, seeds)
    s = run.summary
    groups = {"SGD + momentum": [a for a in s["arms"] if a["optimizer"] == "sgd"],
              "Adam / AdamW": [a for a in s["arms"] if a["optimizer"] != "sgd"]}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (title, arms) in zip(axes, groups.items()):
        base = arms[0]["baseline"]
        band_iqr(ax, steps, val[:, base, :], color="k", label="none")
        for color, arm in zip(ARM_COLORS, arms):
            band_iqr(ax, steps, val[:, arm["best"], :], color=color,
                     label=f"{arm['label']} ({arm['symbol']}={arm['best_strength']:g})")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("val loss (median, IQR band)")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.92, wspace=0.2)
    return fig


def _boundaries(run: RunData):
    b = run.npz("boundaries.npz")
    s = run.summary
    arms = s["arms"]
    ncol = 1 + max(len(a["configs"]) for a in arms)
    fig, axes = plt.subplots(len(arms), ncol, figsize=(1.55 * ncol, 1.45 * len(arms)), squeeze=False)
    extent = (b["xs"][0], b["xs"][-1], b["ys"][0], b["ys"][-1])
    x, y = b["train_x"], b["train_y"]
    for r, arm in enumerate(arms):
        cells = [(arm["baseline"], "none")] + [(i, f"{arm['symbol']}={_cfg(run, i)['strength']:g}")
                                               for i in arm["configs"]]
        for col, (i, label) in enumerate(cells):
            ax = axes[r, col]
            p = b["prob"][i].astype(np.float32)
            ax.imshow(p, origin="lower", extent=extent, cmap="RdBu", vmin=0, vmax=1, aspect="auto")
            ax.contour(b["xs"], b["ys"], p, levels=[0.5], colors="k", linewidths=0.7)
            ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu", edgecolors="k", linewidths=0.3, s=6, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(label + (" *" if i == arm["best"] else ""), fontsize=7)
        axes[r, 0].set_ylabel(arm["short"], fontsize=8)
        for col in range(len(cells), ncol):
            axes[r, col].axis("off")
    fig.suptitle("Decision boundaries (seed 0), weakest to strongest; * best by val loss", fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.01, top=0.94, wspace=0.05, hspace=0.35)
    return fig


def _claims(run: RunData):
    cs = run.summary["claims"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.4 * len(cs) + 1.5), gridspec_kw={"width_ratios": [2, 1]})
    loss = [c for c in cs if c["metric"] == "test loss"]
    other = [c for c in cs if c["metric"] != "test loss"]
    for ax, group, title in ((axes[0], loss, "test loss, a - b"), (axes[1], other, "other claims, a - b")):
        for j, c in enumerate(group):
            d = c["difference"]
            if d["median"] is None:
                continue
            color = VERDICT_COLORS[claims.verdict(c)]
            ax.errorbar([d["median"]], [j], xerr=[[d["median"] - d["lo"]], [d["hi"] - d["median"]]], fmt="o",
                        color=color, capsize=3)
            if c.get("tol"):
                ax.fill_betweenx([j - 0.3, j + 0.3], -c["tol"], c["tol"], color=color, alpha=0.15, lw=0)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(group)), [c["short"] for c in group], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.invert_yaxis()
        ax.grid(alpha=0.3, axis="x")
    handles = [plt.Line2D([], [], marker="o", ls="", color=col, label=v) for v, col in VERDICT_COLORS.items()]
    axes[1].legend(handles=handles, fontsize=7)
    fig.suptitle("Claims: paired difference per seed, median and 95% interval; colour = verdict", fontsize=9)
    fig.subplots_adjust(left=0.14, right=0.98, bottom=0.08, top=0.9, wspace=0.45)
    return fig


def _seeds(run: RunData) -> int:
    return run.summary["task"]["seeds"]


FIGURES = (
    Figure("sweep_val_loss.png", lambda run: _sweep(run, "val_loss", "train_loss", "val loss"),
           lambda run: f"Val loss against each regularizer's strength, weakest to strongest (median and 95% CI over "
                       f"{_seeds(run)} seeds); dashed: training loss; grey band: no regularization; star: the best "
                       "strength. The gap between the dashed and the solid line is the overfitting."),
    Figure("sweep_val_acc.png", lambda run: _sweep(run, "val_acc", "train_acc", "val accuracy"),
           "Val accuracy against each regularizer's strength; dashed: training accuracy; grey band: none."),
    Figure("weights.png", _weights,
           lambda run: f"Left: norm of all weights; right: fraction of weights with |w| < "
                       f"{run.summary['near_zero_threshold']:g} max|w|, against strength rank (median over seeds)."),
    Figure("curves.png", _curves, "Val loss during training: each regularizer at its best strength against none "
                                  "(median and interquartile band over seeds).", requires=("curves.npz",)),
    Figure("boundaries.png", _boundaries, "Decision boundaries of seed 0 (P(class 1), black line at 0.5) with the 50 "
                                          "training points: one row per regularizer, no regularization first, then "
                                          "weakest to strongest.", requires=("boundaries.npz",)),
    Figure("claims.png", _claims, "Every claim's paired difference (a - b per seed): median and 95% interval; green "
                                  "confirmed, red refuted, grey inconclusive; a shaded band is an equivalence "
                                  "claim's tolerance."),
    norm_figures("metrics.npz", lambda run: run.json("groups.json"), prefix="norms",
                 quantities=("weight_norm", "grad_norm"), what="none and each regularizer at its best strength"),
)
KEY_FIGURES = ("sweep_val_loss.png", "boundaries.png", "claims.png")
