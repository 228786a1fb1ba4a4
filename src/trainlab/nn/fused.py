"""Hand-written forward and backward for one PopulationMLP training step: the fast path of ``fit``.

Same contract and numbers (to float rounding) as ``trainlab.loop.autograd_loss_and_grads``, without
autograd's graph, in fewer and cheaper tensor passes:

- **Feature-major layout.** Activations are held as (K, width, B), each member's ``h.T``, so a
  layer is ``z.T = W.T @ h.T + b``: one ``baddbmm`` whose long axis (the batch) is contiguous. With
  the public (K, B, width) layout the batched GEMMs have inner dimensions 2-6 along the fast axis,
  which MKL runs 3-5x slower (benchmarks/README.md, "population speed").
- **Shared inputs are one GEMM.** When every member sees the same (B, d) batch (full-batch GD),
  layer 0 of all K members is a single ``addmm`` (K*f, d) @ (d, B), and its weight gradient a single
  ``mm``; a per-member input scale/offset is folded into the weights instead of materialising K
  copies of x.
- **Closed-form loss gradients** (softmax - onehot) / B, and the activations' own backward kernels
  applied in place: each activation's row in ``nn/activations.py`` (forward into a buffer,
  backward from the output where that is exact, else from the pre-activation).

Dropout uses the very masks ``PopulationMLP._dropout`` draws (same counter-based hash, same
(member, step, layer, position) counters), so a member's result does not depend on the path. A
frozen member (``alive`` False) has its loss gradient scaled by zero; every operation is per member,
so nothing of it reaches another member.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Optional

import torch

from trainlab.nn import ckernel, cmasks
from trainlab.nn.activations import ACTIVATIONS
from trainlab.nn.population import PopulationMLP
from trainlab.regularize import penalty
from trainlab.rng import counter_uniform

aten = torch.ops.aten
Tensor = torch.Tensor


# ---- reusable buffers and per-tensor memos ---------------------------------------------------------
_tls = threading.local()
_MAX_ENTRIES = 64


def _store(name: str) -> dict:
    d = getattr(_tls, name, None)
    if d is None or len(d) >= _MAX_ENTRIES:
        d = {}
        setattr(_tls, name, d)
    return d


def _ones_last_row(t: Tensor) -> None:
    t.select(-2, t.shape[-2] - 1).fill_(1.0)


def _buffer(name: str, shape: tuple[int, ...], like: Tensor,
            init: Optional[Callable[[Tensor], None]] = None) -> Tensor:
    """A per-thread scratch tensor, reused from step to step: fresh multi-MB allocations cost page
    faults every step (glibc hands them back to the OS). Only intermediates live here, never a
    returned value. ``init`` runs once, at creation (e.g. the ones row that carries the bias)."""
    bufs = _store("bufs")
    key = (name, shape, like.dtype, like.device)
    t = bufs.get(key)
    if t is None:
        t = bufs[key] = torch.empty(shape, dtype=like.dtype, device=like.device)
        if init is not None:
            init(t)
    return t


def _memo(t: Tensor, what: str, fn: Callable[[Tensor], Any]) -> Any:
    """``fn(t)``, recomputed only when ``t`` is another tensor or was changed in place (its version
    counter moved): the per-member rates, scales, labels and inputs rarely change, and each check
    costs a few ops and a sync per step."""
    memo = _store("memo")
    key = (id(t), what)
    hit = memo.get(key)
    if hit is not None and hit[0]() is t and hit[1] == t._version:
        return hit[2]
    val = fn(t)
    memo[key] = (weakref.ref(t), t._version, val)
    return val


def release() -> None:
    """Free this thread's scratch buffers and memos (``fit`` calls it when training ends)."""
    _tls.bufs, _tls.memo = {}, {}


# ---- losses on feature-major logits zT (K, C, B) --------------------------------------------
def _onehot_t(y: Tensor, zt: Tensor) -> Tensor:
    """One-hot targets in feature-major layout: (1, C, B) for shared labels (B,), else (K, C, B)."""
    yk = y.view(1, -1) if y.dim() == 1 else y
    return torch.zeros(yk.shape[0], zt.shape[1], yk.shape[1], dtype=zt.dtype, device=zt.device).scatter_(
        1, yk.unsqueeze(1), 1.0)


def ce_grad(zt: Tensor, y: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
    """Cross-entropy: per-member mean NLL (K,) and coef * B * dloss/dz = (softmax - onehot) * coef."""
    k, c, b = zt.shape
    logp = torch._log_softmax(zt, 1, False, out=_buffer("logp", (k, c, b), zt))
    onehot = _onehot_t(y, zt)
    if y.dim() == 1:  # shared labels: sum_c,b logp * onehot for all members is one GEMV
        loss = torch.mv(logp.view(k, c * b), onehot.view(-1)).mul_(-1.0 / b)
    else:
        loss = logp.gather(1, y.unsqueeze(1)).mean(-1).squeeze(1).neg_()
    dz = torch.exp(logp, out=_buffer("dz_out", (k, c, b), zt))
    return loss, dz.sub_(onehot).mul_(coef)


def _mse(p: Tensor, y: Tensor) -> tuple[Tensor, Tensor, float]:
    diff = p - _onehot_t(y, p)
    norm = 1.0 / (p.shape[1] * p.shape[2])  # mean over classes and rows, as losses._mse
    return (diff * diff).sum(dim=(1, 2)) * norm, diff, 2.0 * norm


def mse_softmax_grad(zt: Tensor, y: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
    """MSE on softmax outputs; the softmax Jacobian-vector product is p * (g - sum_c g p)."""
    p = torch.softmax(zt, dim=1)
    loss, diff, scale = _mse(p, y)
    g = diff.mul_(coef * (scale * zt.shape[2]))
    return loss, g.sub_((g * p).sum(1, keepdim=True)).mul_(p)


def mse_sigmoid_grad(zt: Tensor, y: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
    """MSE on sigmoid outputs; sigmoid' = p (1 - p)."""
    p = torch.sigmoid(zt)
    loss, diff, scale = _mse(p, y)
    g = diff.mul_(coef * (scale * zt.shape[2]))
    return loss, aten.sigmoid_backward.grad_input(g, p, grad_input=g)


# name -> (logits zT, labels, coef (K,1,1) = alive/B) -> (loss (K,), dloss/dzT summed over alive)
LOSS_GRADS: dict[str, Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]] = {
    "cross_entropy": ce_grad,
    "mse_softmax": mse_softmax_grad,
    "mse_sigmoid": mse_sigmoid_grad,
}


def supports(model, spec) -> bool:
    """True where this hand-written step applies: a PopulationMLP with a tabled activation (no PReLU
    slopes, no maxout pieces) and a tabled loss, in floating point."""
    return (isinstance(model, PopulationMLP) and ACTIVATIONS[model.activation].backward is not None
            and model.pieces == 1 and not model.act_params and spec.loss in LOSS_GRADS
            and model.weights[0].is_floating_point())


# ---- dropout ---------------------------------------------------------------------------------
def _dropout_scale_t(model: PopulationMLP, p: Tensor, step: int, salt: int, batch: int, width: int,
                     like: Tensor) -> Optional[Tensor]:
    """keep / (1 - p) as (K, width, B), from the same counters as ``PopulationMLP._dropout``
    (drawn in its (K, B, width) order, then transposed), or None when no member drops out."""
    if not _memo(p, "any>0", lambda t: bool((t > 0).any())):
        return None
    if like.dtype == torch.float32:  # the same masks, bit for bit, in one compiled pass (nn/cmasks.py)
        fast = cmasks.scale(model.dropout_keys, step, salt, batch, width, p, feature_major=True)
        if fast is not None:
            return fast
    u = counter_uniform(model.dropout_keys, step, salt, (batch, width), device=like.device)
    pk = p.to(like.dtype).view(-1, 1, 1)
    keep = (u >= pk).to(like.dtype)
    return (keep / (1.0 - pk)).transpose(1, 2).contiguous()


def _affine(model: PopulationMLP) -> bool:
    return (_memo(model.input_scale, "any!=1", lambda t: bool((t != 1).any()))
            or _memo(model.input_offset, "any!=0", lambda t: bool((t != 0).any())))


def _init_weights_t(t: Tensor) -> None:
    t.zero_()
    t[:, -1, -1] = 1.0


def _weights_t(name: str, w: Tensor, b: Tensor, ones_out: bool) -> Tensor:
    """[W^T | b] (K, fan_out, fan_in + 1) in a reused buffer, ready for ``W^T @ [h; 1]``: with a ones
    row appended to the input, the GEMM adds the bias, and backward's weight GEMM yields the bias
    gradient as its last column. ``ones_out`` adds the row (0, ..., 0, 1), so the GEMM also writes
    the ones row of the next layer's input (exactly 1.0): the activation then runs in place."""
    k, fan_in, fan_out = w.shape
    wt = _buffer(name, (k, fan_out + ones_out, fan_in + 1), w, _init_weights_t if ones_out else None)
    wt[:, :fan_out, :fan_in].copy_(w.transpose(1, 2))
    wt[:, :fan_out, fan_in].copy_(b)
    return wt


def _weight_bias_grad(h_aug: Tensor, dz: Tensor) -> tuple[Tensor, Tensor]:
    """dW (K, fan_in, fan_out) and db (K, fan_out) from one GEMM [h; 1] @ dz^T = [dW; db^T].

    Both are views of the GEMM's output (no transposing copy); MKL reads the transposed dz in place.
    """
    g = torch.bmm(h_aug, dz.transpose(1, 2))
    return g[:, :-1], g[:, -1]


def _back_matmul(w: Tensor, dz: Tensor, out: Tensor) -> Tensor:
    """dh = W @ dz, (K, in, out) @ (K, out, B). For out <= 2, a broadcast multiply-add per column
    beats MKL's batched GEMM, which handles such thin inner dimensions poorly (3-4x slower at 1)."""
    if w.shape[2] > 2:
        return torch.bmm(w, dz, out=out)
    torch.mul(w[:, :, 0:1], dz[:, 0:1], out=out)
    for j in range(1, w.shape[2]):
        out.addcmul_(w[:, :, j:j + 1], dz[:, j:j + 1])
    return out


def _binary_ce_head(h_aug: Tensor, w: Tensor, b: Tensor, y: Tensor, coef: Tensor,
                    dh: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Output layer plus cross-entropy for two classes, through the logit difference d = z1 - z0:
    the softmax of two logits is sigmoid(d) and -log p_y = softplus(+-d), so the head computes one
    row instead of two and skips log_softmax. Returns loss (K,), dW, db and dh (written in ``dh``)."""
    k, fan_in = w.shape[0], w.shape[1]
    wd = _buffer("wd", (k, 1, fan_in + 1), w)  # [w1 - w0 | b1 - b0]
    torch.sub(w[:, :, 1], w[:, :, 0], out=wd[:, 0, :fan_in])
    torch.sub(b[:, 1], b[:, 0], out=wd[:, 0, fan_in])
    batch = h_aug.shape[2]
    d = torch.bmm(wd, h_aug, out=_buffer("d", (k, 1, batch), w))  # (K, 1, B)
    yf = _memo(y, f"y/{d.dtype}", lambda t: t.to(d.dtype).unsqueeze(-2))  # (1 or K, 1, B)
    sign = _memo(y, f"1-2y/{d.dtype}", lambda t: 1.0 - 2.0 * t.to(d.dtype).unsqueeze(-2))
    sd = torch.mul(d, sign, out=_buffer("sd", (k, 1, batch), w))
    loss = aten.softplus.out(sd, 1.0, 20.0, out=sd).mean((1, 2))  # y=0: softplus(d); y=1: softplus(-d)
    g = torch.sigmoid(d, out=_buffer("g", (k, 1, batch), w))
    g.sub_(yf).mul_(coef)  # dz1 = p1 - y1 (scaled); dz0 = -dz1
    gw = torch.bmm(g, h_aug.transpose(1, 2))  # (K, 1, in + 1): [h^T g | sum g]
    gw = gw.view(k, fan_in + 1, 1)
    dw = torch.cat([-gw[:, :fan_in], gw[:, :fan_in]], dim=2)  # (dz0, dz1) = (-g, g); cat beats a
    db = torch.cat([-gw[:, fan_in], gw[:, fan_in]], dim=1)  # broadcast multiply on a 2-wide axis
    torch.mul(wd[:, 0, :fan_in].unsqueeze(-1), g, out=dh)  # W @ dz = (w1 - w0) g
    return loss, dw, db, dh


def _penalty(ws: list[Tensor], spec) -> Optional[Tensor]:
    """``regularize.penalty``, skipped without a sync when the strengths are all zero (memoized:
    a sweep's members carry zero tensors, checked every step otherwise)."""
    nonzero = [t is not None and _memo(t, "any!=0", lambda v: bool((v != 0).any())) for t in (spec.l1, spec.l2)]
    return penalty(ws, spec.l1, spec.l2) if any(nonzero) else None


# ---- the compiled kernel for small nets (nn/ckernel.py) -----------------------------------------
def _no_dropout(model: PopulationMLP) -> bool:
    return not (_memo(model.p_input, "any>0", lambda t: bool((t > 0).any()))
                or _memo(model.p_hidden, "any>0", lambda t: bool((t > 0).any())))


def kernel_for(model: PopulationMLP, loss: str, like: Tensor):
    """The compiled kernel of this population's structure, or None where the tensor path runs."""
    if not (ckernel.enabled() and like.dtype == torch.float32 and like.device.type == "cpu"
            and model.pieces == 1 and not model.act_params
            and ckernel.applies(tuple(model.sizes), model.activation, loss)):
        return None
    return ckernel.library(tuple(model.sizes), model.activation, loss, _affine(model))


def _kernel_inputs(model: PopulationMLP, xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor]:
    """x and y in the kernel's layout: (d, Bp) / (Bp,) memoized when shared, else (K, d, Bp) / (K, Bp)."""
    b, d = xb.shape[-2], xb.shape[-1]
    bp = ckernel.padded(b)
    if xb.dim() == 2:
        xt = _memo(xb, "kx", lambda t: ckernel.inputs_t(t.float(), torch.empty(d, bp)))
    else:
        xt = ckernel.inputs_t(xb, _buffer("kx", (xb.shape[0], d, bp), torch.empty(0)))
    if yb.dim() == 1:
        yt = _memo(yb, "ky", lambda t: ckernel.labels_t(t, torch.empty(bp, dtype=torch.int32)))
    else:
        yt = ckernel.labels_t(yb, _buffer("ky", (yb.shape[0], bp), torch.empty(0, dtype=torch.int32)))
    return xt, yt


def _kernel_affine(model: PopulationMLP) -> tuple[Optional[Tensor], Optional[Tensor]]:
    if not _affine(model):
        return None, None
    return (_memo(model.input_scale, "f32", lambda t: t.float().contiguous()),
            _memo(model.input_offset, "f32", lambda t: t.float().contiguous()))


def _kernel_step(lib, model: PopulationMLP, params: list[Tensor], xb: Tensor, yb: Tensor, spec,
                 alive: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
    n = len(model.weights)
    xt, yt = _kernel_inputs(model, xb, yb)
    b = xb.shape[-2]
    coef = _memo(alive, f"kcoef/{b}", lambda t: (t.float() / b).contiguous())
    scale, offset = _kernel_affine(model)
    per_member, grads = ckernel.call_step(lib, params[:2 * n], xt, yt, b, coef, scale, offset)
    objective = per_member
    ws = params[0:2 * n:2]
    pen = _penalty(ws, spec)
    if pen is not None:
        objective = per_member + pen
        _add_penalty_grads(ws, grads, spec.l1, spec.l2, alive.to(ws[0].dtype))
    return objective, per_member, grads


@torch.no_grad()
def evaluate(model: PopulationMLP, x: Tensor, y: Tensor, loss: str) -> Optional[tuple[Tensor, Tensor]]:
    """Eval-mode per-member loss and accuracy through the compiled kernel, or None where it does
    not apply (``trainlab.loop.evaluate`` then runs the tensor forward)."""
    like = model.weights[0]
    if x.dim() != 2 or y.dim() != 1 or not fused_eval_ok(model):
        return None
    lib = kernel_for(model, loss, like)
    if lib is None:
        return None
    xt, yt = _kernel_inputs(model, x, y)
    scale, offset = _kernel_affine(model)
    loss_sum = torch.zeros(model.K, dtype=torch.float64)
    correct = torch.zeros(model.K, dtype=torch.float64)
    ckernel.call_evaluate(lib, model.parameters()[:2 * len(model.weights)], xt, yt, x.shape[0], scale, offset,
                          loss_sum, correct)
    norm = x.shape[0] * (1 if loss == "cross_entropy" else model.sizes[-1])
    return (loss_sum / norm).to(torch.float32), (correct / x.shape[0]).to(torch.float32)


def fused_eval_ok(model: PopulationMLP) -> bool:
    return (isinstance(model, PopulationMLP) and model.pieces == 1 and not model.act_params
            and model.weights[0].dtype == torch.float32)


# ---- the step ----------------------------------------------------------------------------------
def loss_and_grads(model: PopulationMLP, params: list[Tensor], xb: Tensor, yb: Tensor, spec, step: int,
                   alive: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
    """Per-member objective (loss + penalty) and loss, both (K,), and the gradients of the summed
    objective of the ``alive`` members: the contract of ``autograd_loss_and_grads``."""
    n = len(model.weights)
    if _no_dropout(model):
        lib = kernel_for(model, spec.loss, params[0])
        if lib is not None:
            return _kernel_step(lib, model, params, xb, yb, spec, alive)
    ws, bs = params[0:2 * n:2], params[1:2 * n:2]
    k, batch, d = model.K, xb.shape[-2], xb.shape[-1]
    like = ws[0]
    act = ACTIVATIONS[model.activation]
    affine = _affine(model)
    if affine:
        scale, offset = model.input_scale.to(like.dtype), model.input_offset.to(like.dtype)

    # layer 0: one GEMM over all members when they share x, else a batched GEMM on their inputs.
    # Each GEMM of a hidden layer writes (K, width + 1, B): its pre-activation plus the ones row.
    drop_in = _dropout_scale_t(model, model.p_input, step, 0, batch, d, like)
    shared = xb.dim() == 2 and drop_in is None
    f0 = ws[0].shape[2]
    rows0 = f0 + (n > 1)
    if shared:
        w0, b0 = ws[0], bs[0]
        if affine:  # (x s + o) W + b = x (s W) + (b + o 1^T W): no K copies of x
            w0, b0 = w0 * scale.view(-1, 1, 1), b0 + offset.view(-1, 1) * w0.sum(1)
        h_in = _memo(xb, f"x_aug/{like.dtype}",  # [x^T; 1], (d + 1, B)
                     lambda t: torch.cat([t.t(), t.new_ones(1, batch)]).to(like.dtype))
        w0_flat = _weights_t("w0", w0, b0, n > 1).view(k * rows0, d + 1)
        zt = torch.mm(w0_flat, h_in, out=_buffer("z0", (k * rows0, batch), like)).view(k, rows0, batch)
    else:
        h_in = _buffer("x", (k, d + 1, batch), like, _ones_last_row)
        h = xb
        if affine:
            h = h * scale.view(-1, 1, 1) + offset.view(-1, 1, 1)
        if drop_in is not None:
            torch.mul(h.transpose(-1, -2), drop_in, out=h_in[:, :d])
        else:
            h_in[:, :d].copy_(h.transpose(-1, -2))
        zt = torch.bmm(_weights_t("w0", ws[0], bs[0], n > 1), h_in,
                       out=_buffer("z0", (k, rows0, batch), like))

    # hidden activations, in place where backward can do without z: the inputs of each next layer
    # (ones row included), activation outputs, pre-activations, dropout masks
    inputs, acts, pres, masks = [h_in], [], [], []
    for layer in range(1, n):
        width = zt.shape[1] - 1
        z = zt[:, :width]
        mask = _dropout_scale_t(model, model.p_hidden, step, layer, batch, width, like)
        h_aug = zt
        if act.needs_z or mask is not None:
            h_aug = _buffer(f"h{layer}", (k, width + 1, batch), like, _ones_last_row)
        if mask is None:
            a = act.apply_into(z, h_aug[:, :width])
        else:
            a = act.apply_into(z, _buffer(f"a{layer}", (k, width, batch), like) if act.needs_z else z)
            torch.mul(a, mask, out=h_aug[:, :width])
        inputs.append(h_aug)
        acts.append(a)
        pres.append(z)
        masks.append(mask)
        if layer < n - 1:
            rows = ws[layer].shape[2] + 1
            zt = torch.bmm(_weights_t(f"w{layer}", ws[layer], bs[layer], True), h_aug,
                           out=_buffer(f"z{layer}", (k, rows, batch), like))

    # output layer and loss; coef = alive / B puts frozen members' gradients to zero
    coef = _memo(alive, f"coef/{batch}/{like.dtype}", lambda t: (t.to(like.dtype) / batch).view(-1, 1, 1))
    grads: list[Tensor] = [like] * (2 * n)
    w_out, h_last = ws[n - 1], inputs[n - 1]
    dh = _buffer(f"dh{n - 1}", (k, w_out.shape[1], batch), like) if n > 1 else None
    if spec.loss == "cross_entropy" and w_out.shape[2] == 2 and n > 1:
        per_member, grads[-2], grads[-1], dh = _binary_ce_head(h_last, w_out, bs[n - 1], yb, coef, dh)
    else:
        if n > 1:
            zt = torch.bmm(_weights_t(f"w{n - 1}", w_out, bs[n - 1], False), h_last,
                           out=_buffer(f"z{n - 1}", (k, w_out.shape[2], batch), like))
        per_member, dz = LOSS_GRADS[spec.loss](zt, yb, coef)
        if n > 1:
            grads[-2], grads[-1] = _weight_bias_grad(h_last, dz)
            dh = _back_matmul(w_out, dz, dh)

    # backward through the hidden layers
    for layer in range(n - 1, 0, -1):
        if masks[layer - 1] is not None:
            dh.mul_(masks[layer - 1])
        dz = act.backward(dh, acts[layer - 1], pres[layer - 1], dh)  # in place on dh
        if layer > 1:
            grads[2 * layer - 2], grads[2 * layer - 1] = _weight_bias_grad(inputs[layer - 1], dz)
            dh = _back_matmul(ws[layer - 1], dz, _buffer(f"dh{layer - 1}", (k, ws[layer - 1].shape[1], batch), like))
    if shared:  # all members' [x 1]^T dz at once: (d + 1, K * f0)
        g = torch.mm(h_in, dz.reshape(k * f0, batch).t()).view(d + 1, k, f0)
        db0 = g[d].contiguous()
        dw0 = g[:d].permute(1, 0, 2)
        if affine:  # d/dW of (x s + o) W = s x^T dz + o 1^T dz
            dw0 = dw0 * scale.view(-1, 1, 1) + offset.view(-1, 1, 1) * db0.unsqueeze(1)
        grads[0], grads[1] = dw0.contiguous(), db0
    else:
        grads[0], grads[1] = _weight_bias_grad(h_in, dz)

    objective = per_member
    pen = _penalty(ws, spec)
    if pen is not None:
        objective = per_member + pen
        _add_penalty_grads(ws, grads, spec.l1, spec.l2, alive.to(like.dtype))
    return objective, per_member, grads


def _add_penalty_grads(ws: list[Tensor], grads: list[Tensor], l1: Optional[Tensor], l2: Optional[Tensor],
                       alive: Tensor) -> None:
    """d/dW of l1 |W| + l2/2 W^2 for alive members: l1 sign(W) + l2 W, added to the weight gradients."""
    use_l1 = l1 is not None and bool((l1 != 0).any())
    use_l2 = l2 is not None and bool((l2 != 0).any())
    for i, w in enumerate(ws):
        g = grads[2 * i]
        if use_l1:
            g = g + (l1.to(w.dtype) * alive).view(-1, 1, 1) * torch.sign(w)
        if use_l2:
            g = g + (l2.to(w.dtype) * alive).view(-1, 1, 1) * w
        grads[2 * i] = g
