"""Healthy control: ``watch(model)`` without the optimizer; the update/weight checks are skipped
and an info finding says so. SGD with momentum on circles."""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(107 + 1000 * seed)
    x = torch.rand(2048, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, n_classes=2) as w:  # no optimizer passed
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
