"""Healthy control: binary classifier ending in nn.Sigmoid with BCELoss; confident outputs
saturate the output sigmoid, which is expected (the output layer is exempt)."""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.95)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(109 + 1000 * seed)
    x = torch.randn(2048, 2, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).float()  # linearly separable: outputs get confident
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.BCELoss()
    losses: list[float] = []
    with watch(model, opt) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(-1), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.randn(2000, 2, generator=vgen)
    yv = (xv[:, 0] + xv[:, 1] > 0).float()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, lambda out, t: loss_fn(out.squeeze(-1), t), "binary_prob", prefix="train")
    metrics |= evaluate(model, xv, yv, lambda out, t: loss_fn(out.squeeze(-1), t), "binary_prob")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
