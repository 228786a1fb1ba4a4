"""Broken: a binary classifier ends in one output unit followed by a softmax. A softmax over a
single unit is always exactly 1, whatever the input, so every prediction is "positive", the
loss never changes and no gradient reaches any weight.

Source: https://stackoverflow.com/questions/31880720 (Keras ``Dense(1)`` + ``Activation('softmax')``
with binary cross-entropy, stuck at accuracy 0.5), the motivating example of DeepDiagnosis:
https://github.com/DeepDiagnosis/ICSE2022/tree/main/MOTIVATING%20EXAMPLE/31880720 . Rewritten in
plain PyTorch with the same data (128-D all-ones vs all-zeros vectors), the same 128-50-50-1 ReLU
net with dropout 0.2 and RMSprop 1e-3; batches of 32 instead of 1.

Expected: ``collapsed_predictions`` (proposed) or ``probabilities_into_ce``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "broken"
EXPECTED = ("collapsed_predictions", "probabilities_into_ce")
SOURCE = "https://stackoverflow.com/questions/31880720"
CRITERION = ("val_acc", ">=", 0.9)


def ones_and_zeros(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n all-ones 128-D vectors (label 1) followed by n all-zeros vectors (label 0)."""
    x = torch.cat([torch.ones(n, 128), torch.zeros(n, 128)])
    return x, torch.cat([torch.ones(n), torch.zeros(n)])


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(207 + 1000 * seed)
    x, y = ones_and_zeros(10_000)
    xv, yv = ones_and_zeros(100)
    model = nn.Sequential(nn.Linear(128, 50), nn.ReLU(), nn.Dropout(0.2), nn.Linear(50, 50), nn.ReLU(),
                          nn.Dropout(0.2), nn.Linear(50, 1), nn.Softmax(dim=1))  # BUG: softmax of 1 unit
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (32,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(1), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings

    def flat_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(out.squeeze(1), t)

    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, flat_loss, "binary_prob", prefix="train")
    metrics |= evaluate(model, xv, yv, flat_loss, "binary_prob")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
