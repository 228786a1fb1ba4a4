"""Figures of the schedules study: each schedule's lr factor next to its loss curves, and the
per-layer norms of every schedule (``report.norms``). Drawn from the folder alone."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from trainlab.report.figures import Figure, band_iqr, fixed_margins  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402


def schedules_and_losses(run: RunData):
    m, f, groups = run.npz("metrics.npz"), run.npz("schedules.npz"), run.json("groups.json")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colours = plt.get_cmap("tab10").colors
    for i, x in enumerate(run.summary["schedules"]):
        c = colours[i % len(colours)]
        axes[0].plot(f["steps"], f[x["name"]], color=c, lw=1.5, label=x["label"])
        idx = groups[x["label"]]
        band_iqr(axes[1], m["steps"], m["train_loss"][:, idx], color=c, lw=1.2)
        band_iqr(axes[2], m["steps"], m["val_loss"][:, idx], color=c, lw=1.2)
    axes[0].set(title="lr factor (x the base lr)", xlabel="step", ylim=(0, 1.05))
    axes[1].set(title="train loss", xlabel="step", yscale="log")
    axes[2].set(title="validation loss", xlabel="step", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    s = run.summary["setup"]
    fig.suptitle(f"{s['net']} on two moons, {s['optimizer']}, lr {s['lr']:g}: median and 25-75% band over "
                 f"{s['seeds']} seeds", fontsize=10)
    fixed_margins(fig)
    return fig


def _caption(run: RunData) -> str:
    s = run.summary["setup"]
    return (f"Left: each schedule's factor of the base lr ({s['lr']:g}) per step. Middle and right: train and "
            f"validation loss (log scale), median over {s['seeds']} seeds with the 25-75% band; same data, network "
            "and seeds for every schedule.")


FIGURES = (
    Figure("schedules.png", schedules_and_losses, _caption, requires=("metrics.npz", "schedules.npz", "groups.json")),
    norm_figures("metrics.npz", lambda run: run.json("groups.json"), prefix="norms", what="per schedule"),
)
KEY_FIGURES = ("schedules.png",)
