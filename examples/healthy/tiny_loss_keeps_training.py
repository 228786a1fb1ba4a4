"""Healthy: tiny losses, training goes on: a 2-64-64-2 ReLU MLP on two well-separated classes
reaches train and validation loss near 1e-3 with validation accuracy 1.0, then keeps training
for hundreds of steps; validation every 25 steps wobbles at that tiny level (Adam 3e-3)."""
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
CRITERION = ("val_acc", ">=", 0.995)


def separated(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian classes 6 standard deviations apart along a diagonal."""
    y = torch.randint(0, 2, (n,), generator=gen)
    return (2 * y[:, None] - 1) * torch.tensor([2.1, 2.1]) + torch.randn(n, 2, generator=gen), y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(314 + 1000 * seed)
    x, y = separated(2000, gen)
    xv, yv = separated(1000, gen)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(1, steps + 1):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
            if step % 25 == 0:
                val = evaluate(model, xv, yv, loss_fn, "multiclass")
                w.record_val(val["val_loss"], val["val_acc"])
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
