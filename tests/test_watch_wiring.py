"""watch's wiring measurements on small real training loops: each new code fires on a deliberately
broken loop and stays silent on the same loop fixed. Table-driven; every loop runs in well under
a second on one thread."""
from __future__ import annotations

import math
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainlab.diagnose.findings import codes_of
from trainlab.diagnose.watch import watch


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blobs(n: int = 2048, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centers = torch.randn(classes, 8, generator=torch.Generator().manual_seed(1)) * 2
    return centers[y] + torch.randn(n, 8, generator=g), y


def mlp(out: int = 3, last: nn.Module | None = None) -> nn.Sequential:
    layers = [nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, out)]
    return nn.Sequential(*layers, *([last] if last is not None else []))


class ListNet(nn.Module):
    """Hidden layers in a plain list (not registered) when ``broken``."""

    def __init__(self, broken: bool) -> None:
        super().__init__()
        hidden = [nn.Linear(8, 32), nn.Linear(32, 32)]
        self.hidden = hidden if broken else nn.ModuleList(hidden)
        self.out = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


class DataLinear(nn.Module):
    """A linear layer that reads ``weight.data`` (outside autograd) when ``broken``."""

    def __init__(self, n_in: int, n_out: int, broken: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))
        self.broken = broken

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x @ (self.weight.data if self.broken else self.weight).T)


def _frozen(broken: bool) -> set[str]:
    """The middle layer frozen at its fresh (PyTorch default) init, as for a 'pretrained' backbone
    that was never loaded; the optimizer gets the trainable parameters only."""
    torch.manual_seed(0)
    model = mlp()
    if broken:
        model[2].requires_grad_(False)
    return train(model, opt_params=[p for p in model.parameters() if p.requires_grad])


def train(model: nn.Module, *, steps: int = 120, batch: int = 64, loss_fn: Callable = F.cross_entropy,
          order: str = "random", lr: float = 1e-2, n_samples: int | None = 2048, n_classes: int | None = 3,
          opt_params: object = None, schedule: Callable | None = None, val_mode: str | None = None,
          target: Callable = lambda y: y) -> set[str]:
    torch.manual_seed(0)
    x, y = blobs()
    if order == "sorted":
        idx = y.argsort(stable=True)
        x, y = x[idx], y[idx]
    opt = torch.optim.Adam(model.parameters() if opt_params is None else opt_params, lr=lr)
    sched = schedule(opt) if schedule else None
    g = torch.Generator().manual_seed(3)
    with watch(model, opt, n_classes=n_classes, n_samples=n_samples) as w:
        for step in range(steps):
            if order == "repeated":
                idx = torch.arange(batch)
            elif order == "sorted":
                idx = torch.arange(step * batch, (step + 1) * batch) % len(x)
            else:
                idx = torch.randint(0, len(x), (batch,), generator=g)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), target(y[idx]))
            loss.backward()
            w.step(loss)
            opt.step()
            if sched is not None:
                sched.step()
            if val_mode is not None and step % 20 == 19:
                model.eval() if val_mode == "eval" else None
                with torch.no_grad():
                    val = F.cross_entropy(model(x[:256]), y[:256]).item()
                model.train()
                w.record_val(val)
    return codes_of(w.findings, min_severity="warning")


def _nll_of(probs_fn: Callable) -> Callable:
    return lambda out, y: F.nll_loss(probs_fn(out), y)


CASES = [  # code, (broken run), (fixed run)
    ("params_not_updating", lambda: train(ListNet(True)), lambda: train(ListNet(False))),
    ("params_not_updating",
     lambda: train(nn.Sequential(DataLinear(8, 32, True), DataLinear(32, 32, False), nn.Linear(32, 3))),
     lambda: train(nn.Sequential(DataLinear(8, 32, False), DataLinear(32, 32, False), nn.Linear(32, 3)))),
    ("params_not_updating", lambda: _frozen(True), lambda: _frozen(False)),
    ("probabilities_into_ce", lambda: train(mlp(last=nn.Softmax(1))), lambda: train(mlp())),
    ("probabilities_into_loss", lambda: train(mlp(last=nn.Softmax(1)), loss_fn=F.nll_loss),
     lambda: train(mlp(last=nn.LogSoftmax(1)), loss_fn=F.nll_loss)),
    ("probabilities_into_loss",
     lambda: train(mlp(1, nn.Sigmoid()), loss_fn=F.binary_cross_entropy_with_logits, n_classes=None,
                   target=lambda y: (y > 0).float()[:, None]),
     lambda: train(mlp(1), loss_fn=F.binary_cross_entropy_with_logits, n_classes=None,
                   target=lambda y: (y > 0).float()[:, None])),
    ("relu_on_output", lambda: train(mlp(last=nn.ReLU())), lambda: train(mlp())),
    ("collapsed_predictions",
     lambda: train(mlp(1), loss_fn=F.mse_loss, n_classes=None, target=lambda y: y.float()),
     lambda: train(mlp(1), loss_fn=lambda o, t: F.mse_loss(o.squeeze(1), t), n_classes=None,
                   target=lambda y: y.float())),
    ("collapsed_predictions", lambda: train(mlp(), steps=200, target=lambda y: y[torch.randperm(len(y))]),
     lambda: train(mlp(), steps=200)),
    ("batchnorm_batch1", lambda: _bn(1), lambda: _bn(16)),
    ("eval_in_train_mode", lambda: train(mlp(last=nn.Dropout(0.5)), val_mode="train"),
     lambda: train(mlp(last=nn.Dropout(0.5)), val_mode="eval")),
    ("unshuffled_data", lambda: train(mlp(), order="sorted"), lambda: train(mlp())),
    ("repeated_batch", lambda: train(mlp(), order="repeated"), lambda: train(mlp())),
    ("schedule_per_batch",
     lambda: train(mlp(), steps=200, schedule=lambda o: torch.optim.lr_scheduler.StepLR(o, 5, 0.5)),
     lambda: train(mlp(), steps=200, schedule=lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 200))),
]


def _bn(batch: int) -> set[str]:
    """A small conv net with BatchNorm2d on 8x8 'images' made from the blobs."""
    torch.manual_seed(0)
    x, y = blobs()
    x = x[:, :, None].repeat(1, 1, 8)[:, None]  # (n, 1, 8, 8)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(3)
    with watch(model, opt, n_classes=3, n_samples=len(x)) as w:
        for _ in range(40):
            idx = torch.randint(0, len(x), (batch,), generator=g)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            opt.step()
    return codes_of(w.findings, min_severity="warning")


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("code,broken,fixed", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_code_fires_on_the_broken_loop_and_not_on_the_fixed_one(code: str, broken: Callable, fixed: Callable) -> None:
    assert code in broken()
    assert code not in fixed()


def test_n_samples_is_validated() -> None:
    with pytest.raises(ValueError, match="n_samples"):
        watch(mlp(), n_samples=0)
