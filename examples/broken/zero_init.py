"""Broken: every weight initialized to zero, so all hidden units stay identical.

Expected: ``symmetric_init``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "broken"
EXPECTED = ("symmetric_init",)
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.9)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, 32), nn.Linear(32, 32), nn.Linear(32, 2)
        self.act = nn.Tanh()
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.zeros_(fc.weight)  # BUG: no symmetry breaking
            nn.init.zeros_(fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(7 + 1000 * seed)
    x = torch.rand(512, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses: list[float] = []
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.rand(1000, 2, generator=vgen) * 2 - 1
    yv = (xv.norm(dim=1) < 0.6).long()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, nn.functional.cross_entropy, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, nn.functional.cross_entropy, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
