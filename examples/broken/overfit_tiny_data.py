"""Broken: a big MLP trained on 20 noisy samples; validation loss rises while training loss
falls. Validation is recorded with ``w.record_val``.

Expected: ``overfitting``.
"""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED = ("overfitting",)


def noisy_circles(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Circles with 20% of the labels flipped: memorizing them cannot generalize."""
    x = torch.rand(n, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    flip = torch.rand(n, generator=gen) < 0.2
    return x, torch.where(flip, 1 - y, y)


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(10 + 1000 * seed)
    x, y = noisy_circles(20, gen)  # BUG: tiny training set ...
    xv, yv = noisy_circles(1000, gen)
    model = nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 2))  # ... for a big network
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=2) as w:
        for step in range(1, steps + 1):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            w.step(loss)
            opt.step()
            if step % 20 == 0:
                with torch.no_grad():
                    out = model(xv)
                    w.record_val(loss_fn(out, yv).item(), (out.argmax(1) == yv).float().mean().item())
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
