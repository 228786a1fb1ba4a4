"""Broken: the seed-000 shallow net (2-6-3-2, ReLU) with weights from N(0, 10): the logits are
huge at init, so the first loss is far above ln 2.

Expected: ``loss_at_init``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from trainlab import watch

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last  # noqa: E402

LABEL = "broken"
EXPECTED = ("loss_at_init",)
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.9)


class ShallowNet(nn.Module):
    """Two hidden layers (6 and 3 units), weights from N(0, sigma), as in seed 000."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma
        self.net = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
        self.apply(self.init_weights)

    def init_weights(self, m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight.data, 0, self.sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(16 + 1000 * seed)
    x = torch.rand(100, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = ShallowNet(sigma=10.0)  # BUG: sigma far too large
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=2) as w:
        for step in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    vgen = torch.Generator().manual_seed(10_000 + 1000 * seed)  # held-out data, drawn after training
    xv = torch.rand(1000, 2, generator=vgen) * 2 - 1
    yv = (xv.norm(dim=1) < 0.6).long()
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
