"""Figures of the GD vs SGD study: per-epoch and per-update curves of the three arms, and each arm's
per-layer norms (``report.norms``). Drawn from ``metrics_<arm>.npz`` and the summary alone."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.experiments.gd_vs_sgd.summary import ARMS  # noqa: E402
from trainlab.report.figures import Figure, band_iqr, fixed_margins  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402

PANELS = (("train_loss", "train loss", True), ("val_loss", "test loss", True), ("train_acc", "train accuracy", False),
          ("val_acc", "test accuracy", False))
COLOURS = {"sgd": "tab:blue", "gd": "tab:orange", "gd_scaled": "tab:green"}


def _curves(run: RunData, per_update: bool):
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    labels = {a["name"]: a["label"] for a in run.summary["arms"]}
    for name in ARMS:
        m = run.npz(f"metrics_{name}.npz")
        if per_update:
            rows = m["steps"] > 0  # a log axis: the model at init is the first point of the epoch figure
            x = m["steps"][rows]
        else:
            rows = np.isclose(m["epochs"], np.round(m["epochs"]))
            x = m["epochs"][rows]
        for ax, (key, title, log) in zip(axes.flat, PANELS):
            band_iqr(ax, x, m[key][rows], color=COLOURS[name], label=labels[name], lw=1.3)
            ax.set_title(title)
            if log:
                ax.set_yscale("log")
    for ax in axes.flat:
        ax.set_xlabel("update (log scale)" if per_update else "epoch")
        if per_update:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    s = run.summary["setup"]
    fig.suptitle(f"Two moons, 2-{s['net'].split('-')[1]}-2 ReLU, SGD momentum {s['momentum']:g}: "
                 f"{'per update' if per_update else 'per epoch'}; median and 25-75% band over {s['seeds']} seeds",
                 fontsize=10)
    fixed_margins(fig, hspace=0.4)
    return fig


def _caption(per_update: bool):
    def caption(run: RunData) -> str:
        s = run.summary["setup"]
        if per_update:
            return (f"The same runs per update (log scale): GD takes one update per epoch, mini-batch SGD "
                    f"{s['steps_per_epoch']}. Train and test loss and accuracy, median over {s['seeds']} seeds with "
                    "the 25-75% band.")
        return (f"Per epoch (each arm has seen the training set the same number of times): train and test loss "
                f"(log scale) and accuracy, median over {s['seeds']} seeds with the 25-75% band.")
    return caption


REQUIRES = tuple(f"metrics_{name}.npz" for name in ARMS)
FIGURES = (
    Figure("per_epoch.png", lambda run: _curves(run, False), _caption(False), requires=REQUIRES),
    Figure("per_update.png", lambda run: _curves(run, True), _caption(True), requires=REQUIRES),
    norm_figures("norms_by_epoch.npz", lambda run: run.json("norm_groups.json"), prefix="norms", what="per arm",
                 x="epochs", xlabel="epoch"),
)
KEY_FIGURES = ("per_epoch.png", "per_update.png")
