"""Per-layer activation and gradient statistics of an MLP population, in one fast pass.

``layer_stats`` runs a population of MLPs (weights ``(K, fan_in, fan_out)``, biases
``(K, fan_out)``; every layer but the last is followed by the activation, the last is a linear
head) forward over a batch, then backward from a cross-entropy loss on the head's output, and
returns per-layer statistics for every member:

- pre-activations z (the linear outputs): mean, std, var;
- activations a: mean and std, mean and std of |a| (the lab's definition), the fraction of exact
  zeros and the fraction of non-finite values;
- gradients: mean and std of dL/dW (``grad_*``) and of dL/da (``act_grad_*``).

Why hand-written: the backward of an MLP is three matmuls per layer (dW = a^T dz, da = dz W^T,
dz = da * f'(z)), so autograd and hooks only add copies. Each activation's forward and backward
come from its row in ``nn/activations.py``, the same ones the fused training step uses. Rows are
processed in chunks (the loss is a mean over rows, so dW is a sum over chunks) which bounds
memory; statistics are accumulated per chunk with Chan's parallel formulas in float64. Chunk
moments use a float32 sum, then a dot product of the mean-shifted values, which is accurate (no
E[x^2]-E[x]^2 cancellation) and costs three cheap passes. A chunk whose float32 sums are not
finite is redone exactly in float64: values that are inf or NaN make the statistic ``NaN`` with
flag ``"overflow"`` or ``"nan"`` (JSON null plus that flag, the README's statistics contract),
never dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from trainlab.nn.activations import ACTIVATIONS, HAND_WRITTEN, Activation

DEFAULT_MEMORY = 768 * 2**20  # bytes of stored activations per chunk
DEFAULT_MAX_ROWS = 2048  # rows x members per chunk: keeps a layer's chunk near the caches
MAX_CHUNK_ELEMENTS = 2**24  # per layer and chunk
SHIFT_RATIO = 4.0  # redo M2 around the mean when mean^2 > this x variance (float32 dot error x 5 at most)


# statistic -> the tensor whose nan/inf counts decide its flag
STAT_SOURCES: dict[str, str] = {
    "preact_mean": "preact", "preact_std": "preact", "preact_var": "preact",
    "act_mean": "act", "act_std": "act", "act_abs_mean": "act", "act_abs_std": "act",
    "zero_frac": "", "nonfinite_frac": "",
    "act_grad_mean": "act_grad", "act_grad_std": "act_grad",
    "grad_mean": "grad", "grad_std": "grad",
}


class _Moments:
    """Running count, mean, M2 and nan/inf/zero counts of a (K, L) grid, merged chunk by chunk."""

    def __init__(self, k: int, n_layers: int):
        shape = (k, n_layers)
        self.n = np.zeros(shape)
        self.mean = np.zeros(shape)
        self.m2 = np.zeros(shape)
        self.nan = np.zeros(shape, dtype=np.int64)
        self.inf = np.zeros(shape, dtype=np.int64)
        self.zeros = np.zeros(shape, dtype=np.int64)

    def merge(self, layer: int, n: int, mean: np.ndarray, m2: np.ndarray, nan: np.ndarray, inf: np.ndarray) -> None:
        # Chan et al.'s pairwise update; NaN means propagate where a chunk was non-finite
        na = self.n[:, layer]
        tot = na + n
        delta = mean - self.mean[:, layer]
        self.mean[:, layer] += delta * (n / tot)
        self.m2[:, layer] += m2 + delta**2 * (na * n / tot)
        self.n[:, layer] = tot
        self.nan[:, layer] += nan
        self.inf[:, layer] += inf

    def flags(self) -> np.ndarray:
        out = np.full(self.n.shape, None, dtype=object)
        out[self.inf > 0] = "overflow"
        out[self.nan > 0] = "nan"
        return out

    def finished(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, var) with NaN wherever the values held inf or NaN."""
        bad = (self.nan + self.inf) > 0
        mean = np.where(bad, np.nan, self.mean)
        var = np.where(bad, np.nan, self.m2 / np.maximum(self.n, 1))
        return mean, var


def _np(t: torch.Tensor) -> np.ndarray:
    """A small tensor as a float64 numpy array (from any device)."""
    return t.detach().double().cpu().numpy()


def _rowdot(v: torch.Tensor) -> torch.Tensor:
    """Per-member sum of squares of a (K, n) tensor, with BLAS dot products."""
    if v.shape[0] == 1:
        return torch.dot(v[0], v[0]).view(1)
    return torch.bmm(v.unsqueeze(1), v.unsqueeze(2)).view(-1)


def _chunk_moments(v: torch.Tensor, scratch: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, M2, nan count, inf count) per member of a contiguous (K, n) float32 tensor.

    Two read passes (sum, dot). Only where the mean dominates the spread (E[x^2] - E[x]^2 would
    cancel) is M2 redone around the chunk mean, which costs a subtraction and another dot.
    """
    n = v.shape[1]
    s = v.sum(1)
    s64, dot64 = _np(s), _np(_rowdot(v))
    with np.errstate(invalid="ignore", over="ignore"):
        mean = s64 / n
        m2 = dot64 - n * mean**2
        redo = np.isfinite(m2) & (n * mean**2 > SHIFT_RATIO * m2)
    if redo.any():
        c = s / n
        torch.sub(v, c.unsqueeze(1), out=scratch)
        shifted = _np(_rowdot(scratch))
        with np.errstate(invalid="ignore", over="ignore"):
            m2 = np.where(redo, shifted - n * (mean - _np(c)) ** 2, m2)
    nan = np.zeros(v.shape[0], dtype=np.int64)
    inf = np.zeros(v.shape[0], dtype=np.int64)
    for k in np.flatnonzero(~(np.isfinite(s64) & np.isfinite(dot64))):
        # float32 sums overflowed, or the values themselves are not finite: count those in float32
        # (two passes, no copy), and redo the moments exactly in float64 only if all are finite
        vk = v[k]
        nonfinite = int((~torch.isfinite(vk)).sum())
        nan[k] = int(torch.ne(vk, vk).sum()) if nonfinite else 0
        inf[k] = nonfinite - nan[k]
        if nonfinite:
            mean[k] = m2[k] = np.nan
        else:  # finite values too large to square in float32: moments of v / max|v|, scaled back in float64
            lo, hi = torch.aminmax(vk)
            scale = max(abs(float(lo)), abs(float(hi)))
            sk = torch.mul(vk, 1.0 / scale, out=scratch[k])
            c = float(sk.sum()) / n
            sk.sub_(c)
            mean[k] = c * scale
            m2[k] = float(_rowdot(sk.unsqueeze(0))[0]) * scale * scale
    return mean, np.maximum(m2, 0.0), nan, inf


@dataclass
class LayerStats:
    """Per-layer statistics of K members over L hidden layers; arrays are (K, L) float64.

    A non-finite entry is NaN in ``values`` and carries ``"overflow"`` or ``"nan"`` in ``flags``.
    ``loss`` (K,) is the cross-entropy at these weights; ``logit_std`` the head output's std.
    """

    values: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]
    loss: np.ndarray
    logit_std: np.ndarray
    head_grad_std: np.ndarray
    rows: int
    chunk_rows: int
    extra: dict = field(default_factory=dict)

    def member(self, k: int) -> dict:
        """Member k as JSON-ready lists (None for non-finite) plus a ``flags`` dict for those."""
        out: dict = {}
        flags: dict = {}
        for name, arr in self.values.items():
            row = [float(v) if np.isfinite(v) else None for v in arr[k]]
            out[name] = row
            if any(v is None for v in row):
                flags[name] = [self.flags[name][k, i] if v is None else None for i, v in enumerate(row)]
        out["flags"] = flags
        return out


def _chunk_rows(k: int, widths: list[int], saves_z: bool, n: int, memory: int, max_rows: int) -> int:
    per_row = 4 * k * sum(widths) * (2 if saves_z else 1) + 4 * k * 4 * max(widths)
    exact = MAX_CHUNK_ELEMENTS // (k * max(widths))  # zero counts are float32 sums: exact below 2**24
    rows = max(1, min(n, memory // per_row, max(1, max_rows // k), exact))
    return int(rows)


def layer_stats(weights: list[torch.Tensor], biases: list[Optional[torch.Tensor]], activation: str, x: torch.Tensor,
                y: torch.Tensor, *, chunk_rows: Optional[int] = None, memory: int = DEFAULT_MEMORY,
                max_rows: int = DEFAULT_MAX_ROWS) -> LayerStats:
    """Statistics of one forward + backward pass of a population MLP (see the module docstring).

    ``weights[l]`` is (K, fan_in, fan_out), float32; the last entry is the head. ``biases[l]`` is
    (K, fan_out) or None. ``x`` is (N, d) shared by all members or (K, N, d); ``y`` holds class
    ids, (N,) or (K, N). The loss is each member's mean cross-entropy over the N rows.
    """
    if activation not in HAND_WRITTEN:
        raise ValueError(f"layer_stats: activation {activation!r} not supported; valid: {', '.join(HAND_WRITTEN)}")
    act = ACTIVATIONS[activation]
    k, n_layers = weights[0].shape[0], len(weights) - 1
    widths = [w.shape[2] for w in weights[:-1]]
    n_rows = x.shape[-2]
    shared = x.dim() == 2
    ws = [w.detach().float().contiguous() for w in weights]
    bs = [None if b is None or not bool(b.any()) else b.detach().float().unsqueeze(1) for b in biases]
    rows = chunk_rows or _chunk_rows(k, widths, act.needs_z, n_rows, memory, max_rows)
    wmax = max(widths)
    dev = ws[0].device
    mk = lambda width: torch.empty(k * rows * width, device=dev)  # noqa: E731 - flat buffers, viewed per chunk
    a_buf = [mk(wd) for wd in widths]
    z_buf = [mk(wd) for wd in widths] if act.needs_z else a_buf  # else f(z) overwrites z in place
    scratch, scratch2, g_a, g_b = (mk(wmax) for _ in range(4))
    dws = [torch.zeros_like(w) for w in ws]
    acc = {name: _Moments(k, n_layers) for name in ("preact", "act", "act_abs", "act_grad")}
    logits_m = _Moments(k, 1)
    loss_sum = np.zeros(k)

    def view(buf: torch.Tensor, r: int, width: int) -> torch.Tensor:
        return buf[: k * r * width].view(k, r, width)

    def record(name: str, layer: int, t: torch.Tensor, r: int, width: int, into: Optional[_Moments] = None) -> None:
        flat = t.view(k, r * width)
        mean, m2, nan, inf = _chunk_moments(flat, scratch[: k * r * width].view(k, r * width))
        (into or acc[name]).merge(layer, r * width, mean, m2, nan, inf)

    dead = np.zeros(k, dtype=bool)
    for r0 in range(0, n_rows, rows):
        r = min(rows, n_rows - r0)
        xb = x[r0:r0 + r] if shared else x[:, r0:r0 + r]
        xb = (xb.unsqueeze(0).expand(k, r, xb.shape[-1]) if shared else xb).to(dev, torch.float32)
        yb = (y[r0:r0 + r].unsqueeze(0).expand(k, r) if y.dim() == 1 else y[:, r0:r0 + r]).to(dev, torch.long)
        inputs, pres = [xb], []
        a = xb
        for layer in range(n_layers):
            wd = widths[layer]
            z = view(z_buf[layer], r, wd)
            torch.bmm(a, ws[layer], out=z) if bs[layer] is None else torch.baddbmm(bs[layer], a, ws[layer], out=z)
            record("preact", layer, z, r, wd)
            a = act.apply_into(z, view(a_buf[layer], r, wd))
            record("act", layer, a, r, wd)
            flat = a.view(k, r * wd)
            nonzero = torch.ne(flat, 0, out=scratch2[: k * r * wd].view(k, r * wd)).sum(1)  # float out: faster than count_nonzero
            acc["act"].zeros[:, layer] += r * wd - _np(nonzero).astype(np.int64)
            if not act.nonneg:
                record("act_abs", layer, torch.abs(flat, out=scratch2[: k * r * wd].view(k, r * wd)), r, wd)
            inputs.append(a)
            pres.append(z)  # the very memory of a unless the backward needs z
        logits = torch.bmm(a, ws[-1]) if bs[-1] is None else torch.baddbmm(bs[-1], a, ws[-1])
        n_cls = logits.shape[2]
        record("logits", 0, logits, r, n_cls, into=logits_m)
        logp = torch.log_softmax(logits, dim=2)
        loss_sum += -_np(logp.gather(2, yb.unsqueeze(2)).sum((1, 2)))
        dlogits = logp.exp_()
        dlogits.scatter_add_(2, yb.unsqueeze(2), torch.full((k, r, 1), -1.0, device=dev))
        dlogits.div_(n_rows)
        # a member with a non-finite loss gradient in any row has NaN in every backward statistic
        # (NaN reaches every unit of every layer and every dW sum): once all members are there,
        # the backward is skipped, and _finish writes those NaNs (flag "nan") directly
        dead |= ~_np(torch.isfinite(dlogits).view(k, -1).all(1)).astype(bool)
        if dead.all():
            continue
        dws[-1].baddbmm_(a.transpose(1, 2), dlogits)
        grads = (g_a, g_b)  # ping-pong: da in grads[cur], dz in the other unless f' is 1
        cur = 0
        da = torch.bmm(dlogits, ws[-1].transpose(1, 2), out=view(grads[cur], r, widths[-1]))
        for layer in reversed(range(n_layers)):
            wd = widths[layer]
            record("act_grad", layer, da, r, wd)
            dz = act.backward(da, inputs[layer + 1], pres[layer], view(grads[1 - cur], r, wd))
            dz_at = cur if dz is da else 1 - cur
            dws[layer].baddbmm_(inputs[layer].transpose(1, 2), dz)
            if layer > 0:
                cur = 1 - dz_at
                da = torch.bmm(dz, ws[layer].transpose(1, 2), out=view(grads[cur], r, widths[layer - 1]))
    return _finish(acc, dws, act, logits_m, loss_sum, n_rows, rows, dead)


def _tensor_stats(t: torch.Tensor) -> tuple[float, float, Optional[str]]:
    """(mean, std, flag) of one member's tensor, exactly, in float64.

    The float64 mean is finite exactly when every value is (float32 values cannot overflow a
    float64 sum), so the NaN and inf scans run only when it is not: they were four of the seven
    passes over each weight gradient, a quarter of the deep statistics pass."""
    td = t.double()
    mean = float(td.mean())
    if not math.isfinite(mean):
        return np.nan, np.nan, "nan" if bool(torch.isnan(td).any()) else "overflow"
    return mean, float(td.std(correction=0)), None


def _finish(acc: dict[str, _Moments], dws: list[torch.Tensor], act: Activation, logits_m: _Moments,
            loss_sum: np.ndarray, n_rows: int, rows: int, dead: np.ndarray) -> LayerStats:
    if act.nonneg:
        acc["act_abs"] = acc["act"]
    values: dict[str, np.ndarray] = {}
    flags: dict[str, np.ndarray] = {}
    for name in ("preact", "act", "act_abs", "act_grad"):
        mean, var = acc[name].finished()
        prefix = {"act_abs": "act_abs"}.get(name, name)
        values[f"{prefix}_mean"], values[f"{prefix}_std"] = mean, np.sqrt(var)
        flags[f"{prefix}_mean"] = flags[f"{prefix}_std"] = acc[name].flags()
    values["preact_var"], flags["preact_var"] = values["preact_std"] ** 2, flags["preact_std"]
    act = acc["act"]
    values["zero_frac"] = act.zeros / np.maximum(act.n, 1)
    values["nonfinite_frac"] = (act.nan + act.inf) / np.maximum(act.n, 1)
    k, n_layers = act.n.shape
    gm, gs = np.zeros((k, n_layers)), np.zeros((k, n_layers))
    gf = np.full((k, n_layers), None, dtype=object)
    for layer in range(n_layers):
        for m in range(k):
            gm[m, layer], gs[m, layer], gf[m, layer] = _tensor_stats(dws[layer][m])
    values["grad_mean"], values["grad_std"] = gm, gs
    flags["grad_mean"] = flags["grad_std"] = gf
    flags["zero_frac"] = flags["nonfinite_frac"] = np.full((k, n_layers), None, dtype=object)
    head = np.array([_tensor_stats(dws[-1][m])[1] for m in range(k)])
    for name in ("act_grad_mean", "act_grad_std", "grad_mean", "grad_std"):
        values[name][dead] = np.nan
        flags[name][dead] = "nan"
    head[dead] = np.nan
    _, lvar = logits_m.finished()
    return LayerStats(values=values, flags=flags, loss=loss_sum / n_rows, logit_std=np.sqrt(lvar[:, 0]),
                      head_grad_std=head, rows=n_rows, chunk_rows=rows)
