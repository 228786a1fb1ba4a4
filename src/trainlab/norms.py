"""Per-layer norms over training: the measurement of seed 001, taken at evaluation steps.

For each evaluation (rows), member and layer, ``fit`` records (``History.layers``, then
``metrics.npz``), each shaped (evaluations, members, layers):

- ``weight_norm``: the Frobenius norm of the layer's weight matrix after the step, ``||W_l||``;
- ``bias_norm``: the norm of its bias vector, ``||b_l||``;
- ``grad_norm``: the norm of the gradient of the training objective (loss plus any penalty) with
  respect to ``W_l``, from the last step before the evaluation (the mini-batch gradient the
  optimizer was given);
- ``update_ratio``: ``||W_l(after) - W_l(before)|| / ||W_l(before)||`` for that step: the relative
  size of the update, whatever the optimizer, momentum or decay made of the gradient.

At step 0 (the model at init) and after an early stop, no step precedes the evaluation:
``grad_norm`` and ``update_ratio`` are NaN there. The numbers come from tensors the step already
holds (the gradients, the parameters before and after), only at evaluation steps, so the cost is a
few reductions per layer every ``eval_every`` steps (``benchmarks/norms.py`` measures it).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch

NORM_KEYS = ("grad_norm", "weight_norm", "bias_norm", "update_ratio")


def _norms(ts: Sequence[torch.Tensor]) -> torch.Tensor:
    """(K, layers): each tensor's norm over every axis but the model axis."""
    return torch.stack([torch.linalg.vector_norm(t.reshape(t.shape[0], -1), dim=1) for t in ts], dim=1)


@torch.no_grad()
def layer_norms(n_layers: int, params: Sequence[torch.Tensor], before: Optional[Sequence[torch.Tensor]] = None,
                grads: Optional[Sequence[torch.Tensor]] = None) -> dict[str, torch.Tensor]:
    """The four norms as (K, n_layers) tensors from ``params`` (W0, b0, W1, b1, ...) after a step,
    the parameters ``before`` it and its ``grads`` (same order); without them, the step-dependent
    two are NaN."""
    ws, bs = params[0:2 * n_layers:2], params[1:2 * n_layers:2]
    out = {"weight_norm": _norms(ws), "bias_norm": _norms(bs)}
    if before is None or grads is None:
        nan = torch.full_like(out["weight_norm"], float("nan"))
        return {"grad_norm": nan, **out, "update_ratio": nan.clone()}
    old = before[0:2 * n_layers:2]
    out["grad_norm"] = _norms(grads[0:2 * n_layers:2])
    out["update_ratio"] = _norms([w - o for w, o in zip(ws, old)]) / _norms(old)
    return {k: out[k] for k in NORM_KEYS}
