"""Broken: a StepLR schedule written in epochs (halve the learning rate every 10 epochs) is
stepped after every batch, so the learning rate halves every 10 batches and has fallen a
thousandfold before the second epoch ends; training freezes half-way.

Source: https://github.com/ivadomed/ivadomed/pull/55 ("Scheduler was incorrectly stepped in the
batch loop instead of in the epoch loop ... causing the LR to be updated after each batch
instead of after each epoch"). Rewritten in plain PyTorch: an MLP on a 3-class spiral, SGD with
momentum, ``StepLR(step_size=10, gamma=0.5)``, ``scheduler.step()`` inside the batch loop.

Expected: ``schedule_per_batch`` (proposed code, examples/PROPOSED_CODES.md).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "broken"
EXPECTED = ("schedule_per_batch",)
SOURCE = "https://github.com/ivadomed/ivadomed/pull/55"
CRITERION = ("val_acc", ">=", 0.95)


def spirals(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Three interleaved spiral arms in 2-D, a little noise."""
    y = torch.randint(0, 3, (n,), generator=gen)
    r = torch.rand(n, generator=gen)
    theta = 2 * math.pi * y / 3 + 3.0 * r + 0.15 * torch.randn(n, generator=gen)
    x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=1)
    return x / x.std(0), y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 376 if steps is None else steps  # 8 epochs of 47 batches
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(213 + 1000 * seed)
    x, y = spirals(3000, gen)
    xv, yv = spirals(1000, gen)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)  # in epochs
    loss_fn = nn.CrossEntropyLoss()
    batch, step = 64, 0
    losses: list[float] = []
    with watch(model, opt, n_classes=3, n_samples=len(x)) as w:
        while step < steps:
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), batch):
                if step == steps:
                    break
                idx = order[start:start + batch]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                w.step(loss)
                losses.append(loss.item())
                opt.step()
                scheduler.step()  # BUG: once per batch
                step += 1
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
