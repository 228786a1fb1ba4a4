"""Healthy: fixed version of broken/autotrainer_oscillating_loss.py with AUTOTRAINER's repair
for an oscillating loss, a larger batch: 32 samples per step (SGD 0.01, momentum 0.9), same
2-50-3 classifier on the same three standardized overlapping blobs.

Source: https://github.com/shiningrain/AUTOTRAINER/tree/master/AutoTrainer/demo_case/Oscillating_Loss_Case
"""
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
SOURCE = "https://github.com/shiningrain/AUTOTRAINER/tree/master/AutoTrainer/demo_case/Oscillating_Loss_Case"
CRITERION = ("val_acc", ">=", 0.85)
BATCH = 32  # FIX: average the gradient over 32 samples


def make_blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn's make_blobs(n, centers=3, n_features=2, cluster_std=2): centres uniform in
    [-10, 10]^2 (fixed), Gaussian clusters of std 2."""
    centers = torch.rand(3, 2, generator=torch.Generator().manual_seed(0)) * 20 - 10
    y = torch.randint(0, 3, (n,), generator=gen)
    return centers[y] + 2 * torch.randn(n, 2, generator=gen), y


def build() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(2, 50), nn.ReLU(), nn.Linear(50, 3))
    nn.init.uniform_(model[0].weight, -math.sqrt(6 / 2), math.sqrt(6 / 2))  # He uniform
    nn.init.xavier_uniform_(model[2].weight)  # Glorot uniform
    for m in (model[0], model[2]):
        nn.init.zeros_(m.bias)
    return model


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(216 + 1000 * seed)
    X, Y = make_blobs(1000, gen)
    X = (X - X[:700].mean(0)) / X[:700].std(0)
    x, y, xv, yv = X[:700], Y[:700], X[700:], Y[700:]
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=3, n_samples=len(x)) as w:
        while len(losses) < steps:
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), BATCH):
                if len(losses) == steps:
                    break
                idx = order[start:start + BATCH]
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
