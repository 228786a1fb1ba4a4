"""Healthy: fixed version of broken/mse_shape_broadcast.py: the head's (N, 1) output is
squeezed to (N,) before ``MSELoss``, so each prediction is compared with its own label.

Source: https://github.com/deepset-ai/FARM/issues/229 (fixed there by making the shapes match).
MLP regressor on 12 features, raw targets in about 0..16, Adam 3e-3, batch 32.
"""
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
SOURCE = "https://github.com/deepset-ai/FARM/issues/229"
CRITERION = ("val_r2", ">=", 0.8)


def scores(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """12 standardized features; a score in about 0..16 that depends on them nonlinearly."""
    x = torch.randn(n, 12, generator=gen)
    w = torch.linspace(-1, 1, 12)
    y = 8 + 2.5 * (x @ w) / 2 + 1.5 * torch.tanh(x[:, 0] * x[:, 1]) + 0.3 * torch.randn(n, generator=gen)
    return x, y.clamp(0, 16)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(208 + 1000 * seed)
    x, y = scores(4000, gen)
    xv, yv = scores(1000, gen)
    model = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    with watch(model, opt, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(1), y[idx])  # FIX: (32,) against (32,)
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings

    def flat_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(out.squeeze(1), t)

    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, flat_loss, "regression", prefix="train")
    metrics |= evaluate(model, xv, yv, flat_loss, "regression")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
