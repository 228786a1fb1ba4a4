"""Broken: a big MLP trained on 20 noisy samples; validation loss rises while training loss
falls. Validation is recorded with ``w.record_val``.

Expected: ``overfitting``.
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
EXPECTED = ("overfitting",)
SOURCE = "trainlab"
CRITERION = ("val_loss", "<=", 0.6)  # 20% flipped labels: a calibrated model gets ~0.5


def noisy_circles(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Circles with 20% of the labels flipped: memorizing them cannot generalize."""
    x = torch.rand(n, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    flip = torch.rand(n, generator=gen) < 0.2
    return x, torch.where(flip, 1 - y, y)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(10 + 1000 * seed)
    x, y = noisy_circles(20, gen)  # BUG: tiny training set ...
    xv, yv = noisy_circles(1000, gen)
    model = nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 2))  # ... for a big network
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2) as w:
        for step in range(1, steps + 1):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
            if step % 20 == 0:
                with torch.no_grad():
                    out = model(xv)
                    w.record_val(loss_fn(out, yv).item(), (out.argmax(1) == yv).float().mean().item())
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
