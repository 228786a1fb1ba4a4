"""Healthy: fixed version of broken/plain_list_layers.py: the hidden layers are held in an
``nn.ModuleList``, so they are registered, handed to the optimizer and trained.

Source: https://github.com/pytorch/pytorch/issues/715 (the fix the maintainers gave: wrap the
list in ``nn.ModuleList``). 3-class spiral, 2-64-64-64-3 ReLU MLP, Adam 3e-3, batch 64.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "https://github.com/pytorch/pytorch/issues/715"
CRITERION = ("val_acc", ">=", 0.95)


def spirals(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Three interleaved spiral arms in 2-D, a little noise."""
    y = torch.randint(0, 3, (n,), generator=gen)
    r = torch.rand(n, generator=gen)
    theta = 2 * math.pi * y / 3 + 3.0 * r + 0.15 * torch.randn(n, generator=gen)
    x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=1)
    return x / x.std(0), y


class Net(nn.Module):
    def __init__(self, n_in: int, n_hid: int, n_layers: int, n_out: int) -> None:
        super().__init__()
        self.hids = nn.ModuleList()  # FIX: registered, so model.parameters() includes them
        dim = n_in
        for _ in range(n_layers):
            self.hids.append(nn.Sequential(nn.Linear(dim, n_hid), nn.ReLU()))
            dim = n_hid
        self.classifier = nn.Linear(n_hid, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hids:
            x = layer(x)
        return self.classifier(x)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(201 + 1000 * seed)
    x, y = spirals(3000, gen)
    xv, yv = spirals(1000, gen)
    model = Net(2, 64, 3, 3)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=3, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
