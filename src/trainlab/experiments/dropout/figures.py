"""Figures of the dropout study: declarations of the ``report.figures`` protocol, drawn from what
the study folder holds (never live objects).

- ``curves_<init>.png``: train (dashed) and val (solid) loss and error per epoch, one colour per
  variant, median over seeds with a min-max band;
- ``ensemble.png``: MC-dropout val error against ensemble size (log x), eval mode as a line;
- ``first_layer_weights.png`` and ``first_layer_change.png``: incoming weights of first-layer units
  as 28x28 images (seed 0 of each variant), at the best epoch and minus their initial values.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.experiments.dropout.settings import INIT_CHOICES, SRIVASTAVA_T, VARIANTS  # noqa: E402
from trainlab.report.figures import Figure, PerKey, band_min_max  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _label(name: str) -> str:
    return VARIANTS[name].label if name in VARIANTS else name


def _init_label(key: str) -> str:
    return INIT_CHOICES[key].label if key in INIT_CHOICES else key


def _inits(run: RunData) -> list[str]:
    """One learning-curve figure per init, in training order."""
    return list(dict.fromkeys(g["init"] for g in run.json("groups.json"))) if run.has("groups.json") else []


def curves(run: RunData, init: str):
    c, groups = run.npz("curves.npz"), run.json("groups.json")
    epoch = c["epoch"]
    fig, (ax_l, ax_e) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, g in enumerate(x for x in groups if x["init"] == init):
        ids, line = g["members"], {"color": COLORS[i % len(COLORS)], "lw": 1.6}
        lab = _label(g["variant"])
        band_min_max(ax_l, epoch, c["train_loss"][:, ids], style="--", **line)
        band_min_max(ax_l, epoch, c["val_loss"][:, ids], label=lab, **line)
        band_min_max(ax_e, epoch[1:], 100 * c["train_error"][1:, ids], style="--", **line)
        band_min_max(ax_e, epoch[1:], 100 * c["val_error"][1:, ids], label=lab, **line)
    ax_l.axhline(np.log(10), color="gray", lw=0.8, ls=":", label="ln 10")
    ax_l.set(yscale="log", xlabel="epoch", ylabel="cross-entropy loss (log)", title="Loss: val solid, train dashed")
    ax_e.set(xlabel="epoch", ylabel="error (%)", title="Error (from epoch 1): val solid, train dashed")
    ax_e.set_ylim(0, max(5.0, min(40.0, 1.1 * float(np.nanmax(100 * c["val_error"][1:])))))
    ax_l.legend(fontsize=8)
    ax_e.legend(fontsize=8)
    fig.suptitle(f"Learning curves, {_init_label(init)} (median over seeds, min-max band)")
    fig.tight_layout()
    return fig


def curves_caption(run: RunData, init: str) -> str:
    n = len(run.json("groups.json")[0]["members"])
    return (f"Learning curves with the {_init_label(init)} init: train (dashed) and validation (solid) loss and "
            f"error per epoch, measured in eval mode; median over {n} seed(s), band = min to max. Epoch 0 is the "
            f"untrained net (its loss against ln 10 is the loss-at-init check).")


def _ensembles(run: RunData) -> list[dict]:
    e = run.npz("ensemble.npz")
    return [g for g in run.json("groups.json") if f"errors__{g['init']}__{g['variant']}" in e]


def ensemble(run: RunData):
    e, keys = run.npz("ensemble.npz"), _ensembles(run)
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
    return fig


def _weight_grid(run: RunData, prefix: str, title: str):
    w, groups = run.npz("first_layer.npz"), run.json("groups.json")
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
    return fig


def _images(run: RunData) -> bool:
    """The first layer's inputs are 28x28 images (the weight figures apply)."""
    w = run.npz("first_layer.npz")
    return bool(w) and next(iter(w.values())).shape[-1] == 784


FIGURES = (
    PerKey(_inits, (Figure("curves_{key}.png", curves, curves_caption, requires=("curves.npz", "groups.json")),)),
    Figure("ensemble.png", ensemble,
           "Validation error of the MC-dropout ensemble against its size T (log scale), one seed per variant: every "
           "size comes from one sequence of passes (prefix averages of the logits). Dashed: the eval-mode error "
           "(dropout off, weights scaled) of the same member on the same samples.",
           requires=("ensemble.npz", "groups.json"), when=lambda run: bool(_ensembles(run))),
    Figure("first_layer_weights.png",
           lambda run: _weight_grid(run, "best", "First-layer weights at the best epoch (10 units per variant, seed 0)"),
           "Incoming weights of 10 first-layer units as 28x28 images, per variant (seed 0, best epoch; the units "
           "whose weights changed most). Red positive, blue negative, one colour scale per row.",
           requires=("first_layer.npz", "groups.json"), when=_images),
    Figure("first_layer_change.png",
           lambda run: _weight_grid(run, "change", "First-layer weights minus their initial values (what training added)"),
           "The same units, weights minus their initial values: what training learned. With the lab's init the "
           "initial N(0, 0.1) noise is large next to this change, so the weights themselves look like noise.",
           requires=("first_layer.npz", "groups.json"), when=_images),
)
KEY_FIGURES = ("curves_lab.png", "ensemble.png")
