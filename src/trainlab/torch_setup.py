"""A config as plain PyTorch: (nn.Sequential, torch.optim optimizer, batches, loss_fn).

The diagnostics (`trainlab doctor`, `trainlab lr-find`) work on any nn.Module; this builds the one a
config describes (its first member), so the same checks run on trainlab configs and on user code.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch
import torch.nn.functional as F

from trainlab.config import Config, load_config
from trainlab.members import expand_members, member_config
from trainlab.runner import build_population, load_data

# optimizer name -> torch.optim factory for one model (the batched versions match these; tests compare)
TORCH_OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum or 0.0, weight_decay=c.weight_decay),
    "momentum": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=0.9 if c.momentum is None else c.momentum,
                                             weight_decay=c.weight_decay),
    "nesterov": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=0.9 if c.momentum is None else c.momentum,
                                             nesterov=True, weight_decay=c.weight_decay),
    "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c.lr, alpha=c.alpha, eps=c.eps, momentum=c.momentum or 0.0,
                                                weight_decay=c.weight_decay),
    "adam": lambda p, c: torch.optim.Adam(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps, weight_decay=c.weight_decay),
    "adamw": lambda p, c: torch.optim.AdamW(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps,
                                            weight_decay=c.weight_decay),
}


def _loss_fn(name: str):
    def cross_entropy(out, y):
        return F.cross_entropy(out, y)

    def mse_softmax(out, y):
        return F.mse_loss(torch.softmax(out, -1), F.one_hot(y, out.shape[-1]).float())

    def mse_sigmoid(out, y):
        return F.mse_loss(torch.sigmoid(out), F.one_hot(y, out.shape[-1]).float())

    return {"cross_entropy": cross_entropy, "mse_softmax": mse_softmax, "mse_sigmoid": mse_sigmoid}[name]


def batches_of(x: torch.Tensor, y: torch.Tensor, batch_size: int | None, n_batches: int, seed: int) -> list:
    """Shuffled (x, y) mini-batches (or the full batch repeated when ``batch_size`` is None)."""
    if batch_size is None or batch_size >= len(x):
        return [(x, y)]
    g = torch.Generator().manual_seed(seed)
    out = []
    while len(out) < n_batches:
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - batch_size + 1, batch_size):
            out.append((x[perm[i:i + batch_size]], y[perm[i:i + batch_size]]))
    return out[:n_batches]


def weight_penalty(model: torch.nn.Module, l1: float, l2: float) -> torch.Tensor:
    """The config's penalty on one model's weights (not biases), as ``trainlab.regularize`` adds it
    to the loss: ``l1 * sum |W| + l2 / 2 * sum W^2``."""
    weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    total = torch.zeros((), device=weights[0].device if weights else None)
    for w in weights:
        total = total + l1 * w.abs().sum() + 0.5 * l2 * (w * w).sum()
    return total


def setup_from_config(cfg: Config, n_batches: int = 200) -> tuple[Any, Any, list, Callable]:
    """(model, optimizer, batches, loss_fn) for the config's first member, in plain PyTorch.

    With ``regularize.l1``/``l2`` the loss is a ``Penalized`` loss (strength 1 = the config's
    values), so ``doctor``'s regularization check can raise it.
    """
    member = expand_members(cfg)[0]
    mcfg = member_config(cfg, member)
    ds = load_data(mcfg.data, mcfg.run.seed)
    pop = build_population(mcfg, [member], ds.input_dim, ds.n_classes)
    model = pop.member(0)
    optimizer = TORCH_OPTIMIZERS[mcfg.optim.name](model.parameters(), mcfg.optim)
    batches = batches_of(ds.train.x, ds.train.y, mcfg.train.batch_size, n_batches, mcfg.run.seed)
    loss_fn = _loss_fn(mcfg.train.loss)
    reg = mcfg.regularize
    if reg.l1 > 0 or reg.l2 > 0:
        from trainlab.diagnose.numeric import Penalized

        loss_fn = Penalized(loss_fn, model, functools.partial(weight_penalty, l1=reg.l1, l2=reg.l2), 1.0)
    return model, optimizer, batches, loss_fn


def build_from_path(path: str, overrides: list[str] | None = None) -> tuple[Any, Any, list, Callable]:
    return setup_from_config(load_config(path, overrides))
