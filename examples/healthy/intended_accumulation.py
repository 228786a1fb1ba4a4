"""Healthy control: intended gradient accumulation over 4 micro-batches of 16, with
``zero_grad`` once per optimizer step; must not be mistaken for a missing zero_grad."""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(108 + 1000 * seed)
    x = torch.rand(2048, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            opt.zero_grad()
            total = 0.0
            for _ in range(4):  # micro-batches: .grad sums on purpose
                idx = torch.randint(0, len(x), (16,), generator=gen)
                loss = loss_fn(model(x[idx]), y[idx]) / 4
                loss.backward()
                total += loss.item()
            w.step(total)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
