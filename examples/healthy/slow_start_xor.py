"""Healthy: a slow start. A 2-16-16-2 tanh MLP initialized small (weights N(0, 0.16^2)) on the
XOR quadrants starts at the symmetric saddle: the loss sits near ln 2 for 100-150 steps, then
the symmetry breaks and it learns (SGD 0.1, momentum 0.9, batch 64, 500 steps)."""
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
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.95)


def xor(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, 2, generator=gen) * 2 - 1
    return x, ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 500 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(312 + 1000 * seed)
    x, y = xor(2000, gen)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.16)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    xv, yv = xor(1000, torch.Generator().manual_seed(10_000 + 1000 * seed))  # drawn after training
    metrics = {"final_loss": mean_last(losses), "plateau_end": float(next(
        (i for i in range(20, len(losses)) if sum(losses[i - 20:i]) / 20 < 0.6), len(losses)))}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
