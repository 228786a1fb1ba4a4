"""Healthy: large data, one pass: 60,000 samples in 32-D, batches of 256 drawn without
replacement, 234 steps (one epoch, no sample seen twice); 32-256-256-10 ReLU MLP, Adam 1e-3."""
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


def data(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """10 classes from a fixed random teacher: the largest of 10 random projections, slightly
    bent by a tanh."""
    w = torch.randn(32, 10, generator=torch.Generator().manual_seed(51))
    x = torch.randn(n, 32, generator=gen)
    z = x @ w
    return x, (z + 0.5 * torch.tanh(z) * z.roll(1, dims=1)).argmax(1)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 234 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(309 + 1000 * seed)
    x, y = data(60_000, gen)
    xv, yv = data(2000, gen)
    model = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(x), generator=gen)
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        for step in range(steps):
            idx = order[(step * 256) % len(x):(step * 256) % len(x) + 256]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x[:10_000], y[:10_000], loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
