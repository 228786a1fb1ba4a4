"""Healthy control: a 4-hidden-layer tanh MLP with Xavier init (the right init for tanh),
SGD lr 0.1 on circles, batch 128."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.93)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
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
    losses: list[float] = []
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.rand(1000, 2, generator=vgen) * 2 - 1
    yv = (xv.norm(dim=1) < 0.6).long()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
