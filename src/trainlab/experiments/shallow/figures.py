"""Figures of the shallow study: declarations of the ``report.figures`` protocol.

Each figure is drawn from the study folder alone (never from live objects):

- ``curves.npz``: the lab population's train/val loss curves, each member's sigma, the train points;
- ``boundaries.safetensors`` + ``boundaries.json``: the members whose decision boundaries are drawn
  (the net's shape and activation come from the summary's ``network``);
- the summary for the statistics over seeds and the settings (point counts, steps, lr).
"""
from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from trainlab.experiments.shallow import boundary_figures  # noqa: E402
from trainlab.experiments.shallow.regimes import LN2, REGIMES  # noqa: E402
from trainlab.nn.population import PopulationMLP  # noqa: E402
from trainlab.report.figures import Figure, band_iqr, errorbars_ci  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

SIGMA_LABEL = "init sigma (std of N(0, sigma^2))"
REGIME_COLORS = dict(zip(REGIMES, ("black", "tab:gray", "tab:red", "tab:orange", "tab:green")))


def _net(s: dict) -> str:
    """The net in words, from the summary: "2-6-3-2 ReLU"."""
    net = s["network"]
    return f"{'-'.join(map(str, net['sizes']))} {net['activation'].replace('relu', 'ReLU')}"


def _sigma_colours(d) -> tuple[np.ndarray, list[float], LogNorm, Any]:
    """Each member's sigma, the distinct sigmas, and the log-scaled colour map the curve figures share."""
    sig = d["sigma"]
    sigmas = sorted(float(v) for v in np.unique(sig[np.isfinite(sig)]))
    return sig, sigmas, LogNorm(min(sigmas), max(sigmas)), plt.get_cmap("viridis")


def loss_curves(run: RunData):
    s, d = run.summary, run.npz("curves.npz")
    st = s["settings"]
    sig, sigmas, norm, cmap = _sigma_colours(d)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True, layout="constrained")
    for ax, key, what in ((axes[0], "train_loss", f"train loss ({st['n_train']:,} points)"),
                          (axes[1], "val_loss", f"val loss (first {min(st['n_curve'], st['n_val']):,} val points)")):
        for sv in sigmas:
            c = d[key][:, np.isclose(sig, sv)]
            band_iqr(ax, d["steps"], np.where(np.isfinite(c), c, np.nan), color=cmap(norm(sv)), lw=1.4, alpha=0.12)
        ax.axhline(LN2, color="k", ls="--", lw=1, label="ln 2 (chance)", zorder=0)
        ax.set(yscale="log", xlabel=f"step (full-batch GD, lr {st['lr']:g})", ylabel="cross-entropy (nats)", title=what)
        ax.legend(loc="upper right")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=SIGMA_LABEL)
    fig.suptitle(f"loss curves per init sigma: median line and 25-75% band over {s['seeds']} seeds")
    return fig


def loss_curves_caption(run: RunData) -> str:
    s = run.summary
    return (f"Train and val loss curves of the {_net(s)} net per init sigma (colour, log scale), median line and "
            f"interquartile band over {s['seeds']} seeds; dashed: ln 2, the loss of a chance-level guess.")


def accuracy_curves(run: RunData):
    s, d = run.summary, run.npz("curves.npz")
    st = s["settings"]
    sig, sigmas, norm, cmap = _sigma_colours(d)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True, layout="constrained")
    for sv in sigmas:
        band_iqr(a, d["steps"], d["val_acc"][:, np.isclose(sig, sv)], color=cmap(norm(sv)), lw=1.2, alpha=0.1)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=a, label=SIGMA_LABEL)
    a.set(title="val accuracy per init sigma", xlabel=f"step (full-batch GD, lr {st['lr']:g})",
          ylabel=f"val accuracy (first {min(st['n_curve'], st['n_val']):,} val points)", ylim=(0.4, 1.02))
    for key, v in s["picked"].items():
        if v is not None:
            band_iqr(b, d["steps"], d["val_acc"][:, np.isclose(sig, v)], lw=1.6, label=f"sigma = {v:g} ({key})")
    names = [str(n) for n in d["scheme_names"]]
    for name in ("xavier_normal", "kaiming_normal"):
        if name in names:
            cols = d["scheme"] == names.index(name)
            band_iqr(b, d["steps"], d["val_acc"][:, cols], lw=1.6, style="--", label=name)
    b.set(title="the picked sigmas, Glorot and He", xlabel="step")
    b.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"val accuracy over training: median line and 25-75% band over {s['seeds']} seeds")
    return fig


def sigma_sweep(run: RunData):
    s = run.summary
    rows = s["sigmas"]
    x = [r["sigma"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6))
    errorbars_ci(a, x, [r["val_acc"] for r in rows], color="0.4", fmt="-", lw=1, zorder=1)
    for reg in REGIMES:
        pts = [(r["sigma"], r["val_acc"]["median"]) for r in rows if r["regime"] == reg and r["val_acc"]["median"] is not None]
        if pts:
            a.scatter(*zip(*pts), color=REGIME_COLORS[reg], label=reg, zorder=3, s=30)
    for key, v in s["picked"].items():
        if v is not None:
            a.axvline(v, color="tab:blue", ls=":", lw=1)
            a.annotate(key, (v, 0.46), rotation=90, fontsize=8, color="tab:blue", ha="right")
    a.set(xscale="log", ylim=(0.4, 1.02), xlabel=SIGMA_LABEL, ylabel=f"val accuracy ({s['settings']['n_val']:,} points)",
          title="final val accuracy: median, 95% CI, regime (majority of seeds)")
    a.legend(fontsize=8, loc="lower left")
    errorbars_ci(b, x, [r["loss_at_init"] for r in rows], color="tab:purple", fmt="o-", ms=4, label="median loss at init")
    b.axhline(LN2, color="k", ls="--", lw=1, label="ln 2 = -log(1/2)")
    b.set(xscale="log", yscale="log", xlabel=SIGMA_LABEL, ylabel="train loss at step 0 (nats)",
          title="loss at init vs the ln 2 check, 95% CI over seeds")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


SIGMA_SWEEP_CAPTION = (
    "Left: final val accuracy against init sigma, coloured by the majority regime, with the three picked sigmas. "
    "Right: train loss at init against sigma with the ln 2 line: the check passes for small sigma and fails by "
    "orders of magnitude for large sigma.")


def boundaries(run: RunData):
    from safetensors.torch import load_file

    info = run.json("boundaries.json")
    net = run.summary["network"]
    state = load_file(str(run.path("boundaries.safetensors")))
    model = PopulationMLP.from_state_dict(net["sizes"], net["activation"], state)
    d = run.npz("curves.npz")
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
    return fig


def boundaries_caption(run: RunData) -> str:
    return ("Decision boundaries (black: P = 0.5; colour: P(outer ring)) of trained members: for each of the "
            "picked sigmas and Glorot normal, the seed with the median val accuracy; dots: the "
            f"{run.summary['settings']['n_train']:,} training points.")


def data_scaling(run: RunData):
    rows = run.summary["data_scaling"]
    lab = sorted((r for r in rows if "equivalent_sigma" in r), key=lambda r: r["factor"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.6))
    f = [r["factor"] for r in lab]
    errorbars_ci(a, f, [r["val_acc"] for r in lab], fmt="o-", color="tab:blue",
                 label="inputs x f (sigma fixed), median, 95% CI")
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
    errorbars_ci(b, range(len(bars)), stats, fmt="o", color="tab:blue", label="median, 95% CI (report set-up: test acc)")
    rep = [(i, r["report_value"]) for i, r in enumerate(bars) if "report_value" in r]
    if rep:
        b.scatter(*zip(*rep), marker="x", color="tab:red", s=60, zorder=3, label="the student report (one run)")
    b.set_xticks(range(len(bars)), names, fontsize=7)
    b.set(ylim=(0.4, 1.02), ylabel="accuracy", title="circles centred at (10, 10): raw vs standardized")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


DATA_SCALING_CAPTION = (
    "Left: val accuracy when the inputs are multiplied by f (init sigma fixed), next to the sigma sweep at the sigma "
    "that gives the same logits at init. Right: circles centred at (10, 10), unnormalized vs standardized, in the "
    "lab's set-up and in the report's (AdamW 3e-4, best init per seed, test set).")


def schemes_breakers(run: RunData):
    s = run.summary
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
    return fig


FIGURES: tuple[Figure, ...] = (
    Figure("loss_curves.png", loss_curves, loss_curves_caption, requires=("curves.npz",)),
    Figure("accuracy_curves.png", accuracy_curves,
           "Val accuracy over training, not only loss: left per init sigma (colour), right the three picked sigmas "
           "with Glorot and He normal (dashed); median line and interquartile band over seeds.",
           requires=("curves.npz:val_acc", "curves.npz:scheme")),
    Figure("sigma_sweep.png", sigma_sweep, SIGMA_SWEEP_CAPTION),
    Figure("decision_boundaries.png", boundaries, boundaries_caption,
           requires=("curves.npz", "boundaries.json", "boundaries.safetensors")),
    Figure("data_scaling.png", data_scaling, DATA_SCALING_CAPTION),
    Figure("schemes_breakers.png", schemes_breakers,
           "Val accuracy of the picked sigmas, the named init schemes and the ways to break training, coloured by "
           "regime."),
    *boundary_figures.FIGURES,
)
KEY_FIGURES = ("sigma_sweep.png", "boundary_grid.png", "accuracy_curves.png")
