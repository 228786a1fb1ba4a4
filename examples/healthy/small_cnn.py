"""Healthy control: a small CNN (custom module, nn.ReLU, max-pool) on normalized 12x12
fake digits, Adam lr 1e-3, batch 64."""
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
CRITERION = ("val_acc", ">=", 0.95)


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(102 + 1000 * seed)
    protos = torch.rand(10, 1, 12, 12, generator=torch.Generator().manual_seed(7))
    y = torch.randint(0, 10, (2048,), generator=gen)
    x = (protos[y] + 0.3 * torch.randn(2048, 1, 12, 12, generator=gen)).clamp(0, 1)
    mu, sd = x.mean(), x.std()
    x = (x - mu) / sd
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses: list[float] = []
    with watch(model, opt, n_classes=10) as w:
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
    yv = torch.randint(0, 10, (2000,), generator=vgen)
    xv = (protos[yv] + 0.3 * torch.randn(2000, 1, 12, 12, generator=vgen)).clamp(0, 1)
    xv = (xv - mu) / sd
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, F.cross_entropy, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, F.cross_entropy, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
