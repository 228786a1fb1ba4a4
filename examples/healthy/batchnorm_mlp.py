"""Healthy: an MLP with ``BatchNorm1d`` after each hidden layer (20-128-128-4), SGD 0.05 with
momentum 0.9, batch 128, on 4 overlapping Gaussian classes in 20-D; evaluated in eval mode."""
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


def blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    centers = torch.randn(4, 20, generator=torch.Generator().manual_seed(41)) * 0.7
    y = torch.randint(0, 4, (n,), generator=gen)
    return centers[y] + torch.randn(n, 20, generator=gen), y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 300 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(306 + 1000 * seed)
    x, y = blobs(5000, gen)
    xv, yv = blobs(1000, gen)
    model = nn.Sequential(nn.Linear(20, 128), nn.BatchNorm1d(128), nn.ReLU(),
                          nn.Linear(128, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=4, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
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
