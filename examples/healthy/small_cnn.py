"""Healthy control: a small CNN (custom module, nn.ReLU, max-pool) on normalized 12x12
fake digits, Adam lr 1e-3, batch 64."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(102 + 1000 * seed)
    protos = torch.rand(10, 1, 12, 12, generator=torch.Generator().manual_seed(7))
    y = torch.randint(0, 10, (2048,), generator=gen)
    x = (protos[y] + 0.3 * torch.randn(2048, 1, 12, 12, generator=gen)).clamp(0, 1)
    x = (x - x.mean()) / x.std()
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with watch(model, opt, n_classes=10) as w:
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
