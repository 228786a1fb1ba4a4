"""Figures of the shallow study, drawn from the study folder alone (never from live objects).

Each figure declares the files it ``requires``; one whose data is missing is skipped with a note.
``draw_figures(folder, summary)`` redraws everything, so a report can be rebuilt from the folder:

- ``curves.npz``: the lab population's train/val loss curves, each member's sigma, the train points;
- ``boundaries.safetensors`` + ``boundaries.json``: the members whose decision boundaries are drawn;
- the summary (``summary.json``) for the statistics over seeds.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from trainlab.experiments.shallow_regimes import LN2, REGIMES  # noqa: E402
from trainlab.nn.population import PopulationMLP  # noqa: E402

SIGMA_LABEL = "init sigma (std of N(0, sigma^2))"
REGIME_COLORS = dict(zip(REGIMES, ("black", "tab:gray", "tab:red", "tab:orange", "tab:green")))
DPI = 110


def _errbar(ax, x, stats: list[dict], **kw) -> None:
    """Median with its 95% CI as error bars; missing medians are skipped."""
    pts = [(xi, s["median"], s["lo"], s["hi"]) for xi, s in zip(x, stats) if s and s.get("median") is not None]
    if not pts:
        return
    xs, med, lo, hi = (np.asarray(v, dtype=float) for v in zip(*pts))
    ax.errorbar(xs, med, yerr=[med - lo, hi - med], capsize=3, **kw)


def fig_loss_curves(folder: Path, s: dict, path: Path) -> str:
    d = np.load(folder / "curves.npz", allow_pickle=False)
    sig = d["sigma"]
    sigmas = sorted(float(v) for v in np.unique(sig[np.isfinite(sig)]))
    norm = LogNorm(min(sigmas), max(sigmas))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True, layout="constrained")
    for ax, key, what in ((axes[0], "train_loss", "train loss (100 points)"),
                          (axes[1], "val_loss", "val loss (first 1,000 val points)")):
        for sv in sigmas:
            c = d[key][:, np.isclose(sig, sv)]
            c = np.where(np.isfinite(c), c, np.nan)
            color = cmap(norm(sv))
            ax.plot(d["steps"], np.nanmedian(c, axis=1), color=color, lw=1.4)
            ax.fill_between(d["steps"], np.nanquantile(c, 0.25, axis=1), np.nanquantile(c, 0.75, axis=1),
                            color=color, alpha=0.12, lw=0)
        ax.axhline(LN2, color="k", ls="--", lw=1, label="ln 2 (chance)", zorder=0)
        ax.set(yscale="log", xlabel="step (full-batch GD, lr 0.1)", ylabel="cross-entropy (nats)", title=what)
        ax.legend(loc="upper right")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=SIGMA_LABEL)
    fig.suptitle(f"loss curves per init sigma: median line and 25-75% band over {s['seeds']} seeds")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return (f"Train and val loss curves of the 2-6-3-2 ReLU net per init sigma (colour, log scale), median line and "
            f"interquartile band over {s['seeds']} seeds; dashed: ln 2, the loss of a chance-level guess.")


def fig_sigma_sweep(folder: Path, s: dict, path: Path) -> str:
    rows = s["sigmas"]
    x = [r["sigma"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6))
    _errbar(a, x, [r["val_acc"] for r in rows], color="0.4", fmt="-", lw=1, zorder=1)
    for reg in REGIMES:
        pts = [(r["sigma"], r["val_acc"]["median"]) for r in rows if r["regime"] == reg and r["val_acc"]["median"] is not None]
        if pts:
            a.scatter(*zip(*pts), color=REGIME_COLORS[reg], label=reg, zorder=3, s=30)
    for key, v in s["picked"].items():
        if v is not None:
            a.axvline(v, color="tab:blue", ls=":", lw=1)
            a.annotate(key, (v, 0.46), rotation=90, fontsize=8, color="tab:blue", ha="right")
    a.set(xscale="log", ylim=(0.4, 1.02), xlabel=SIGMA_LABEL, ylabel="val accuracy (10,000 points)",
          title="final val accuracy: median, 95% CI, regime (majority of seeds)")
    a.legend(fontsize=8, loc="lower left")
    _errbar(b, x, [r["loss_at_init"] for r in rows], color="tab:purple", fmt="o-", ms=4, label="median loss at init")
    b.axhline(LN2, color="k", ls="--", lw=1, label="ln 2 = -log(1/2)")
    b.set(xscale="log", yscale="log", xlabel=SIGMA_LABEL, ylabel="train loss at step 0 (nats)",
          title="loss at init vs the ln 2 check, 95% CI over seeds")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return ("Left: final val accuracy against init sigma, coloured by the majority regime, with the three picked "
            "sigmas. Right: train loss at init against sigma with the ln 2 line: the check passes for small sigma "
            "and fails by orders of magnitude for large sigma.")


def fig_boundaries(folder: Path, s: dict, path: Path) -> str:
    from safetensors.torch import load_file

    info = json.loads((folder / "boundaries.json").read_text())
    state = load_file(str(folder / "boundaries.safetensors"))
    model = PopulationMLP.from_state_dict([2, 6, 3, 2], "relu", state)
    d = np.load(folder / "curves.npz", allow_pickle=False)
    xt, yt = d["train_x"], d["train_y"]
    lim = float(np.abs(xt).max()) * 1.15
    g = np.linspace(-lim, lim, 241)
    gx, gy = np.meshgrid(g, g)
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    with torch.no_grad():
        prob = torch.softmax(model(grid), -1)[..., 1].numpy()
    fig, axes = plt.subplots(1, len(info), figsize=(4.2 * len(info), 4.8), squeeze=False, layout="constrained")
    for k, (ax, m) in enumerate(zip(axes[0], info)):
        p = prob[k].reshape(gx.shape)
        ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1)
        ax.scatter(xt[:, 0], xt[:, 1], c=yt, cmap="bwr", edgecolors="k", s=16, lw=0.5)
        ax.set(aspect="equal", xlabel="x1", ylabel="x2", title=f"{m['title']}\n{m['regime']}, val acc {m['val_acc']:.3f}")
    fig.suptitle("decision boundaries of trained members (black line: P = 0.5); dots: training points")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return ("Decision boundaries (black: P = 0.5; colour: P(outer ring)) of trained members: for each of the "
            "picked sigmas and Glorot normal, the seed with the median val accuracy; dots: the 100 training points.")


def fig_data_scaling(folder: Path, s: dict, path: Path) -> str:
    rows = s["data_scaling"]
    lab = sorted((r for r in rows if "equivalent_sigma" in r), key=lambda r: r["factor"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6))
    f = [r["factor"] for r in lab]
    _errbar(a, f, [r["val_acc"] for r in lab], fmt="o-", color="tab:blue", label="inputs x f (sigma fixed), median, 95% CI")
    sweep = [(r["factor"], r["sweep_val_acc_at_equivalent_sigma"]) for r in lab
             if r["sweep_val_acc_at_equivalent_sigma"] is not None]
    if sweep:
        a.plot(*zip(*sweep), "s--", color="tab:orange", label="sweep at the init-equivalent sigma * f^(1/3)")
    a.set(xscale="log", ylim=(0.4, 1.02), xlabel="input scale factor f", ylabel="val accuracy",
          title="scaling the data vs scaling the init (lab set-up)")
    a.legend(fontsize=8)
    bars = [r for r in rows if "equivalent_sigma" not in r]
    names = [r["transform"].replace("centred at (10, 10), ", "").replace("standardized", "std")
             + ("\nreport set-up" if "report_value" in r else "\nlab set-up") for r in bars]
    stats = [r.get("test_acc", r["val_acc"]) for r in bars]
    _errbar(b, range(len(bars)), stats, fmt="o", color="tab:blue", label="median, 95% CI (report set-up: test acc)")
    rep = [(i, r["report_value"]) for i, r in enumerate(bars) if "report_value" in r]
    if rep:
        b.scatter(*zip(*rep), marker="x", color="tab:red", s=60, zorder=3, label="the student report (one run)")
    b.set_xticks(range(len(bars)), names, fontsize=7)
    b.set(ylim=(0.4, 1.02), ylabel="accuracy", title="circles centred at (10, 10): raw vs standardized")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return ("Left: val accuracy when the inputs are multiplied by f (init sigma fixed), next to the sigma sweep at "
            "the sigma that gives the same logits at init. Right: circles centred at (10, 10), unnormalized vs "
            "standardized, in the lab's set-up and in the report's (AdamW 3e-4, best init per seed, test set).")


def fig_schemes_breakers(folder: Path, s: dict, path: Path) -> str:
    items = [(f"sigma = {v:g} ({k})", r) for k, v in s["picked"].items() for r in s["sigmas"] if r["sigma"] == v]
    items += [(r["label"], r) for r in s["schemes"]] + [(f"breaker: {r['name']}", r) for r in s["breakers"]]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(items) + 1.2))
    y = np.arange(len(items))[::-1]
    for yi, (name, r) in zip(y, items):
        st = r["val_acc"]
        if st.get("median") is not None:
            ax.errorbar([st["median"]], [yi], xerr=[[st["median"] - st["lo"]], [st["hi"] - st["median"]]], fmt="o",
                        color=REGIME_COLORS.get(r["regime"], "k"), capsize=3)
    ax.set_yticks(y, [n for n, _ in items], fontsize=8)
    ax.set(xlim=(0.4, 1.02), xlabel="val accuracy, median and 95% CI over seeds",
           title="init schemes and breakers (colour: majority regime)")
    ax.axvline(0.5, color="k", lw=0.8, ls=":")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return "Val accuracy of the picked sigmas, the named init schemes and the ways to break training, coloured by regime."


@dataclass(frozen=True)
class Figure:
    file: str
    requires: tuple[str, ...]  # files in the study folder
    draw: Callable[[Path, dict, Path], str]  # (folder, summary, output path) -> caption


FIGURES: tuple[Figure, ...] = (
    Figure("loss_curves.png", ("curves.npz",), fig_loss_curves),
    Figure("sigma_sweep.png", (), fig_sigma_sweep),
    Figure("decision_boundaries.png", ("curves.npz", "boundaries.json", "boundaries.safetensors"), fig_boundaries),
    Figure("data_scaling.png", (), fig_data_scaling),
    Figure("schemes_breakers.png", (), fig_schemes_breakers),
)


def draw_figures(folder: Path, summary: dict[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    """Draw every figure whose data is in ``folder``; returns ([{file, caption}], notes on skipped ones)."""
    folder = Path(folder)
    figures, notes = [], []
    for fig in FIGURES:
        missing = [r for r in fig.requires if not (folder / r).is_file()]
        if missing:
            notes.append(f"{fig.file} skipped: missing {', '.join(missing)}")
            continue
        figures.append({"file": fig.file, "caption": fig.draw(folder, summary, folder / fig.file)})
    return figures, notes
