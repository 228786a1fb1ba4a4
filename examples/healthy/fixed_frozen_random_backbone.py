"""Healthy: fixed version of broken/frozen_random_backbone.py: backbone layers are frozen
only when pretrained weights are loaded; trained from scratch, every layer trains.

Source: https://github.com/pytorch/vision/issues/2164 (the fix proposed there: freeze only for a
pretrained backbone). Four rings in 2-D, 2-16-16-64-4 ReLU MLP, Adam 3e-3, batch 64.
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
SOURCE = "https://github.com/pytorch/vision/issues/2164"
CRITERION = ("val_acc", ">=", 0.97)


def rings(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Four concentric rings in 2-D, one class per ring, radial noise."""
    y = torch.randint(0, 4, (n,), generator=gen)
    r = (y.float() + 1) / 4 + 0.04 * torch.randn(n, generator=gen)
    theta = 2 * math.pi * torch.rand(n, generator=gen)
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta)], dim=1) / 0.6, y


def build_model(pretrained: bool, trainable_layers: int) -> nn.Sequential:
    backbone = [nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 64), nn.ReLU()]
    head = [nn.Linear(64, 4)]
    model = nn.Sequential(*backbone, *head)
    if pretrained:  # FIX: freeze only what was loaded
        linears = [m for m in backbone if isinstance(m, nn.Linear)]
        for layer in linears[: len(linears) - trainable_layers]:
            for p in layer.parameters():
                p.requires_grad = False
    return model


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 500 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(202 + 1000 * seed)
    x, y = rings(3000, gen)
    xv, yv = rings(1000, gen)
    model = build_model(pretrained=False, trainable_layers=1)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=4, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
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
