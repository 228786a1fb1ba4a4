"""Healthy: gradient clipping: an Elman RNN (tanh, hidden 32) regresses the running mean of a
40-step noisy sequence; SGD 0.05 with momentum 0.9 and ``clip_grad_norm_(max_norm=1.0)`` every
step, batch 32."""
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
CRITERION = ("val_r2", ">=", 0.75)


def sequences(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 40, 1) sequences: a per-sequence level plus noise; the target is the level estimate
    (the mean of the sequence), scaled to unit variance."""
    level = torch.randn(n, 1, generator=gen)
    x = level + torch.randn(n, 40, generator=gen)
    return x.unsqueeze(-1), x.mean(1) / 1.01


class RNNRegressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(1, 32, batch_first=True)
        self.head = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        return self.head(h[-1]).squeeze(-1)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 300 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(313 + 1000 * seed)
    x, y = sequences(3000, gen)
    xv, yv = sequences(1000, gen)
    model = RNNRegressor()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    with watch(model, opt, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
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
