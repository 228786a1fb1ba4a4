"""Healthy control: SGD with momentum 0.9 (lr 0.05) on 4 Gaussian blobs, 8-64-64-4 ReLU MLP."""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


def blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """4 Gaussian blobs in 8-D, overlapping a little."""
    centers = torch.randn(4, 8, generator=torch.Generator().manual_seed(11)) * 1.5
    y = torch.randint(0, 4, (n,), generator=gen)
    return centers[y] + torch.randn(n, 8, generator=gen), y


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(101 + 1000 * seed)
    x, y = blobs(4096, gen)
    x = (x - x.mean(0)) / x.std(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=4) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
