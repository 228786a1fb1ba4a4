"""Figures of the lr-search study, drawn from ``searches.json`` and the summary alone:

- ``lr_search.png``: per data set, the validation loss against the lr: the full-length grid (the
  staged search's stage 1), the coarse stage (a tenth of the steps) and the fine stage, each
  configuration's median with its 95% interval over seeds, the winners starred;
- ``stages.png``: per data set, stage 2 (depth x activation) and stage 3 (the optimizer): each
  configuration's median and interval, the carried configuration hollow, the winner starred.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, LogLocator  # noqa: E402

from trainlab.experiments.lr_search.summary import values_text  # noqa: E402
from trainlab.report.figures import Figure, errorbars_ci, fixed_margins  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

LR = "optim.lr"
SERIES = (("staged", "stage1", "grid, full length", "tab:blue", "o"),
          ("coarse-to-fine", "coarse", "coarse (1/10 of the steps)", "tab:gray", "s"),
          ("coarse-to-fine", "fine", "fine, full length", "tab:red", "^"))


def _lr_panel(ax, data: dict) -> None:
    for search, stage, label, colour, marker in SERIES:
        rows = sorted(data.get(search, {}).get(stage, []), key=lambda r: r["values"][LR])
        if not rows:
            continue
        x = [r["values"][LR] for r in rows]
        errorbars_ci(ax, x, [r["val_loss"] for r in rows], color=colour, marker=marker, ms=4, lw=1, label=label)
        best = next((r for r in rows if r["rank"] == 1), None)
        if best and best["val_loss"] and best["val_loss"]["median"] is not None:
            ax.plot([best["values"][LR]], [best["val_loss"]["median"]], "*", color=colour, ms=14, mec="k", zorder=5)
    ax.set(xscale="log", yscale="log", xlabel="lr")
    ax.grid(alpha=0.3, which="both")


def lr_figure(run: RunData):
    found = run.json("searches.json")
    names = [d["name"] for d in run.summary["datasets"]]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        _lr_panel(ax, found[name])
        ax.set_title(name, fontsize=10)
    axes[0][0].set_ylabel("final validation loss")
    axes[0][0].legend(fontsize=7)
    s = run.summary["setup"]
    fig.suptitle(f"Validation loss against the lr: median and 95% interval over {s['seeds']} seeds "
                 f"({s['base']['optimizer']}, {s['steps']} steps; coarse {s['coarse_steps']})", fontsize=10)
    fixed_margins(fig, left=0.8)
    return fig


def _stage_panel(ax, rows: list[dict], carried: dict) -> None:
    rows = sorted(rows, key=lambda r: r["rank"])
    x = np.arange(len(rows))
    errorbars_ci(ax, x, [r["val_loss"] for r in rows], fmt="none", ecolor="tab:blue", lw=1)
    for i, r in enumerate(rows):
        med = (r["val_loss"] or {}).get("median")
        if med is None:
            continue
        is_carried = all(r["values"].get(k) == v for k, v in carried.items())
        ax.plot([i], [med], "*" if r["rank"] == 1 else "o", ms=13 if r["rank"] == 1 else 6,
                mfc="none" if is_carried and r["rank"] != 1 else "tab:blue", mec="k" if r["rank"] == 1 else "tab:blue")
    ax.set_xticks(x, [values_text(r["values"]) for r in rows], rotation=35, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))  # a labelled tick or two inside each decade,
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))  # so an axis that spans less than one is read
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.grid(alpha=0.3, axis="y")


def stages_figure(run: RunData):
    found = run.json("searches.json")
    data = run.summary["datasets"]
    later = max(len(d["staged"]["stages"]) for d in data) - 1
    fig, axes = plt.subplots(len(data), max(later, 1), figsize=(5.5 * max(later, 1), 3.0 * len(data)), squeeze=False)
    for i, d in enumerate(data):
        for j, st in enumerate(d["staged"]["stages"][1:]):
            ax = axes[i][j]
            _stage_panel(ax, found[d["name"]]["staged"].get(st["name"], []), st["carried"])
            ax.set_title(f"{d['name']}: {st['title']}", fontsize=9)
            ax.set_ylabel("final val loss", fontsize=8)
    fig.suptitle("Stages 2 and 3 of the staged search: median and 95% interval over seeds; star: winner, "
                 "hollow: the configuration carried in", fontsize=10)
    fixed_margins(fig, left=0.9, hspace=0.75)
    fig.subplots_adjust(bottom=1.1 / fig.get_figheight(), top=1 - 0.75 / fig.get_figheight())
    return fig


def _lr_caption(run: RunData) -> str:
    s = run.summary["setup"]
    return (f"Each data set's final validation loss against the lr ({s['lr_grid']}): the grid at full length "
            f"({s['steps']} steps; stage 1 of the staged search), the same grid at {s['coarse_steps']} steps (the "
            "coarse stage) and the 12 fine lrs around the coarse pick at full length; stars mark each series' best.")


def _stages_caption(run: RunData) -> str:
    return ("The later stages of the staged search, configurations best first. Each stage trains with the earlier "
            "stages' winners fixed; the hollow marker is the configuration carried into the stage (when it is not "
            "the winner), the star the stage's winner.")


FIGURES = (
    Figure("lr_search.png", lr_figure, _lr_caption, requires=("searches.json",)),
    Figure("stages.png", stages_figure, _stages_caption, requires=("searches.json",)),
)
KEY_FIGURES = ("lr_search.png", "stages.png")
