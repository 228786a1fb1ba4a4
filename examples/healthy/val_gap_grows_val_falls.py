"""Healthy: the train/validation gap grows while the validation loss keeps falling: a 2-64-64-2
ReLU MLP on 300 training points of two separable classes, Adam 1e-3, validation every 25 steps.
Train loss falls faster than validation loss (about 0.08 to 0.003 over the run), so the gap
widens, yet the model only gets better on held-out data."""
from __future__ import annotations

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
CRITERION = ("val_loss", "<=", 0.03)


def separable(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform points in [-1, 1]^2 outside a margin band around a curved boundary."""
    x = torch.rand(3 * n, 2, generator=gen) * 2 - 1
    f = x[:, 1] - 0.4 * torch.sin(2.5 * x[:, 0])
    keep = f.abs() > 0.1
    return x[keep][:n], (f[keep][:n] > 0).long()


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(315 + 1000 * seed)
    x, y = separable(300, gen)
    xv, yv = separable(2000, gen)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(1, steps + 1):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
            if step % 25 == 0:
                val = evaluate(model, xv, yv, loss_fn, "multiclass")
                w.record_val(val["val_loss"], val["val_acc"])
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
