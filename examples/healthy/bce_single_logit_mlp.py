"""Healthy: binary classification with one logit and ``BCEWithLogitsLoss``: a 2-32-32-1 ReLU
MLP on two interleaved moons, Adam 3e-3, batch 64, validation every 50 steps."""
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
CRITERION = ("val_acc", ">=", 0.95)


def moons(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn-style two moons with Gaussian noise 0.15, roughly standardized."""
    y = torch.randint(0, 2, (n,), generator=gen).float()
    t = math.pi * torch.rand(n, generator=gen)
    x = torch.stack([torch.cos(t) + y * (1 - 2 * torch.cos(t)), torch.sin(t) * (1 - 2 * y) + 0.5 * y], 1)
    x = x + 0.15 * torch.randn(n, 2, generator=gen)
    return (x - torch.tensor([0.5, 0.25])) / torch.tensor([0.87, 0.5]), y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(301 + 1000 * seed)
    x, y = moons(2000, gen)
    xv, yv = moons(1000, gen)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def flat_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(out.squeeze(1), t)

    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(1, steps + 1):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = flat_loss(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
            if step % 50 == 0:
                val = evaluate(model, xv, yv, flat_loss, "binary_logit")
                w.record_val(val["val_loss"], val["val_acc"])
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, flat_loss, "binary_logit", prefix="train")
    metrics |= evaluate(model, xv, yv, flat_loss, "binary_logit")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
