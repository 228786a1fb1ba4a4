"""Healthy control: ``watch(model)`` without the optimizer; the update/weight checks are skipped
and an info finding says so. SGD with momentum on circles."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.95)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(107 + 1000 * seed)
    x = torch.rand(2048, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, n_classes=2) as w:  # no optimizer passed
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.rand(1000, 2, generator=vgen) * 2 - 1
    yv = (xv.norm(dim=1) < 0.6).long()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
