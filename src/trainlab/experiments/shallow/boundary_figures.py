"""Decision-boundary figures of the shallow study: every set-up as one grid, and snapshots over training.

Drawn from the folder alone (``boundaries.py`` says what it stores): the weights of the chosen
members, their populations' training points, and the net's shape from the summary. A boundary is
drawn in its population's own input coordinates (the member's input scale and offset are part of
its weights), with that population's training points on top.
"""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from trainlab.nn.population import PopulationMLP  # noqa: E402
from trainlab.report.figures import Figure  # noqa: E402
from trainlab.report.folder import RunData  # noqa: E402

GRID_POINTS = 121  # per axis: enough for a smooth P = 0.5 line in a small panel
NCOL = 6


def _grid(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    lim_lo = points.min(axis=0) - 0.15 * np.ptp(points, axis=0)
    lim_hi = points.max(axis=0) + 0.15 * np.ptp(points, axis=0)
    gx, gy = np.meshgrid(np.linspace(lim_lo[0], lim_hi[0], GRID_POINTS), np.linspace(lim_lo[1], lim_hi[1], GRID_POINTS))
    return gx, gy, torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)


def _panel(ax, gx, gy, prob: np.ndarray, x: np.ndarray, y: np.ndarray, title: str) -> None:
    p = prob.reshape(gx.shape)
    ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    if p.min() < 0.5 < p.max():
        ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=0.9)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="bwr", edgecolors="k", s=7, lw=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)


def _model(run: RunData, file: str) -> PopulationMLP:
    from safetensors.torch import load_file

    net = run.summary["network"]
    return PopulationMLP.from_state_dict(net["sizes"], net["activation"], load_file(str(run.path(file))))


@torch.no_grad()
def boundary_grid(run: RunData):
    entries = run.json("boundary_grid.json")
    model = _model(run, "boundary_grid.safetensors")
    pts = run.npz("boundary_points.npz")
    nrow = math.ceil(len(entries) / NCOL)
    fig, axes = plt.subplots(nrow, NCOL, figsize=(2.3 * NCOL, 2.45 * nrow), squeeze=False, layout="constrained")
    grids = {}
    for k, (ax, e) in enumerate(zip(axes.flat, entries)):
        pop = e["population"]
        if pop not in grids:
            grids[pop] = _grid(pts[f"x__{pop}"])
        gx, gy, g = grids[pop]
        prob = torch.softmax(model.select([k])(g)[0], -1)[:, 1].numpy()
        _panel(ax, gx, gy, prob, pts[f"x__{pop}"], pts[f"y__{pop}"],
               f"{e['title']}\n{e['regime']}, val acc {e['val_acc']:.3f}")
    for ax in list(axes.flat)[len(entries):]:
        ax.axis("off")
    fig.suptitle("Decision boundaries of every set-up (the seed with the median val accuracy; black: P = 0.5)")
    return fig


def boundary_grid_caption(run: RunData) -> str:
    n = len(run.json("boundary_grid.json"))
    return (f"Decision boundaries of all {n} set-ups of the study, one trained member each (the seed with its "
            "group's median val accuracy): the picked sigmas, the named inits, every data scale and transform (the "
            "student report's AdamW set-up, 'report: case / init', with the init best on val) and every breaker. Colour: P(outer "
            "ring); black line: P = 0.5 (absent when the net predicts one class everywhere); dots: the population's "
            "training points as stored (a data scale or offset is applied inside the member, so each panel shows "
            "the same circles).")


@torch.no_grad()
def boundary_snapshots(run: RunData):
    info = run.json("snapshots.json")
    from safetensors.torch import load_file

    state = load_file(str(run.path("snapshots.safetensors")))
    net = run.summary["network"]
    d = run.npz("curves.npz")
    xt, yt = d["train_x"], d["train_y"]
    gx, gy, g = _grid(xt)
    steps, rows = info["steps"], info["members"]
    fig, axes = plt.subplots(len(rows), len(steps), figsize=(2.3 * len(steps), 2.4 * len(rows)), squeeze=False,
                             layout="constrained")
    for c, step in enumerate(steps):
        sub = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"s{step}.")}
        model = PopulationMLP.from_state_dict(net["sizes"], net["activation"], sub)
        prob = torch.softmax(model(g), -1)[..., 1].numpy()
        for r, e in enumerate(rows):
            _panel(axes[r, c], gx, gy, prob[r], xt, yt, f"{e['title'].split(',')[0]}\nstep {step}")
    fig.suptitle("One member's decision boundary over training, per picked sigma (full-batch GD)")
    return fig


def snapshots_caption(run: RunData) -> str:
    info = run.json("snapshots.json")
    return ("Decision boundary of one member (the seed with the median val accuracy) of each picked sigma at steps "
            f"{', '.join(str(s) for s in info['steps'])} of full-batch gradient descent; dots: the training points.")

FIGURES = (
    Figure("boundary_grid.png", boundary_grid, boundary_grid_caption,
           requires=("boundary_grid.json", "boundary_grid.safetensors", "boundary_points.npz")),
    Figure("boundary_snapshots.png", boundary_snapshots, snapshots_caption,
           requires=("snapshots.json", "snapshots.safetensors", "curves.npz")),
)
