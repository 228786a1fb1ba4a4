"""Broken: ``optimizer.zero_grad()`` is never called, so .grad sums every past gradient.

Expected: ``grad_accumulation``.
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("grad_accumulation",)


def circles(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in [-1, 1]^2; class 1 inside the circle of radius 0.6."""
    x = torch.rand(n, 2, generator=gen) * 2 - 1
    return x, (x.norm(dim=1) < 0.6).long()


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(9 + 1000 * seed)
    x, y = circles(512, gen)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            loss = loss_fn(model(x[idx]), y[idx])  # BUG: no opt.zero_grad()
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
