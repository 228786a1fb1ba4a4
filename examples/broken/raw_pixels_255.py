"""Broken: raw pixel values 0..255 fed to an MLP (no normalization).

Expected: ``unnormalized_inputs``. A classic slip: ``torch.tensor(img)`` on uint8 images
without ``/ 255`` and mean/std normalization.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "broken"
EXPECTED = ("unnormalized_inputs",)
SOURCE = "trainlab"
CRITERION = None  # Adam still fits these easy digits; the harm is in the optimization


def fake_mnist(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """10 classes of 12x12 'digits': a random prototype per class plus noise, in [0, 1]."""
    protos = torch.rand(10, 144, generator=torch.Generator().manual_seed(7))
    y = torch.randint(0, 10, (n,), generator=gen)
    x = (protos[y] + 0.3 * torch.randn(n, 144, generator=gen)).clamp(0, 1)
    return x, y


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(0 + 1000 * seed)
    x, y = fake_mnist(2048, gen)
    x = (x * 255).round()  # BUG: raw 0..255 pixels
    model = nn.Sequential(nn.Linear(144, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses: list[float] = []
    with watch(model, opt, n_classes=10) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv, yv = fake_mnist(2000, vgen)
    xv = (xv * 255).round()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, F.cross_entropy, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, F.cross_entropy, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
