"""Broken: a 20-layer ReLU net initialized from N(0, 1) (seed 000, part 2).

Each layer multiplies the activation scale by about sqrt(64 / 2) = 5.7, so outputs and
gradients explode. Expected: ``exploding_gradients`` (also ``loss_at_init``/``nonfinite_loss``).
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
EXPECTED = ("exploding_gradients", "loss_at_init", "nonfinite_loss")
SOURCE = "trainlab"
CRITERION = ("val_acc", ">=", 0.9)


class DeepNet(nn.Module):
    """20 hidden layers of 64 ReLU units, weights drawn from N(0, sigma)."""

    def __init__(self, sigma: float, depth: int = 20, width: int = 64) -> None:
        super().__init__()
        dims = [2] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.act = nn.ReLU()
        self.out = nn.Linear(width, 2)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, sigma)  # BUG: sigma=1 ignores fan-in
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 200 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(4 + 1000 * seed)
    x = torch.rand(128, 2, generator=gen) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    model = DeepNet(sigma=1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
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
