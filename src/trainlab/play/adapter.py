"""Every library name the playground uses, in one place.

``trainlab play`` is a front end, like the CLI: it connects library stages and shows them. The
library is being reshaped (``members``, ``runs/``, ``env``, ``diagnose/``), so the playground
imports library internals only here; the other play modules import from this adapter. When a name
moves, this file changes and nothing else.
"""
from __future__ import annotations

from typing import Any, Optional

import torch

from trainlab.config import Config, build_config  # noqa: F401 - re-exported
from trainlab.diagnose.checks import Evidence, ValPoint, run_rules  # noqa: F401
from trainlab.diagnose.findings import CODES, FindingLog  # noqa: F401
from trainlab.diagnose.fixes import NotApplicable, describe_change, fix_for  # noqa: F401
from trainlab.diagnose.measurements import N_RATIOS  # noqa: F401
from trainlab.diagnose.watch import N_FIRST_LOSSES, N_RECENT_LOSSES, default_schedule  # noqa: F401
from trainlab.env import pick_device, set_threads  # noqa: F401
from trainlab.errors import UsageError  # noqa: F401
from trainlab.experiments.shallow.regimes import classify, features
from trainlab.loop import Reason, Stop  # noqa: F401
from trainlab.members import MemberTable, expand_members, member_config, resolve_members  # noqa: F401
from trainlab.nn.activations import ACTIVATIONS, HAND_WRITTEN
from trainlab.nn.init import INITS
from trainlab.nn.population import PopulationMLP  # noqa: F401
from trainlab.optim import OPTIMIZERS
from trainlab.probes import LayerStats, layer_stats  # noqa: F401
from trainlab.runner import chunk_size, load_data, run_population

# ---- the choices the page offers, read from the library's own tables ----------------------------
# activations the probes measure (PReLU and maxout have per-member slopes or pieces the probe lacks)
PLAY_ACTIVATIONS = [a for a in ACTIVATIONS if a in HAND_WRITTEN]
# init schemes that need no data pass (LSUV does) and no constant value
PLAY_INITS = [s for s, row in INITS.items() if not row.needs_data and s != "constant"]
PLAY_OPTIMIZERS = list(OPTIMIZERS)


def train(cfg: Config, dataset: Any, table: MemberTable, device: torch.device, callbacks: list) -> tuple:
    """Train exactly as ``trainlab train`` does (``runner.run_population`` on the resolved members
    table: same builders, same ``fit``), with the playground's callbacks; returns (model, fits, arrays)."""
    return run_population(cfg, dataset, table, device, callbacks_factory=lambda chunk: list(callbacks))


def chunks_needed(cfg: Config, dataset: Any, k: int) -> int:
    """How many memory chunks ``run_population`` would split ``k`` members into."""
    size = chunk_size(cfg, len(dataset.train.y), dataset.input_dim, dataset.n_classes)
    return -(-k // size)


def fix_applies(cfg: Config, member: Any, code: str) -> Optional[str]:
    """None when the fix table's row for ``code`` changes this member's config, else why not."""
    fix = fix_for(code)
    if not fix.available:
        return None  # the no-fix path: the page shows the code's advice
    try:
        fix.apply_config(member_config(cfg, member))
    except NotApplicable as e:
        return str(e)
    return None


def regime(steps, train_loss, val_acc: float, frozen: bool) -> str:
    """The shallow study's regime label of one member's curve so far (diverged, stuck, ...)."""
    return classify(features(steps, train_loss, val_acc, frozen))


def hidden_activations(model: PopulationMLP, x: torch.Tensor) -> list[torch.Tensor]:
    """Eval-mode hidden activations (K, N, width) of every member on shared inputs (N, d)."""
    n = len(model.weights)
    h = x.unsqueeze(0) * model.input_scale.view(-1, 1, 1) + model.input_offset.view(-1, 1, 1)
    out = []
    for layer in range(n - 1):
        z = torch.baddbmm(model.biases[layer].unsqueeze(1), h, model.weights[layer])
        h = model.forward_activation(z, model.act_params, layer)
        out.append(h)
    return out


def population_logits(model: PopulationMLP, x: torch.Tensor) -> torch.Tensor:
    """Eval-mode logits (K, N, C) on shared inputs (N, d), equal to ``model.forward(x)``.

    Feature-major, as the fused training step lays it out: (K, width, N) with the long axis last, and
    the first layer of all members as one GEMM (3-5x faster than the (K, N, width) matmuls for
    narrow layers). The playground's activations are elementwise (no maxout pieces, no PReLU slopes).
    """
    k, n = model.K, len(model.weights)
    w0 = model.weights[0] * model.input_scale.view(-1, 1, 1)  # (x * s + o) @ W = x @ (s W) + o * 1^T W
    b0 = model.biases[0] + model.input_offset.view(-1, 1) * model.weights[0].sum(1)
    h = torch.addmm(b0.reshape(-1, 1), w0.transpose(1, 2).reshape(-1, x.shape[1]), x.t())
    h = h.view(k, -1, x.shape[0])
    for layer in range(1, n):
        h = model.forward_activation(h, model.act_params, layer - 1)
        h = torch.baddbmm(model.biases[layer].unsqueeze(2), model.weights[layer].transpose(1, 2), h)
    return h.transpose(1, 2)


def probe(model: PopulationMLP, x: torch.Tensor, y: torch.Tensor) -> LayerStats:
    """``probes.layer_stats`` of every member on (x, y), each member's input scale and offset applied."""
    xs = x.unsqueeze(0) * model.input_scale.view(-1, 1, 1) + model.input_offset.view(-1, 1, 1)
    return layer_stats(model.weights, model.biases, model.activation, xs, y)

