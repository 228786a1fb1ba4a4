"""Healthy: regression with ``L1Loss`` (mean absolute error) on targets with heavy-tailed
(Laplace-like) noise, where L1 is the right choice; 10-64-64-1 ReLU MLP, AdamW 3e-3 with weight
decay 1e-2, batch 64."""
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
CRITERION = ("val_loss", "<=", 0.35)  # mean absolute error; the noise alone gives ~0.2


def data(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 10, generator=gen)
    clean = x[:, 0] - 0.5 * x[:, 1] + torch.tanh(2 * x[:, 2]) * x[:, 3]
    u = torch.rand(n, generator=gen) - 0.5
    noise = -0.2 * torch.sign(u) * torch.log1p(-2 * u.abs())  # Laplace, scale 0.2
    return x, clean + noise


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 500 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(303 + 1000 * seed)
    x, y = data(4000, gen)
    xv, yv = data(1000, gen)
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Flatten(0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    loss_fn = nn.L1Loss()
    losses: list[float] = []
    with watch(model, opt, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "regression", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "regression")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
