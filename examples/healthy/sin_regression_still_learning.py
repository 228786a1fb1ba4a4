"""Healthy: still learning, slowly: an 8-64-64-1 ReLU MLP with Adam 1e-3 regresses
sin(2 x1 - x2) plus noise from 8 standard-normal features (6 irrelevant), MSE, batch 32. The loss
falls steadily from the target's variance (~0.53) to ~0.44 by step 100 and keeps falling."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "trainlab"
CRITERION = ("val_r2", ">=", 0.5)


def data(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 8, generator=gen)
    return x, torch.sin(2 * x[:, 0] - x[:, 1]) + 0.15 * torch.randn(n, generator=gen)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(318 + 1000 * seed)
    x, y = data(8000, gen)
    xv, yv = data(2000, gen)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Flatten(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    with watch(model, opt, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses), "loss_at_100": sum(losses[90:110]) / 20}
    metrics |= evaluate(model, x, y, loss_fn, "regression", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "regression")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
