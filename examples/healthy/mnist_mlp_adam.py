"""Healthy control: the MNIST-shaped MLP (784-256-256-10) with Adam 1e-3 on normalized fake
28x28 digits, batch 128, with dropout."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(105 + 1000 * seed)
    protos = torch.rand(10, 784, generator=torch.Generator().manual_seed(7))
    y = torch.randint(0, 10, (4096,), generator=gen)
    x = (protos[y] + 0.5 * torch.randn(4096, 784, generator=gen)).clamp(0, 1)
    x = (x - 0.5) / 0.35  # normalized as usual
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with watch(model, opt, n_classes=10) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
