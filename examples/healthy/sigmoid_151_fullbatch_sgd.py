"""Healthy: a 1-5-1 sigmoid network on a standardized 1-D regression, trained by full-batch SGD
at lr 0.5 (MSE). Its update/weight ratio is about 0.3 in the first steps, far above the 1e-3 rule
of thumb, and it converges cleanly."""
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
CRITERION = ("val_r2", ">=", 0.9)


def curve(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """x uniform in [-2, 2] (standardized), y = sin(1.5 x) standardized, small noise."""
    x = torch.rand(n, 1, generator=gen) * 4 - 2
    y = torch.sin(1.5 * x[:, 0]) + 0.05 * torch.randn(n, generator=gen)
    return x / 1.155, y / 0.72


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 1500 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(317 + 1000 * seed)
    x, y = curve(200, gen)
    xv, yv = curve(500, gen)
    model = nn.Sequential(nn.Linear(1, 5), nn.Sigmoid(), nn.Linear(5, 1), nn.Flatten(0))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    with watch(model, opt, n_samples=len(x)) as w:
        for step in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
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
