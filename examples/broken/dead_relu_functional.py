"""Broken: a custom module using F.relu (no nn.ReLU to hook) with hidden biases at -10.

The watcher falls back to counting all-zero inputs of the next layer. Expected: ``dead_units``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("dead_units",)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, 64), nn.Linear(64, 64), nn.Linear(64, 2)
        nn.init.constant_(self.fc1.bias, -10.0)  # BUG
        nn.init.constant_(self.fc2.bias, -10.0)  # BUG

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(18 + 1000 * seed)
    x = torch.rand(512, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
