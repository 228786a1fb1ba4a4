"""Healthy control: regression with MSE (not cross-entropy) on a custom module that uses
F.relu, AdamW; ``n_classes`` is not given, so loss_at_init is skipped (an info finding)."""
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

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "trainlab"
CRITERION = ("val_r2", ">=", 0.9)


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 64), nn.Linear(64, 64), nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))).squeeze(-1)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(104 + 1000 * seed)
    x = torch.randn(4096, 4, generator=gen)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + 0.1 * torch.randn(4096, generator=gen)
    model = Regressor()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    losses: list[float] = []
    with watch(model, opt) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = F.mse_loss(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.randn(2000, 4, generator=vgen)
    yv = torch.sin(xv[:, 0]) + 0.5 * xv[:, 1] * xv[:, 2] + 0.1 * torch.randn(2000, generator=vgen)
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, F.mse_loss, "regression", prefix="train")
    metrics |= evaluate(model, xv, yv, F.mse_loss, "regression")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
