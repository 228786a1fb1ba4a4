"""Healthy: fixed version of broken/autotrainer_relu_output.py: the output layer is linear
(logits straight into ``CrossEntropyLoss``, the PyTorch form of Keras' softmax output), four
He-initialized ReLU hidden layers, Adam 1e-4, batch 256, on the same three standardized blobs.

Source: https://github.com/shiningrain/AUTOTRAINER/blob/master/AutoTrainer/demo_case/Improper_Activation_case/demo_activation.py
(the commented-out ``model.add(Softmax())`` in the demo is the intended output).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, watch  # noqa: E402

LABEL = "healthy"
EXPECTED: tuple[str, ...] = ()
SOURCE = "https://github.com/shiningrain/AUTOTRAINER/blob/master/AutoTrainer/demo_case/Improper_Activation_case/demo_activation.py"
CRITERION = ("val_acc", ">=", 0.85)


def make_blobs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn's make_blobs(n, centers=3, n_features=2, cluster_std=2): centres uniform in
    [-10, 10]^2 (fixed), Gaussian clusters of std 2."""
    centers = torch.rand(3, 2, generator=torch.Generator().manual_seed(0)) * 20 - 10
    y = torch.randint(0, 3, (n,), generator=gen)
    return centers[y] + 2 * torch.randn(n, 2, generator=gen), y


def build() -> nn.Sequential:
    layers: list[nn.Module] = []
    dim = 2
    for _ in range(4):
        layers += [nn.Linear(dim, 50), nn.ReLU()]
        dim = 50
    model = nn.Sequential(*layers, nn.Linear(50, 3))  # FIX: linear logits
    for m in model:
        if isinstance(m, nn.Linear):
            if m.out_features == 50:  # he_uniform on the hidden layers, Keras' Glorot default on the output
                nn.init.uniform_(m.weight, -math.sqrt(6 / m.in_features), math.sqrt(6 / m.in_features))
            else:
                nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 900 if steps is None else steps  # 300 epochs of 3 batches, as in the demo
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(217 + 1000 * seed)
    X, Y = make_blobs(1000, gen)
    X = (X - X[:700].mean(0)) / X[:700].std(0)
    x, y, xv, yv = X[:700], Y[:700], X[700:], Y[700:]
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=3, n_samples=len(x)) as w:
        while len(losses) < steps:
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), 256):
                if len(losses) == steps:
                    break
                idx = order[start:start + 256]
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
