"""Broken: a custom linear layer computes its output from ``self.weight.data`` and
``self.bias.data``; ``.data`` is outside autograd, so these parameters never get a gradient and
never change. Only the final ``nn.Linear`` learns, on fixed random features.

Source: https://github.com/d2l-ai/d2l-en/pull/2600 ("self.weight and self.bias should be used
instead of self.weight.data and self.bias.data to make sure that BP works", in the book's
custom-layer ``MyLinear``). Rewritten in plain PyTorch: ``MyLinear`` as in the book (ReLU
inside), initialized like ``nn.Linear`` instead of the book's ``randn`` (a separate problem), in
a regression MLP.

Expected: ``params_not_updating`` (proposed code, examples/PROPOSED_CODES.md).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "broken"
EXPECTED = ("params_not_updating",)
SOURCE = "https://github.com/d2l-ai/d2l-en/pull/2600"
CRITERION = ("val_r2", ">=", 0.8)


class MyLinear(nn.Module):
    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_units)
        self.weight = nn.Parameter(torch.empty(in_units, units).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(units).uniform_(-bound, bound))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        linear = torch.matmul(X, self.weight.data) + self.bias.data  # BUG: .data is not tracked
        return F.relu(linear)


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(2 * x[:, 0]) * x[:, 1] + torch.cos(x[:, 2] + x[:, 3]) - 0.5 * x[:, 4] * x[:, 5]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(204 + 1000 * seed)
    x = torch.randn(4000, 8, generator=gen)
    y = target(x) + 0.05 * torch.randn(4000, generator=gen)
    xv = torch.randn(1000, 8, generator=gen)
    yv = target(xv) + 0.05 * torch.randn(1000, generator=gen)
    net = nn.Sequential(MyLinear(8, 64), MyLinear(64, 64), nn.Linear(64, 1), nn.Flatten(0))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    with watch(net, opt, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(net, x, y, loss_fn, "regression", prefix="train")
    metrics |= evaluate(net, xv, yv, loss_fn, "regression")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
