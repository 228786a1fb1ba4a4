"""The per-layer norms figure, shared by `trainlab train` reports and every study that trains.

``norm_figures(...)`` returns a ``PerKey`` declaration for a study's ``FIGURES`` (or the train
report's): one panel per layer, at most ``PANELS`` panels per figure (more panels: several
figures, ``{prefix}_1.png``, ``{prefix}_2.png``, ...), each line the median over seeds with its
25-75% band, on a log axis. The arrays are the ``trainlab.norms`` keys of an ``.npz`` file in the
folder, shaped (evaluations, members, layers), with ``steps`` (evaluations,) or another x array.

``groups(run)`` says which members form a line: ``{label: member indices}`` (default: all members).
With one group, each layer's panel holds every quantity, one colour each; with several, each panel
holds one quantity of one layer (quantity by quantity), one colour per group. Step 0 has no
gradient and no update (NaN there, see ``trainlab.norms``), so those lines start at the first
evaluated step.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.norms import NORM_KEYS  # noqa: E402
from trainlab.report.figures import Figure, PerKey, band_iqr, fixed_margins  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

PANELS = 6  # panels per figure at most
LABELS = {"grad_norm": "gradient norm ||dL/dW||", "weight_norm": "weight norm ||W||", "bias_norm": "bias norm ||b||",
          "update_ratio": "update ratio ||dW|| / ||W||"}
Groups = Callable[[RunData], dict[str, Sequence[int]]]


def _all_members(source: str) -> Groups:
    return lambda run: {"all members": list(range(run.npz(source)["weight_norm"].shape[1]))}


def _panels(quantities: Sequence[str], n_layers: int, by_group: bool) -> list[tuple[tuple[str, ...], int]]:
    """The panels in drawing order: (quantities drawn in it, layer). One group: every quantity in each
    layer's panel; several groups: one quantity per panel, quantity by quantity."""
    if not by_group:
        return [(tuple(quantities), layer) for layer in range(n_layers)]
    return [((q,), layer) for q in quantities for layer in range(n_layers)]


def draw_norms(run: RunData, source: str, panels: Sequence[tuple[tuple[str, ...], int]],
               groups: dict[str, Sequence[int]], title: str, x: str = "steps", xlabel: str = "step"):
    """One panel per (quantities, layer): each (group, quantity) as a median line with its IQR band."""
    m = run.npz(source)
    steps = m[x]
    layers_per_row = len({layer for _, layer in panels})
    ncol = min(len(panels), 3 if len({qs for qs, _ in panels}) == 1 or layers_per_row > 3 else layers_per_row)
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.3 * ncol, 3.2 * nrow), squeeze=False)
    colours = plt.get_cmap("tab10").colors
    by_group = len(groups) > 1
    seen: set[str] = set()
    for ax, (qs, layer) in zip(axes.flat, panels):
        for gi, (label, idx) in enumerate(groups.items()):
            for qi, q in enumerate(qs):
                arr = m[q][:, list(idx), layer]
                arr = np.where(np.isfinite(arr) & (arr > 0), arr, np.nan)  # a log axis: 0 and inf not drawn
                if not np.isfinite(arr).any():
                    continue
                name = label if by_group else LABELS.get(q, q)
                with warnings.catch_warnings():  # step 0 has no gradient: an all-NaN row by design
                    warnings.simplefilter("ignore", RuntimeWarning)
                    band_iqr(ax, steps, arr, color=colours[(gi if by_group else qi) % len(colours)],
                             label=None if name in seen else name, lw=1.2)
                seen.add(name)
        ax.set_yscale("log")
        ax.set_title(f"layer {layer + 1}" + (f": {LABELS.get(qs[0], qs[0])}" if by_group else ""), fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fixed_margins(fig, math.ceil(len(labels) / 4) if labels else 0, left=0.95, wspace=0.35, hspace=0.55)  # log ticks: 4.2x10^1
    fig.subplots_adjust(top=1 - 0.75 / fig.get_figheight())  # the suptitle clear of the first row's panel titles
    return fig


def norm_figures(source: str = "metrics.npz", groups: Optional[Groups] = None, prefix: str = "layer_norms",
                 quantities: Sequence[str] = NORM_KEYS, what: str = "", x: str = "steps",
                 xlabel: str = "step") -> PerKey:
    """The declaration: figures of ``quantities`` from ``source``, one panel per layer (<= PANELS a figure).

    ``what`` names the run in titles and captions ("SGD vs Adam on moons"); ``groups`` as above;
    ``x`` the array of ``source`` on the horizontal axis (``steps``, or e.g. ``epochs``).
    """
    pick = groups or _all_members(source)
    quantities = tuple(quantities)

    def plan(run: RunData) -> dict[str, list[tuple[tuple[str, ...], int]]]:
        n_layers = run.npz(source)["weight_norm"].shape[2]
        panels = _panels(quantities, n_layers, len(pick(run)) > 1)
        parts = [panels[i:i + PANELS] for i in range(0, len(panels), PANELS)]
        return {prefix + (f"_{i + 1}" if len(parts) > 1 else ""): part for i, part in enumerate(parts)}

    def draw(run: RunData, key: str):
        return draw_norms(run, source, plan(run)[key], pick(run), _title(plan(run)[key], what), x, xlabel)

    def caption(run: RunData, key: str) -> str:
        groups_now = pick(run)
        n = len(next(iter(groups_now.values())))
        lines = (f"one line per group ({', '.join(groups_now)})" if len(groups_now) > 1
                 else "one line per quantity")
        return (f"{_title(plan(run)[key], what)}: one panel per layer, {lines}: the median over {n} members with the "
                "25-75% band, log scale. Gradient (of the objective w.r.t. the layer's weights) and update ratio "
                "(||W after - W before|| / ||W before||) are those of the last step before each evaluation "
                "(none at step 0).")

    figure = Figure("{key}.png", draw, caption, requires=(f"{source}:weight_norm", f"{source}:{x}"))
    return PerKey(lambda run: list(plan(run)) if run.has(f"{source}:weight_norm") else [], (figure,))


def _title(panels: Sequence[tuple[tuple[str, ...], int]], what: str) -> str:
    qs = list(dict.fromkeys(q for qs, _ in panels for q in qs))
    layers = sorted({layer + 1 for _, layer in panels})
    names = ", ".join(LABELS.get(q, q).split(" ||")[0] for q in qs)
    span = f"layers {layers[0]}-{layers[-1]}" if len(layers) > 1 else f"layer {layers[0]}"
    return f"Per-layer {names} over training{f', {what}' if what else ''} ({span})"
