"""Healthy control: binary classifier ending in nn.Sigmoid with BCELoss; confident outputs
saturate the output sigmoid, which is expected (the output layer is exempt)."""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(109 + 1000 * seed)
    x = torch.randn(2048, 2, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).float()  # linearly separable: outputs get confident
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.BCELoss()
    with watch(model, opt) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(-1), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
