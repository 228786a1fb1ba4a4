"""Healthy: fixed version of broken/repeated_batch_xor.py (seed 001's driver without the two
lines that overwrite each mini-batch with the XOR points): the 2-4-1 sigmoid-output network
trains with MSE on the shuffled mini-batches of the training set.

Source: the blog post in shared/seeds/001 (Rico's Nerd Cluster, 2022-01-28). Same model,
SGD 0.02 with momentum 0.9, batches of 64, on two Gaussian blobs.
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
SOURCE = "trainlab: shared/seeds/001 (Rico's Nerd Cluster blog, 2022-01-28)"
CRITERION = ("val_acc", ">=", 0.9)


def blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian blobs: class 1 around (1, 1), class 0 around (-1, -1); labels (n, 1)."""
    y = torch.randint(0, 2, (n, 1), generator=gen).float()
    return (2 * y - 1) + 0.7 * torch.randn(n, 2, generator=gen), y


def create_mini_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, gen: torch.Generator):
    order = torch.randperm(len(x), generator=gen)
    return [(x[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(x), batch_size)]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 800 if steps is None else steps  # 50 epochs of 16 batches
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(214 + 1000 * seed)
    X_train, y_train = blobs(1000, gen)
    X_validation, y_validation = blobs(500, gen)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
    loss_func = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    losses: list[float] = []
    with watch(model, optimizer, n_samples=len(X_train)) as w:
        while len(losses) < steps:
            mini_batches = create_mini_batches(X_train, y_train, batch_size=64, gen=gen)
            for X_train_mini_batch, y_train_mini_batch in mini_batches:
                if len(losses) == steps:
                    break
                optimizer.zero_grad()
                outputs = model(X_train_mini_batch)
                loss = loss_func(outputs, y_train_mini_batch)
                loss.backward()
                w.step(loss)
                losses.append(loss.item())
                optimizer.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, X_train, y_train, loss_func, "binary_prob", prefix="train")
    metrics |= evaluate(model, X_validation, y_validation, loss_func, "binary_prob")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
