"""Broken: the model ends in Softmax and its probabilities go into CrossEntropyLoss, which
applies log_softmax again; the loss can never get near 0.

Expected: ``probabilities_into_ce``.
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("probabilities_into_ce",)


def blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """4 Gaussian blobs in 8-D."""
    centers = torch.randn(4, 8, generator=torch.Generator().manual_seed(11)) * 2
    y = torch.randint(0, 4, (n,), generator=gen)
    return centers[y] + torch.randn(n, 8, generator=gen), y


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(8 + 1000 * seed)
    x, y = blobs(1024, gen)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 4), nn.Softmax(dim=1))  # BUG
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=4) as w:
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
