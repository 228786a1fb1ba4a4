"""Healthy control: a 4-hidden-layer tanh MLP with Xavier init (the right init for tanh),
SGD lr 0.1 on circles, batch 128."""
from __future__ import annotations

import torch
from torch import nn

from trainlab.findings import Finding
from trainlab.watch import watch

EXPECTED: tuple[str, ...] = ()


def run(steps: int = 200, seed: int = 0) -> list[Finding]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(103 + 1000 * seed)
    x = torch.rand(4096, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    layers: list[nn.Module] = []
    dims = [2, 64, 64, 64, 64]
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(64, 2))
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for m in linears:  # tanh gain for the hidden layers, gain 1 for the linear output layer
        gain = 1.0 if m is linears[-1] else nn.init.calculate_gain("tanh")
        nn.init.xavier_normal_(m.weight, gain=gain)
        nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return w.findings


if __name__ == "__main__":
    for f in run():
        print(f)
