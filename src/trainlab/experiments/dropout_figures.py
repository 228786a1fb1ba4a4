"""Figures of the dropout study, drawn from what the study folder holds (never live objects).

Each figure declares the files it ``requires``; a figure whose data is missing is skipped with a
note in its place, so ``render_figures`` can rebuild the figures of any finished folder.

- ``curves_<init>.png``: train (dashed) and val (solid) loss and error per epoch, one colour per
  variant, median over seeds with a min-max band;
- ``ensemble.png``: MC-dropout val error against ensemble size (log x), eval mode as a line;
- ``first_layer_weights.png`` and ``first_layer_change.png``: incoming weights of first-layer units
  as 28x28 images (seed 0 of each variant), at the best epoch and minus their initial values.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.experiments.dropout_settings import INIT_CHOICES, SRIVASTAVA_T, VARIANTS  # noqa: E402

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
DPI = 110


@dataclass(frozen=True)
class FigureSpec:
    requires: tuple[str, ...]  # files in the folder
    draw: Callable[[Path, list[dict]], list[dict]]  # (folder, groups) -> [{file, caption}]


def _label(name: str) -> str:
    return VARIANTS[name].label if name in VARIANTS else name


def _init_label(key: str) -> str:
    return INIT_CHOICES[key].label if key in INIT_CHOICES else key


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _band(ax, x, arr, color, style, label):
    ax.plot(x, np.nanmedian(arr, axis=1), style, color=color, label=label, lw=1.6)
    if arr.shape[1] > 1:
        ax.fill_between(x, np.nanmin(arr, axis=1), np.nanmax(arr, axis=1), color=color, alpha=0.15, lw=0)


def draw_curves(folder: Path, groups: list[dict]) -> list[dict]:
    c = _load(folder / "curves.npz")
    epoch = c["epoch"]
    out = []
    for init in dict.fromkeys(g["init"] for g in groups):
        fig, (ax_l, ax_e) = plt.subplots(1, 2, figsize=(11, 4.2))
        for i, g in enumerate(x for x in groups if x["init"] == init):
            ids, color, lab = g["members"], COLORS[i % len(COLORS)], _label(g["variant"])
            _band(ax_l, epoch, c["train_loss"][:, ids], color, "--", None)
            _band(ax_l, epoch, c["val_loss"][:, ids], color, "-", lab)
            _band(ax_e, epoch[1:], 100 * c["train_error"][1:, ids], color, "--", None)
            _band(ax_e, epoch[1:], 100 * c["val_error"][1:, ids], color, "-", lab)
        ax_l.axhline(np.log(10), color="gray", lw=0.8, ls=":", label="ln 10")
        ax_l.set(yscale="log", xlabel="epoch", ylabel="cross-entropy loss (log)", title="Loss: val solid, train dashed")
        ax_e.set(xlabel="epoch", ylabel="error (%)", title="Error (from epoch 1): val solid, train dashed")
        ax_e.set_ylim(0, max(5.0, min(40.0, 1.1 * float(np.nanmax(100 * c["val_error"][1:])))))
        ax_l.legend(fontsize=8)
        ax_e.legend(fontsize=8)
        fig.suptitle(f"Learning curves, {_init_label(init)} (median over seeds, min-max band)")
        fig.tight_layout()
        name = f"curves_{init}.png"
        fig.savefig(folder / name, dpi=DPI)
        plt.close(fig)
        n = len(groups[0]["members"])
        out.append({"file": name, "caption": (
            f"Learning curves with the {_init_label(init)} init: train (dashed) and validation (solid) loss and "
            f"error per epoch, measured in eval mode; median over {n} seed(s), band = min to max. Epoch 0 is the "
            f"untrained net (its loss against ln 10 is the loss-at-init check).")})
    return out


def draw_ensemble(folder: Path, groups: list[dict]) -> list[dict]:
    e = _load(folder / "ensemble.npz")
    keys = [g for g in groups if f"errors__{g['init']}__{g['variant']}" in e]
    if not keys:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, g in enumerate(keys):
        key = f"{g['init']}__{g['variant']}"
        errs = 100 * e[f"errors__{key}"]
        color = COLORS[i % len(COLORS)]
        t = np.arange(1, len(errs) + 1)
        ax.plot(t, errs, color=color, lw=1.3, label=f"{g['init']}: {_label(g['variant'])}")
        ax.axhline(100 * float(e[f"eval_mode__{key}"][0]), color=color, ls="--", lw=1.0)
    ax.axvline(SRIVASTAVA_T, color="gray", ls=":", lw=1.0, label=f"T = {SRIVASTAVA_T} (Srivastava et al. 2014)")
    ax.set(xscale="log", xlabel="ensemble size T (stochastic passes, logits averaged)", ylabel="val error (%)",
           title="MC-dropout ensembles (solid) vs eval mode / weight scaling (dashed)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "ensemble.png", dpi=DPI)
    plt.close(fig)
    return [{"file": "ensemble.png", "caption": (
        "Validation error of the MC-dropout ensemble against its size T (log scale), one seed per variant: every "
        "size comes from one sequence of passes (prefix averages of the logits). Dashed: the eval-mode error "
        "(dropout off, weights scaled) of the same member on the same samples.")}]


def _weight_grid(folder: Path, groups: list[dict], prefix: str, name: str, title: str) -> None:
    w = _load(folder / "first_layer.npz")
    rows = [g for g in groups if f"best__{g['init']}__{g['variant']}" in w]
    n_units = w[f"best__{rows[0]['init']}__{rows[0]['variant']}"].shape[0]
    fig, axes = plt.subplots(len(rows), n_units, figsize=(1.1 * n_units + 1.8, 1.15 * len(rows) + 0.6),
                             squeeze=False)
    for r, g in enumerate(rows):
        key = f"{g['init']}__{g['variant']}"
        img = w[f"best__{key}"] - (w[f"init__{key}"] if prefix == "change" else 0.0)
        lim = float(np.abs(img).max()) or 1.0
        for u in range(n_units):
            ax = axes[r, u]
            ax.imshow(img[u].reshape(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"{g['init']}\n{_label(g['variant'])}", fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / name, dpi=DPI)
    plt.close(fig)


def draw_weights(folder: Path, groups: list[dict]) -> list[dict]:
    w = _load(folder / "first_layer.npz")
    if not w or next(iter(w.values())).shape[-1] != 784:
        return []
    _weight_grid(folder, groups, "best", "first_layer_weights.png",
                 "First-layer weights at the best epoch (10 units per variant, seed 0)")
    _weight_grid(folder, groups, "change", "first_layer_change.png",
                 "First-layer weights minus their initial values (what training added)")
    return [
        {"file": "first_layer_weights.png", "caption": (
            "Incoming weights of 10 first-layer units as 28x28 images, per variant (seed 0, best epoch; the units "
            "whose weights changed most). Red positive, blue negative, one colour scale per row.")},
        {"file": "first_layer_change.png", "caption": (
            "The same units, weights minus their initial values: what training learned. With the lab's init the "
            "initial N(0, 0.1) noise is large next to this change, so the weights themselves look like noise.")},
    ]


FIGURES: dict[str, FigureSpec] = {
    "curves": FigureSpec(("curves.npz", "groups.json"), draw_curves),
    "ensemble": FigureSpec(("ensemble.npz", "groups.json"), draw_ensemble),
    "weights": FigureSpec(("first_layer.npz", "groups.json"), draw_weights),
}


def render_figures(folder: Path) -> tuple[list[dict], list[str]]:
    """Draw every figure whose data the folder holds: ([{file, caption}], [notes on skipped ones])."""
    folder = Path(folder)
    out: list[dict] = []
    notes: list[str] = []
    for name, spec in FIGURES.items():
        missing = [f for f in spec.requires if not (folder / f).is_file()]
        if missing:
            notes.append(f"figure {name!r} skipped: the folder holds no {', '.join(missing)}")
            continue
        groups = json.loads((folder / "groups.json").read_text(encoding="utf-8"))
        drawn = spec.draw(folder, groups)
        if not drawn:
            notes.append(f"figure {name!r} skipped: nothing to draw (no ensembles, or inputs not 28x28)")
        out += drawn
    return out, notes
