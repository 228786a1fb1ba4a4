"""Broken: a custom module using F.relu (no nn.ReLU to hook) with hidden biases at -10.

The watcher falls back to counting all-zero inputs of the next layer. Expected: ``dead_units``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "broken"
EXPECTED = ("dead_units",)
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.9)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, 64), nn.Linear(64, 64), nn.Linear(64, 2)
        nn.init.constant_(self.fc1.bias, -10.0)  # BUG
        nn.init.constant_(self.fc2.bias, -10.0)  # BUG

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(18 + 1000 * seed)
    x = torch.rand(512, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses: list[float] = []
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.rand(1000, 2, generator=vgen) * 2 - 1
    yv = (xv.norm(dim=1) < 0.6).long()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, F.cross_entropy, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, F.cross_entropy, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
