"""Healthy control: the MNIST-shaped MLP (784-256-256-10) with Adam 1e-3 on normalized fake
28x28 digits, batch 128, with dropout."""
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


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(105 + 1000 * seed)
    protos = torch.rand(10, 784, generator=torch.Generator().manual_seed(7))
    y = torch.randint(0, 10, (4096,), generator=gen)
    x = (protos[y] + 0.5 * torch.randn(4096, 784, generator=gen)).clamp(0, 1)
    x = (x - 0.5) / 0.35  # normalized as usual
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses: list[float] = []
    with watch(model, opt, n_classes=10) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    yv = torch.randint(0, 10, (2000,), generator=vgen)
    xv = (protos[yv] + 0.5 * torch.randn(2000, 784, generator=vgen)).clamp(0, 1)
    xv = (xv - 0.5) / 0.35
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, F.cross_entropy, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, F.cross_entropy, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
