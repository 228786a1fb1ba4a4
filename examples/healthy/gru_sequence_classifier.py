"""Healthy: a small GRU (hidden 32) classifies noisy sine sequences of 24 steps by their
frequency (3 classes) from the last hidden state; Adam 3e-3, batch 32."""
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
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.9)


def waves(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 24, 1) sine waves of frequency 1, 2 or 3 cycles per 24 steps (the label), random
    phase and amplitude, Gaussian noise 0.3."""
    y = torch.randint(0, 3, (n,), generator=gen)
    t = torch.arange(24.0)
    phase = 2 * math.pi * torch.rand(n, 1, generator=gen)
    amp = 0.5 + torch.rand(n, 1, generator=gen)
    x = amp * torch.sin(2 * math.pi * (y[:, None] + 1) * t / 24 + phase)
    return (x + 0.3 * torch.randn(n, 24, generator=gen)).unsqueeze(-1), y


class GRUClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(1, 32, batch_first=True)
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)
        return self.head(h[-1])


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 300 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(302 + 1000 * seed)
    x, y = waves(3000, gen)
    xv, yv = waves(1000, gen)
    model = GRUClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=3, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
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
