"""Figures of the optimizers study, drawn from the folder alone: loss curves per optimizer, the lr
search, per-layer gradient and weight norms per data set (``report.norms``), the seed's XOR losses,
one against two hidden layers, and He against Xavier."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.experiments.optimizers.settings import DATASETS, LABELS  # noqa: E402
from trainlab.report.figures import Figure, band_iqr, errorbars_ci, fixed_margins  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402
from trainlab.report.norms import norm_figures  # noqa: E402

COLOURS = dict(zip(LABELS, plt.get_cmap("tab10").colors))


def _margins(fig, legend_rows: int = 0) -> None:
    fixed_margins(fig, legend_rows)


def _legend(fig, axes) -> int:
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    return -(-len(labels) // 6)


def loss_curves(run: RunData):
    s, groups = run.summary, run.json("groups.json")
    ds = s["datasets"]
    fig, axes = plt.subplots(2, len(ds), figsize=(4.2 * len(ds), 6.4), squeeze=False)
    for j, d in enumerate(ds):
        m = run.npz(f"metrics_{d['name']}.npz")
        for row, blk in enumerate(("best_he", "shared")):
            ax = axes[row, j]
            for o in d["optimizers"]:
                lr = o["chosen_lr"] if blk == "best_he" else s["setup"]["shared_lr"]
                band_iqr(ax, m["steps"], m["train_loss"][:, groups[d["name"]][o["name"]][blk]],
                         color=COLOURS[o["name"]], label=o["label"] if (row, j) == (0, 0) else None, lw=1.2)
            ax.axhline(s["setup"]["target_loss"], color="grey", ls=":", lw=1)
            ax.set_yscale("log")
            ax.set_title(f"{d['name']}: {'each at its best lr' if blk == 'best_he' else f'all at lr {lr:g}'}", fontsize=9)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("train loss")
    axes[1, 0].set_ylabel("train loss")
    _margins(fig, _legend(fig, axes))
    return fig


def _loss_caption(run: RunData) -> str:
    s = run.summary["setup"]
    return (f"Train loss per step (log scale), median over {s['seeds']} seeds with the 25-75% band, per optimizer: top, "
            f"each at the lr its search chose; bottom, all at lr {s['shared_lr']:g}. Dotted: the target "
            f"{s['target_loss']:g}.")


def lr_search(run: RunData):
    ds = run.summary["datasets"]
    fig, axes = plt.subplots(1, len(ds), figsize=(4.2 * len(ds), 3.6), squeeze=False)
    for ax, d in zip(axes[0], ds):
        for o in d["optimizers"]:
            lrs, med = o["search"]["lrs"], [x["median"] for x in o["search"]["loss"]]
            y = np.array([np.nan if v is None else v for v in med], dtype=float)
            ax.plot(lrs, y, "-o", ms=3, color=COLOURS[o["name"]], label=o["label"] if ax is axes[0, 0] else None)
            k = lrs.index(o["chosen_lr"])
            ax.plot([lrs[k]], [y[k]], "o", ms=9, mfc="none", color=COLOURS[o["name"]])
        ax.set(xscale="log", yscale="log", xlabel="lr", title=d["name"])
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("train loss after the short run (median)")
    _margins(fig, _legend(fig, axes))
    return fig


def _search_caption(run: RunData) -> str:
    s = run.summary["setup"]
    return (f"The lr search: median train loss after {s['search_steps']} steps (a tenth of the run) over "
            f"{s['search_seeds']} seeds, per lr of the 9-value log grid; the circled point is the chosen lr (missing "
            "points: every seed diverged).")


def xor_loss(run: RunData):
    m, groups, x = run.npz("xor_loss.npz"), run.json("xor_groups.json"), run.summary["xor_loss"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for (name, idx), c in zip(groups.items(), ("tab:red", "tab:blue")):
        band_iqr(axes[0], m["steps"], m["train_acc"][:, idx], color=c, label=name)
        g = m["grad_norm"][:, idx, -1]
        band_iqr(axes[1], m["steps"][1:], np.where(g[1:] > 0, g[1:], np.nan), color=c, label=name)
    axes[0].axhline(x["target_acc"], color="grey", ls=":", lw=1)
    axes[0].set(title="training accuracy", xlabel="step")
    axes[1].set(title="output layer's gradient norm ||dL/dW||", xlabel="step", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"XOR, the seed's {x['net']} net, SGD momentum {x['momentum']:g} at lr {x['lr']:g}", fontsize=10)
    _margins(fig)
    return fig


def _xor_caption(run: RunData) -> str:
    sl = run.summary["xor_loss"]["sigmoid_slope"]
    return (f"MSE on sigmoid outputs against cross-entropy, same nets and seeds: training accuracy and the output "
            f"layer's gradient norm (median, 25-75% band). The sigmoid's slope p(1 - p) averages "
            f"{sl['init']['median']:.3g} at init and {sl['end']['median']:.3g} at the end, and MSE's gradient is "
            "multiplied by it.")


def depth(run: RunData):
    m, d = run.npz("depth.npz"), run.summary["depth"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, c in (("1_hidden", "tab:red"), ("2_hidden", "tab:blue")):
        widths = "-".join(map(str, d[name]["widths"]))
        band_iqr(ax, m["steps"], m[f"{name}_val_acc"], color=c, label=f"2-{widths}-5")
    for level in (0.8, 0.9):
        ax.axhline(level, color="grey", ls=":", lw=1)
    ax.set(xlabel="step", ylabel="held-out accuracy", title=f"5-class mixture, Adam lr {d['lr']:g}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _margins(fig)
    return fig


def init_diff(run: RunData):
    cs = run.summary["claims"]["init"]
    ds = list(dict.fromkeys(c["id"].split("/")[1] for c in cs))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for j, name in enumerate(ds):
        rows = [c for c in cs if c["id"].split("/")[1] == name]
        errorbars_ci(ax, np.arange(len(rows)) + 0.12 * (j - len(ds) / 2), [c["difference"] for c in rows], fmt="o",
                     ms=4, label=name)
        ax.set_xticks(range(len(rows)), [c["id"].split("/")[2] for c in rows])
    ax.axhline(0, color="grey", lw=1)
    ax.set(ylabel="He - Xavier, steps to the target", title="He against Xavier init, paired over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _margins(fig)
    return fig


def _norm_groups(name: str):
    return lambda run: {LABELS[o]: g["best_he"] for o, g in run.json("groups.json")[name].items()}


FIGURES = (
    Figure("loss_curves.png", loss_curves, _loss_caption, requires=("groups.json",)),
    Figure("lr_search.png", lr_search, _search_caption),
    *(norm_figures(f"metrics_{name}.npz", _norm_groups(name), prefix=f"norms_{name}",
                   quantities=("grad_norm", "weight_norm"), what=f"{name}, each optimizer at its best lr")
      for name in DATASETS),
    Figure("xor_loss.png", xor_loss, _xor_caption, requires=("xor_loss.npz", "xor_groups.json")),
    Figure("depth.png", depth, "Held-out accuracy on the 5-class mixture with one and two hidden layers of 4 units "
           "(median, 25-75% band); dotted: the seed's 80% and 90%.", requires=("depth.npz",)),
    Figure("init.png", init_diff, "He minus Xavier init in steps to the target (median of the paired difference with "
           "its 95% interval), per optimizer and data set; below 0: He is faster."),
)
KEY_FIGURES = ("loss_curves.png", "xor_loss.png", "depth.png")
