"""Healthy control: regression with MSE (not cross-entropy) on a custom module that uses
F.relu, AdamW; ``n_classes`` is not given, so loss_at_init is skipped (an info finding)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 64), nn.Linear(64, 64), nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))).squeeze(-1)


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(104 + 1000 * seed)
    x = torch.randn(4096, 4, generator=gen)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + 0.1 * torch.randn(4096, generator=gen)
    model = Regressor()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    with watch(model, opt) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = F.mse_loss(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
