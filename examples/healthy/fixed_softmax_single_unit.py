"""Healthy: fixed version of broken/softmax_single_unit.py: the one output unit goes through
a sigmoid (the activation for a single binary output), so predictions depend on the input.

Source: https://stackoverflow.com/questions/31880720 (answer: use sigmoid, not softmax, for one
unit). 128-D all-ones vs all-zeros vectors, 128-50-50-1 ReLU net with dropout 0.2, RMSprop 1e-3,
BCELoss, batch 32. The task is trivial, so the loss falls to ~1e-3 and training goes on.
"""
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
SOURCE = "https://stackoverflow.com/questions/31880720"
CRITERION = ("val_acc", ">=", 0.9)


def ones_and_zeros(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n all-ones 128-D vectors (label 1) followed by n all-zeros vectors (label 0)."""
    x = torch.cat([torch.ones(n, 128), torch.zeros(n, 128)])
    return x, torch.cat([torch.ones(n), torch.zeros(n)])


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(207 + 1000 * seed)
    x, y = ones_and_zeros(10_000)
    xv, yv = ones_and_zeros(100)
    model = nn.Sequential(nn.Linear(128, 50), nn.ReLU(), nn.Dropout(0.2), nn.Linear(50, 50), nn.ReLU(),
                          nn.Dropout(0.2), nn.Linear(50, 1), nn.Sigmoid())  # FIX: sigmoid for one unit
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(1), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings

    def flat_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(out.squeeze(1), t)

    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, flat_loss, "binary_prob", prefix="train")
    metrics |= evaluate(model, xv, yv, flat_loss, "binary_prob")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
