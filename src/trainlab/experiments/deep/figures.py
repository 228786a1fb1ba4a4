"""Figures of the deep study: declarations of the ``report.figures`` protocol, drawn from the
folder's summary alone (never live objects).

Per set-up: per-layer activation std, weight-gradient std and measured/predicted variance ratio
on log axes, one panel per activation and one line per init, theory dashed; and a heatmap of
init x activation giving the last layer's activation std. Then trainability and the He claim.

A log axis cannot show zero or infinity, which is how the report lost its vanished curves. Here a
value that is exactly 0 is drawn as a down triangle on the bottom edge, a value that overflowed
(inf) as an up triangle on the top edge and a NaN as a cross on the top edge; each has a legend
entry. Heatmap cells say "0", "inf" or "NaN" in words.
"""
from __future__ import annotations

import math
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from trainlab.report.figures import Figure, PerKey, draw_band  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

AXIS_EXP = 300  # log axes stop at 1e-300 and 1e300: float64 predictions can run past them (drawn off-axis)
INIT_COLORS = {"N(0,1)": "#d62728", "xavier_normal": "#1f77b4", "xavier_uniform": "#17becf", "he_normal": "#2ca02c",
               "he_uniform": "#bcbd22", "lecun_normal": "#9467bd", "orthogonal": "#ff7f0e", "lsuv": "#000000"}
EDGE_MARKERS = {"zero": ("v", "vanished: exactly 0"), "overflow": ("^", "overflow: inf (null in JSON)"),
                "nan": ("X", "NaN (null in JSON)")}


def _series(pair: dict, key: str) -> tuple[np.ndarray, list[Optional[str]]]:
    """Values (NaN where null) and per-layer edge class: "zero", "overflow", "nan" or None (not drawn)."""
    vals = pair[key]
    flags = pair["flags"].get(key, [None] * len(vals))
    arr = np.array([np.nan if v is None else v for v in vals], dtype=float)
    edge = ["zero" if v == 0 else f if v is None else None for v, f in zip(vals, flags)]
    return arr, edge


def _limits(arrays: list[np.ndarray]) -> tuple[float, float]:
    pos = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in arrays] or [np.array([1.0])])
    if pos.size == 0:
        pos = np.array([1.0])
    lo_exp = max(math.floor(math.log10(pos.min())) - 1, -AXIS_EXP)
    hi_exp = min(math.ceil(math.log10(pos.max())) + 1, AXIS_EXP)
    return 10.0 ** lo_exp, 10.0 ** max(hi_exp, lo_exp + 1)


def _layer_grid(setup: dict, key: str, theory: Optional[str], ylabel: str):
    acts = list(dict.fromkeys(p["activation"] for p in setup["pairs"]))
    ncol = 4
    nrow = math.ceil(len(acts) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    used_edges: set[str] = set()
    for ax, act in zip(axes.flat, acts):
        pairs = [p for p in setup["pairs"] if p["activation"] == act and p[key] is not None]
        series = {p["init"]: _series(p, key) for p in pairs}
        preds = {p["init"]: np.array([np.nan if v is None else v for v in p[theory]], dtype=float)
                 for p in pairs if theory and p.get(theory)}
        lo, hi = _limits([s[0] for s in series.values()] + list(preds.values()))
        layers = np.arange(1, setup["depth"] + 1)
        for init, (arr, edge) in series.items():
            color = INIT_COLORS.get(init, "grey")
            shown = np.where(np.isfinite(arr) & (arr > 0), arr, np.nan)
            ax.plot(layers, shown, color=color, lw=1.4, label=init)
            for cls, (marker, _) in EDGE_MARKERS.items():
                idx = [i for i, e in enumerate(edge) if e == cls]
                if idx:
                    used_edges.add(cls)
                    ax.scatter(layers[idx], [lo if cls == "zero" else hi] * len(idx), marker=marker, color=color,
                               s=22, clip_on=False, zorder=5)
            if init in preds:
                ax.plot(layers, np.where(preds[init] > 0, preds[init], np.nan), color=color, lw=1.0, ls="--", alpha=0.8)
        ax.set_yscale("log")
        ax.set_ylim(lo, hi)
        ax.set_title(act)
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3, which="major")
    for ax in list(axes.flat)[len(acts):]:
        ax.axis("off")
    axes[0, 0].set_ylabel(ylabel)
    handles = [Line2D([], [], color=c, label=i) for i, c in INIT_COLORS.items()]
    if theory:
        handles.append(Line2D([], [], color="grey", ls="--", label="theory"))
    handles += [Line2D([], [], color="grey", marker=EDGE_MARKERS[e][0], ls="", label=EDGE_MARKERS[e][1]) for e in sorted(used_edges)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 7), fontsize=8, frameon=False)
    fig.suptitle(f"{ylabel} per layer, {setup['name']} set-up ({setup['depth']} x {setup['width']})")
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return fig


def _heatmap(setup: dict):
    inits = list(dict.fromkeys(p["init"] for p in setup["pairs"]))
    acts = list(dict.fromkeys(p["activation"] for p in setup["pairs"]))
    vals = np.full((len(inits), len(acts)), np.nan)
    text = [["" for _ in acts] for _ in inits]
    for p in setup["pairs"]:
        i, j = inits.index(p["init"]), acts.index(p["activation"])
        v = p["act_std"][-1]
        flag = (p["flags"].get("act_std") or [None])[-1]
        if v is None:
            text[i][j] = {"overflow": "inf", "nan": "NaN"}.get(flag, "null")
        elif v == 0:
            text[i][j] = "0"
        else:
            vals[i, j] = v
            text[i][j] = f"{v:.2g}"
    finite = vals[np.isfinite(vals)]
    fig, ax = plt.subplots(figsize=(1.1 * len(acts) + 2.5, 0.55 * len(inits) + 1.8))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    norm = LogNorm(vmin=max(finite.min(), 1e-38), vmax=max(finite.max(), finite.min() * 10)) if finite.size else None
    im = ax.imshow(np.ma.masked_invalid(vals), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(inits)):
        for j in range(len(acts)):
            dark = np.isfinite(vals[i, j]) and norm is not None and norm(vals[i, j]) < 0.5
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(acts)), acts, rotation=30, ha="right")
    ax.set_yticks(range(len(inits)), inits)
    if norm is not None:
        fig.colorbar(im, ax=ax, label="activation std at the last layer (log)")
    ax.set_title(f"Last layer's activation std, {setup['name']} ({setup['depth']} x {setup['width']}); grey: 0, inf or NaN")
    fig.tight_layout()
    return fig


def _trainability(setup: dict):
    inits = list(dict.fromkeys(p["init"] for p in setup["pairs"]))
    acts = list(dict.fromkeys(p["activation"] for p in setup["pairs"]))
    vals = np.full((len(inits), len(acts)), np.nan)
    fig, ax = plt.subplots(figsize=(1.1 * len(acts) + 2.5, 0.55 * len(inits) + 1.8))
    for p in setup["pairs"]:
        i, j = inits.index(p["init"]), acts.index(p["activation"])
        t = p["trainable"]
        med = t["reached_acc"]["median"]
        vals[i, j] = np.nan if med is None else med
        steps = t["steps_to_90"]["median"]
        label = "diverged" if med is None else f"{med:.2f}\n{'-' if steps is None else int(steps)}"
        ax.text(j, i, label, ha="center", va="center", fontsize=7)
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#bbbbbb")
    im = ax.imshow(np.ma.masked_invalid(vals), cmap=cmap, vmin=0.5, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(acts)), acts, rotation=30, ha="right")
    ax.set_yticks(range(len(inits)), inits)
    fig.colorbar(im, ax=ax, label="median training accuracy at the end")
    tr = setup["training"]
    ax.set_title(f"Trainability {setup['depth']} x {setup['width']} on circles: accuracy / steps to 90% "
                 f"({tr['seeds']} seeds, {tr['steps']} steps)", fontsize=9)
    fig.tight_layout()
    return fig


def he_claim(run: RunData):
    he = run.summary["he_claim"]
    lrs = list(dict.fromkeys(r["lr"] for r in he["runs"]))
    fig, axes = plt.subplots(1, len(lrs), figsize=(5 * len(lrs), 3.6), squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        for r in (r for r in he["runs"] if r["lr"] == lr):
            c = r["curve"]
            draw_band(ax, c["steps"], c["median"], c["lo"], c["hi"], color=INIT_COLORS.get(r["init"], "grey"),
                      label=f"{r['init']} (median)")
        ax.axhline(0.9, color="grey", ls=":", lw=1)
        ax.set_ylim(0.4, 1.02)
        ax.set_xlabel("step")
        ax.set_title(f"lr {lr:g}")
    axes[0, 0].set_ylabel("training accuracy")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"He et al. 2015 at {he['depth']} x {he['width']} ReLU: {he['seeds']} seeds, band = min..max")
    fig.tight_layout()
    return fig


def _setup(run: RunData, name: str) -> dict:
    return next(s for s in run.summary["setups"] if s["name"] == name)


def _grid(key: str, theory: Optional[str], ylabel: str):
    """Draw ``key`` per layer for the set-up named by the figure's key."""
    return lambda run, name: _layer_grid(_setup(run, name), key, theory, ylabel)


def _about(text: str, named: bool = True):
    """A caption that starts with the set-up's shape: ``"20 x 100 (lab): " + text``."""
    def caption(run: RunData, name: str) -> str:
        setup = _setup(run, name)
        return f"{setup['depth']} x {setup['width']}{f' ({name})' if named else ''}{text}"
    return caption


def _he_caption(run: RunData) -> str:
    he = run.summary["he_claim"]
    return (f"He et al. 2015 at {he['depth']} x {he['width']} ReLU: training accuracy per step, median over seeds with "
            "the min..max band, one panel per learning rate.")


PER_SETUP = (
    Figure("{key}_act_std.png", _grid("act_std", "predicted_act_std", "activation std"),
           _about(": activation std per layer, one line per init, variance-propagation theory dashed. Down triangles "
                  "on the bottom edge: exactly 0 (vanished); up triangles / crosses on the top edge: inf / NaN.")),
    Figure("{key}_grad_std.png", _grid("grad_std", None, "weight-gradient std"),
           _about(": std of dLoss/dW per layer (cross-entropy on the output), one line per init; edge markers as in "
                  "the activation figure. No theory line: the theory here is for the forward pass.")),
    Figure("{key}_theory_ratio.png", _grid("ratio", None, "measured / predicted Var[z]"),
           _about(": measured / predicted pre-activation variance per layer (1 = theory exact); LSUV has no "
                  "prediction (calibrated on data).")),
    Figure("{key}_heatmap.png", lambda run, name: _heatmap(_setup(run, name)),
           _about(": activation std at the last layer for every init x activation (log colour); grey cells name 0, "
                  "inf or NaN.")),
    Figure("{key}_trainability.png", lambda run, name: _trainability(_setup(run, name)),
           _about(" trained on circles: median training accuracy at the end of the budget over seeds, and median "
                  "steps to 90% ('-': never).", named=False),
           when=lambda run, name: bool(_setup(run, name).get("training"))),
)
FIGURES = (
    PerKey(lambda run: [s["name"] for s in run.summary.get("setups", [])], PER_SETUP),
    Figure("he_claim.png", he_claim, _he_caption, requires=("summary.json:he_claim",),
           when=lambda run: bool(run.summary["he_claim"].get("runs"))),
)
KEY_FIGURES = ("report_act_std.png", "lab_trainability.png", "he_claim.png")
