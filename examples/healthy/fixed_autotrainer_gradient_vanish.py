"""Healthy: fixed version of broken/autotrainer_gradient_vanish.py with AUTOTRAINER's first
repair for gradient vanishing ("relu_bn"): ReLU activations with BatchNorm after each hidden
Dense layer, He-uniform init kept, on the same noisy circles.

Source: https://github.com/shiningrain/AUTOTRAINER/tree/master/AutoTrainer/demo_case/Gradient_Vanish_Case
(the repair strategies AUTOTRAINER tried there: relu_bn, relu_initial, relu_leaky, relu_selu).
Adam 1e-3, batch 128, BCE, 100 epochs.
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
SOURCE = "https://github.com/shiningrain/AUTOTRAINER/tree/master/AutoTrainer/demo_case/Gradient_Vanish_Case"
CRITERION = ("val_acc", ">=", 0.7)


def make_circles(n: int, gen: torch.Generator, noise: float = 0.1, factor: float = 0.8):
    """sklearn's make_circles: half the points on the unit circle (label 0), half on a circle of
    radius ``factor`` (label 1), evenly spaced angles, shuffled, Gaussian noise."""
    n_out = n // 2
    t_out = torch.arange(n_out) * 2 * math.pi / n_out
    t_in = torch.arange(n - n_out) * 2 * math.pi / (n - n_out)
    x = torch.cat([torch.stack([t_out.cos(), t_out.sin()], 1), factor * torch.stack([t_in.cos(), t_in.sin()], 1)])
    y = torch.cat([torch.zeros(n_out), torch.ones(n - n_out)])
    perm = torch.randperm(n, generator=gen)
    return x[perm] + noise * torch.randn(n, 2, generator=gen), y[perm]


def he_uniform(model: nn.Module) -> None:
    """Keras VarianceScaling(scale=2, mode='fan_in', distribution='uniform'), zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            bound = math.sqrt(6 / m.in_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


def build() -> nn.Sequential:
    layers: list[nn.Module] = []
    dim = 2
    for _ in range(8):
        layers += [nn.Linear(dim, 5), nn.BatchNorm1d(5), nn.ReLU()]  # FIX: relu_bn
        dim = 5
    return nn.Sequential(*layers, nn.Linear(5, 1), nn.Sigmoid())


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 600 if steps is None else steps  # 100 epochs of 6 batches
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(215 + 1000 * seed)
    X, Y = make_circles(1000, gen)
    x, y, xv, yv = X[:700], Y[:700], X[700:], Y[700:]
    model = build()
    he_uniform(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()

    def flat_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(out.squeeze(1), t)

    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        while len(losses) < steps:
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), 128):
                if len(losses) == steps:
                    break
                idx = order[start:start + 128]
                opt.zero_grad()
                loss = flat_loss(model(x[idx]), y[idx])
                loss.backward()
                w.step(loss)
                losses.append(loss.item())
                opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, flat_loss, "binary_prob", prefix="train")
    metrics |= evaluate(model, xv, yv, flat_loss, "binary_prob")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
