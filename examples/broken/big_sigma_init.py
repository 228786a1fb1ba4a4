"""Broken: the seed-000 shallow net (2-6-3-2, ReLU) with weights from N(0, 10): the logits are
huge at init, so the first loss is far above ln 2.

Expected: ``loss_at_init``.
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("loss_at_init",)


class ShallowNet(nn.Module):
    """Two hidden layers (6 and 3 units), weights from N(0, sigma), as in seed 000."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma
        self.net = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
        self.apply(self.init_weights)

    def init_weights(self, m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight.data, 0, self.sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(16 + 1000 * seed)
    x = torch.rand(100, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = ShallowNet(sigma=10.0)  # BUG: sigma far too large
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
