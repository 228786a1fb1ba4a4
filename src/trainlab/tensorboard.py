"""Optional TensorBoard event files (`pip install 'trainlab[tensorboard]'`).

``TensorBoardCallback`` writes, at every evaluation of ``fit``: one scalar per member and metric
(``member_<id>/<metric>``), and per-layer histograms over the population of the activations and
of the weight gradients on a probe batch (``layer<l>/activation``, ``layer<l>/weight_grad``).
``export_metrics`` writes the scalars of a stored run folder after the fact.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from trainlab.errors import UsageError
from trainlab.losses import LOSSES


def _writer(logdir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises ImportError when the tensorboard package is missing
        raise UsageError("--tensorboard needs the tensorboard package: pip install 'trainlab[tensorboard]'") from None
    return SummaryWriter(log_dir=str(logdir))


class TensorBoardCallback:
    """Scalars per member and per-layer histograms, at each evaluation."""

    def __init__(self, logdir: Path, probe: tuple[torch.Tensor, torch.Tensor], member_ids: Optional[list[int]] = None,
                 loss: str = "cross_entropy", probe_rows: int = 512):
        self.writer = _writer(logdir)
        self.x, self.y = probe[0][:probe_rows], probe[1][:probe_rows]
        self.ids = member_ids
        self.loss = loss

    def on_eval(self, state) -> None:
        step = state.history.steps[-1]
        ids = self.ids or list(range(state.model.K))
        for name, rows in state.history.metrics.items():
            for j, v in enumerate(rows[-1]):
                if np.isfinite(v):
                    self.writer.add_scalar(f"member_{ids[j]}/{name}", float(v), step)
        self._histograms(state.model, step)

    def _histograms(self, model, step: int) -> None:
        params = [p.detach().requires_grad_(True) for p in model.parameters()]
        n = len(model.weights)
        acts = []
        h = self.x
        for layer in range(n):  # the eval-mode forward, keeping each layer's output
            z = torch.matmul(h, params[2 * layer]) + params[2 * layer + 1].unsqueeze(1)
            if layer < n - 1:
                h = model.forward_activation(z, params[2 * n:], layer)
                acts.append(h)
        total = LOSSES[self.loss](z, self.y).nan_to_num().sum()
        grads = torch.autograd.grad(total, params[0:2 * n:2])
        for layer, a in enumerate(acts):
            vals = a.detach()
            if torch.isfinite(vals).all():
                self.writer.add_histogram(f"layer{layer}/activation", vals, step)
        for layer, g in enumerate(grads):
            if torch.isfinite(g).all():
                self.writer.add_histogram(f"layer{layer}/weight_grad", g, step)

    def on_fit_end(self, state) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


X_KEYS = ("steps", "epochs", "epoch", "step")  # the x axis of a stored curves file


def export_study_curves(folder: Path, logdir: Optional[Path] = None) -> Optional[Path]:
    """Write every per-member curve a study stored (``*.npz`` with a steps/epochs axis) as scalars.

    An (E, K) array becomes ``<file>/<array>/member_<k>``; an (E,) array one scalar series. Returns
    the log dir, or None when the folder holds no curves.
    """
    folder = Path(folder)
    writer = None
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        xk = next((k for k in X_KEYS if k in arrays and arrays[k].ndim == 1), None)
        if xk is None:
            continue
        xs = arrays[xk].astype(np.int64).tolist()
        for name, arr in arrays.items():
            if name == xk or arr.ndim not in (1, 2) or arr.shape[0] != len(xs) or not np.issubdtype(arr.dtype, np.number):
                continue
            writer = writer or _writer(Path(logdir or folder / "tensorboard"))
            cols = arr.reshape(len(xs), -1)
            for j in range(cols.shape[1]):
                tag = f"{path.stem}/{name}" + (f"/member_{j}" if arr.ndim == 2 else "")
                for x, v in zip(xs, cols[:, j].tolist()):
                    if np.isfinite(v):
                        writer.add_scalar(tag, float(v), x)
    if writer is None:
        return None
    writer.close()
    return Path(logdir or folder / "tensorboard")


def export_metrics(folder: Path, logdir: Optional[Path] = None) -> Path:
    """Write a stored run folder's per-member metrics as TensorBoard scalars; returns the log dir."""
    from trainlab.runs.store import RunFolder

    rf = RunFolder.load(folder)
    logdir = Path(logdir or Path(folder) / "tensorboard")
    w = _writer(logdir)
    ids = [m["id"] for m in rf.members] or None
    for name, arr in rf.metrics.items():
        if name == "steps" or arr.ndim != 2:  # the per-layer norms: (evaluations, members, layers)
            continue
        for j in range(arr.shape[1]):
            for s, v in zip(rf.metrics["steps"].tolist(), arr[:, j].tolist()):
                if np.isfinite(v):
                    w.add_scalar(f"member_{ids[j] if ids else j}/{name}", v, s)
    w.close()
    return logdir
