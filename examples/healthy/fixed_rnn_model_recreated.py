"""Healthy: fixed version of broken/rnn_model_recreated.py: the RNN is instantiated once and
the optimizer is built on that instance, so training updates the model in use.

Source: https://github.com/spro/practical-pytorch/issues/9 (fixed there by moving the optimizer
below the one instantiation). Hand-written RNN cell, batched, SGD 0.05 with momentum 0.9.
"""
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
SOURCE = "https://github.com/spro/practical-pytorch/issues/9"
CRITERION = ("val_acc", ">=", 0.88)

N_LETTERS, N_LANGS, LENGTH = 16, 4, 8


def names(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot letter sequences (n, LENGTH, N_LETTERS); each language favours its own letters."""
    freqs = torch.rand(N_LANGS, N_LETTERS, generator=torch.Generator().manual_seed(23)) ** 3
    y = torch.randint(0, N_LANGS, (n,), generator=gen)
    letters = torch.multinomial(freqs[y], LENGTH, replacement=True, generator=gen)
    return nn.functional.one_hot(letters, N_LETTERS).float(), y


class RNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        hidden = seq.new_zeros(seq.shape[0], self.hidden_size)
        for t in range(seq.shape[1]):
            combined = torch.cat([seq[:, t], hidden], dim=1)
            hidden = torch.tanh(self.i2h(combined))
            output = self.i2o(combined)
        return output


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 300 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(203 + 1000 * seed)
    x, y = names(4000, gen)
    xv, yv = names(1000, gen)
    rnn = RNN(N_LETTERS, 64, N_LANGS)
    optimizer = torch.optim.SGD(rnn.parameters(), lr=0.05, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(rnn, optimizer, n_classes=N_LANGS, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            optimizer.zero_grad()
            loss = criterion(rnn(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            optimizer.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(rnn, x, y, criterion, "multiclass", prefix="train")
    metrics |= evaluate(rnn, xv, yv, criterion, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
