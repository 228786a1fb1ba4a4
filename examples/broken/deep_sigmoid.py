"""Broken: a 20-layer sigmoid net. Each sigmoid scales the backward signal by <= 1/4, so the
first layers get almost no gradient.

Expected: ``vanishing_gradients``.
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("vanishing_gradients",)


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(6 + 1000 * seed)
    x = torch.rand(128, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    layers: list[nn.Module] = [nn.Linear(2, 64), nn.Sigmoid()]
    for _ in range(19):
        layers += [nn.Linear(64, 64), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
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
