"""Healthy: full-batch gradient descent (seed 003's GD-vs-SGD study): all 200 points of two
moons in every step, so the same inputs arrive at every step by design; 2-32-32-2 tanh MLP,
plain GD at lr 0.5, 800 steps."""
from __future__ import annotations

import math
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
CRITERION = ("val_acc", ">=", 0.93)


def moons(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, 2, (n,), generator=gen)
    t = math.pi * torch.rand(n, generator=gen)
    yf = y.float()
    x = torch.stack([torch.cos(t) + yf * (1 - 2 * torch.cos(t)), torch.sin(t) * (1 - 2 * yf) + 0.5 * yf], 1)
    x = x + 0.15 * torch.randn(n, 2, generator=gen)
    return (x - torch.tensor([0.5, 0.25])) / torch.tensor([0.87, 0.5]), y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 800 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(321 + 1000 * seed)
    x, y = moons(200, gen)
    xv, yv = moons(1000, gen)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
