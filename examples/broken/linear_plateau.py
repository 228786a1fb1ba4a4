"""Broken: a linear model (no hidden layer) on circles cannot separate the classes; the loss
drops a little, then sits near ln 2 for the rest of training.

Expected: ``loss_plateau``.
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("loss_plateau",)


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(15 + 1000 * seed)
    x = torch.rand(1024, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.8).long()  # balanced-ish classes, not linearly separable
    model = nn.Linear(2, 2)  # BUG: no capacity for a circular boundary
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
