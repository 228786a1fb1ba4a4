"""Broken: the model ends in Softmax and its probabilities go into CrossEntropyLoss, which
applies log_softmax again; the loss can never get near 0.

Expected: ``probabilities_into_ce``.
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
EXPECTED = ("probabilities_into_ce",)
SOURCE = "trainlab"
CRITERION = ("final_loss", "<=", 0.1)  # accuracy is fine; the loss cannot get near 0


def blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """4 Gaussian blobs in 8-D."""
    centers = torch.randn(4, 8, generator=torch.Generator().manual_seed(11)) * 2
    y = torch.randint(0, 4, (n,), generator=gen)
    return centers[y] + torch.randn(n, 8, generator=gen), y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(8 + 1000 * seed)
    x, y = blobs(1024, gen)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 4), nn.Softmax(dim=1))  # BUG
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=4) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv, yv = blobs(1000, vgen)
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
