"""Healthy: class imbalance: 5% positives, one logit with ``BCEWithLogitsLoss(pos_weight=19)``
so both classes count equally; 8-64-64-1 ReLU MLP, Adam 2e-3, batch 128. The criterion is the
balanced accuracy (the mean of the two class recalls), not the accuracy a constant
"negative" prediction would already get."""
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
SOURCE = "trainlab"
CRITERION = ("val_balanced_acc", ">=", 0.85)


def data(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = (torch.rand(n, generator=gen) < 0.05).float()
    shift = torch.tensor([2.0, -1.5, 1.5, 0.0, 1.0, 0.0, -1.0, 0.0])
    return torch.randn(n, 8, generator=gen) + y[:, None] * shift, y


@torch.no_grad()
def balanced_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    pred = (model(x).squeeze(1) > 0).float()
    model.train()
    return 0.5 * float((pred[y == 1] == 1).float().mean() + (pred[y == 0] == 0).float().mean())


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(311 + 1000 * seed)
    x, y = data(10_000, gen)
    xv, yv = data(4000, gen)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(19.0))

    def flat_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(out.squeeze(1), t)

    losses: list[float] = []
    with watch(model, opt, n_classes=2, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            opt.zero_grad()
            loss = flat_loss(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, flat_loss, "binary_logit", prefix="train")
    metrics |= evaluate(model, xv, yv, flat_loss, "binary_logit")
    metrics["val_balanced_acc"] = balanced_accuracy(model, xv, yv)
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
