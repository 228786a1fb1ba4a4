"""Healthy: inputs that are not centred: 6 raw features with means between 1.5 and 2.5 and
standard deviation ~0.5 (e.g. physical measurements), fed as they are to a 6-32-32-2 ReLU MLP
with Adam 3e-3; it trains fine."""
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
CRITERION = ("val_acc", ">=", 0.85)


def measurements(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    means = torch.tensor([2.0, 1.5, 2.5, 2.2, 1.8, 2.0])
    z = torch.randn(n, 6, generator=gen)
    y = (z[:, 0] + z[:, 1] * z[:, 2] - 0.5 * z[:, 3] > 0).long()
    return means + 0.5 * z, y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 500 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(319 + 1000 * seed)
    x, y = measurements(4000, gen)
    xv, yv = measurements(1000, gen)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
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
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
