"""Broken: a 20-layer ReLU net initialized from N(0, 1) (seed 000, part 2).

Each layer multiplies the activation scale by about sqrt(64 / 2) = 5.7, so outputs and
gradients explode. Expected: ``exploding_gradients`` (also ``loss_at_init``/``nonfinite_loss``).
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("exploding_gradients", "loss_at_init", "nonfinite_loss")


class DeepNet(nn.Module):
    """20 hidden layers of 64 ReLU units, weights drawn from N(0, sigma)."""

    def __init__(self, sigma: float, depth: int = 20, width: int = 64) -> None:
        super().__init__()
        dims = [2] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.act = nn.ReLU()
        self.out = nn.Linear(width, 2)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, sigma)  # BUG: sigma=1 ignores fan-in
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(4 + 1000 * seed)
    x = torch.rand(128, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = DeepNet(sigma=1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
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
