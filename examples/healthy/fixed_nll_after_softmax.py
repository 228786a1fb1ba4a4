"""Healthy: fixed version of broken/nll_after_softmax.py: the Transformer classifier ends in
``log_softmax``, the input ``NLLLoss`` expects, so the loss is the cross-entropy.

Source: https://github.com/AnubhavGupta3377/Text-Classification-Models-Pytorch/issues/9 (the
fix named there: log_softmax before NLLLoss). One-block Transformer encoder with LayerNorm on
synthetic keyword-classified token sequences, SGD 0.05 with momentum 0.9, batch 32.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "https://github.com/AnubhavGupta3377/Text-Classification-Models-Pytorch/issues/9"
CRITERION = ("val_loss", "<=", 0.75)

VOCAB, LENGTH, N_CLASSES = 48, 16, 8


def texts(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (n, LENGTH): filler tokens 16.., plus 2-4 keywords of the class (class c owns
    tokens 2c and 2c+1) at random positions; 10% label noise."""
    y = torch.randint(0, N_CLASSES, (n,), generator=gen)
    tokens = torch.randint(2 * N_CLASSES, VOCAB, (n, LENGTH), generator=gen)
    for k in range(4):
        keep = (torch.rand(n, generator=gen) < (1.0 if k < 2 else 0.5))
        pos = torch.randint(0, LENGTH, (n,), generator=gen)
        kw = 2 * y + torch.randint(0, 2, (n,), generator=gen)
        tokens[torch.arange(n)[keep], pos[keep]] = kw[keep]
    noisy = torch.rand(n, generator=gen) < 0.1  # 10% of the labels are replaced at random
    y = torch.where(noisy, torch.randint(0, N_CLASSES, (n,), generator=gen), y)
    return tokens, y


class Transformer(nn.Module):
    def __init__(self, d_model: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(LENGTH, d_model))
        self.encoder = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0,
                                                  batch_first=True)
        self.fc = nn.Linear(d_model, N_CLASSES)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(tokens) + self.pos)
        return F.log_softmax(self.fc(h.mean(dim=1)), dim=1)  # FIX: log-probabilities


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 250 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(205 + 1000 * seed)
    x, y = texts(4000, gen)
    xv, yv = texts(1000, gen)
    model = Transformer()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.NLLLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=N_CLASSES, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
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
