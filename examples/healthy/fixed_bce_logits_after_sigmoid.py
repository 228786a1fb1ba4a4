"""Healthy: fixed version of broken/bce_logits_after_sigmoid.py: the segmentation net returns
logits and ``BCEWithLogitsLoss`` applies the one sigmoid; probabilities are taken with
``torch.sigmoid`` only to predict.

Source: https://github.com/avBuffer/UNet3plus_pth/issues/23 (the fix given there: return d1, not
F.sigmoid(d1)). 3-layer fully convolutional net on noisy 16x16 disc images, Adam 3e-3, batch 32.
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
SOURCE = "https://github.com/avBuffer/UNet3plus_pth/issues/23"
CRITERION = ("final_loss", "<=", 0.2)


def discs(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (n, 1, 16, 16) holding one disc of random centre and radius plus noise; the mask
    of the disc is the target."""
    grid = torch.stack(torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij"))
    centre = 3 + 10 * torch.rand(n, 2, 1, 1, generator=gen)
    radius = 2 + 3 * torch.rand(n, 1, 1, generator=gen)
    mask = ((grid - centre) ** 2).sum(1) < radius ** 2
    x = mask.float() + 0.5 * torch.randn(n, 16, 16, generator=gen)
    return x.unsqueeze(1), mask.float().unsqueeze(1)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 300 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(206 + 1000 * seed)
    x, y = discs(2000, gen)
    xv, yv = discs(500, gen)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                          nn.ReLU(), nn.Conv2d(16, 1, 1))  # FIX: logits
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    losses: list[float] = []
    with watch(model, opt, n_samples=len(x)) as w:
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
    metrics |= evaluate(model, x, y, loss_fn, "binary_logit", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "binary_logit")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
