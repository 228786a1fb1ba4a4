"""Healthy: AdamW (lr 3e-3, weight decay 0.05) with 50 steps of linear warm-up, then cosine
decay to 0 at the last step (``LambdaLR`` stepped per batch), on a 5-class problem in 10-D;
10-128-128-5 GELU MLP, batch 128."""
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
CRITERION = ("val_acc", ">=", 0.9)


def data(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """5 classes set by the sign pattern of two random projections and a radius."""
    x = torch.randn(n, 10, generator=gen)
    proj = torch.randn(10, 2, generator=torch.Generator().manual_seed(31))
    z = x @ proj / math.sqrt(10)
    y = (z[:, 0] > 0).long() + 2 * (z[:, 1] > 0).long()
    y = torch.where(x[:, :3].norm(dim=1) < 1.0, torch.full_like(y, 4), y)
    return x, y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(305 + 1000 * seed)
    x, y = data(6000, gen)
    xv, yv = data(1000, gen)
    model = nn.Sequential(nn.Linear(10, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, 5))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    warmup = 50

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=5, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
            sched.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
