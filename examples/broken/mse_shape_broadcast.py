"""Broken: a regression head outputs shape (N, 1) while the labels have shape (N,);
``MSELoss`` broadcasts them to (N, N) and averages every prediction against every label, whose
minimum is to predict the label mean for every input. PyTorch only warns once.

Source: https://github.com/deepset-ai/FARM/issues/229 ("Using a target size (torch.Size([32, 1]))
that is different to the input size (torch.Size([32]))" in a regression task with labels 0-16;
the maintainers found the logits and labels had mismatched shapes). Rewritten in plain PyTorch:
an MLP regressor on 12 features, raw targets in about 0..16.

Expected: ``collapsed_predictions`` (proposed code, examples/PROPOSED_CODES.md).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "broken"
EXPECTED = ("collapsed_predictions",)
SOURCE = "https://github.com/deepset-ai/FARM/issues/229"
CRITERION = ("val_r2", ">=", 0.8)


def scores(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """12 standardized features; a score in about 0..16 that depends on them nonlinearly."""
    x = torch.randn(n, 12, generator=gen)
    w = torch.linspace(-1, 1, 12)
    y = 8 + 2.5 * (x @ w) / 2 + 1.5 * torch.tanh(x[:, 0] * x[:, 1]) + 0.3 * torch.randn(n, generator=gen)
    return x, y.clamp(0, 16)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(208 + 1000 * seed)
    x, y = scores(4000, gen)
    xv, yv = scores(1000, gen)
    model = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using a target size")  # printed once by PyTorch
        with watch(model, opt, n_samples=len(x)) as w:
            for step in range(steps):
                idx = torch.randint(0, len(x), (32,), generator=gen)
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])  # BUG: (32, 1) against (32,)
                loss.backward()
                w.step(loss)
                losses.append(loss.item())
                opt.step()
        findings = w.findings
        metrics = {"final_loss": mean_last(losses)}
        metrics |= evaluate(model, x, y, loss_fn, "regression", prefix="train")
        metrics |= evaluate(model, xv, yv, loss_fn, "regression")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
