"""Broken: raw pixel values 0..255 fed to an MLP (no normalization).

Expected: ``unnormalized_inputs``. A classic slip: ``torch.tensor(img)`` on uint8 images
without ``/ 255`` and mean/std normalization.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("unnormalized_inputs",)


def fake_mnist(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """10 classes of 12x12 'digits': a random prototype per class plus noise, in [0, 1]."""
    protos = torch.rand(10, 144, generator=torch.Generator().manual_seed(7))
    y = torch.randint(0, 10, (n,), generator=gen)
    x = (protos[y] + 0.3 * torch.randn(n, 144, generator=gen)).clamp(0, 1)
    return x, y


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(0 + 1000 * seed)
    x, y = fake_mnist(2048, gen)
    x = (x * 255).round()  # BUG: raw 0..255 pixels
    model = nn.Sequential(nn.Linear(144, 128), nn.ReLU(), nn.Linear(128, 10))
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
