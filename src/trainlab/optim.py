"""Batched optimizers with per-member hyperparameters.

Each parameter tensor has the model axis first, and every hyperparameter is a (K,) tensor, so K
members take their steps in one tensor operation each, and member k's step equals what
``torch.optim`` does for that member alone (tests compare them). A frozen member (non-finite) gets
no update and no state change.

Semantics are kept visible: ``sgd`` with ``weight_decay`` adds ``wd * p`` to the gradient (= an L2
penalty), while ``adamw`` decays the weights directly (decoupled, Loshchilov & Hutter 2019). The
L2 *penalty in the loss* is in ``trainlab.regularize``.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from trainlab.schedules import Schedule

HParams = dict[str, torch.Tensor]  # name -> (K,) tensor


def _v(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.view(-1, *([1] * (like.dim() - 1)))


_ANY_MEMO: dict[int, tuple[weakref.ref, int, bool]] = {}


def _any(t: torch.Tensor) -> bool:
    """Whether any member's value is nonzero. Memoized per tensor and version counter (an in-place
    change recomputes it): hyperparameters rarely change, and each check costs ops and a sync,
    a dozen per step."""
    hit = _ANY_MEMO.get(id(t))
    if hit is not None and hit[0]() is t and hit[1] == t._version:
        return hit[2]
    val = bool((t != 0).any())
    if len(_ANY_MEMO) > 256:
        _ANY_MEMO.clear()
    _ANY_MEMO[id(t)] = (weakref.ref(t), t._version, val)
    return val


def _restore_rows(new: torch.Tensor, rows: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``new`` with the members ``idx`` set to ``rows`` (their values before the step).

    In place: the update rules return fresh tensors (arithmetic or ``clone``) or update their
    own state tensors in place, so nothing else holds ``new``; a view is copied first to be safe.
    """
    if new._base is not None:
        new = new.clone()
    return new.index_copy_(0, idx, rows)


def _sgd_step(p, g, st, hp, t, lr, nesterov: bool):
    # addcmul: one fused pass per update (a + b * c) instead of a multiply and an add
    d = torch.addcmul(g, _v(hp["weight_decay"], p), p) if _any(hp["weight_decay"]) else g
    if _any(hp["momentum"]):
        m = _v(hp["momentum"], p)
        buf = st.get("momentum_buffer")
        if buf is None:
            buf = st["momentum_buffer"] = d.clone()  # torch: first step buf = d
        else:
            buf.mul_(m).add_(d)  # in place, as torch: buf * momentum + d
        d = torch.addcmul(d, m, buf) if nesterov else buf
    return torch.addcmul(p, _v(lr, p), d, value=-1.0)


def sgd_step(p, g, st, hp, t, lr):
    return _sgd_step(p, g, st, hp, t, lr, nesterov=False)


def nesterov_step(p, g, st, hp, t, lr):
    return _sgd_step(p, g, st, hp, t, lr, nesterov=True)


def rmsprop_step(p, g, st, hp, t, lr):
    if _any(hp["weight_decay"]):
        g = g + _v(hp["weight_decay"], p) * p
    a = _v(hp["alpha"], p)
    sq = st.get("square_avg", torch.zeros_like(p))
    sq = a * sq + (1 - a) * g * g
    st["square_avg"] = sq
    avg = sq.sqrt() + _v(hp["eps"], p)
    if _any(hp["momentum"]):
        buf = st.get("momentum_buffer", torch.zeros_like(p))
        buf = _v(hp["momentum"], p) * buf + g / avg
        st["momentum_buffer"] = buf
        return p - _v(lr, p) * buf
    return p - _v(lr, p) * g / avg


def _uniform(t: torch.Tensor) -> Optional[float]:
    """The one value every member shares, or None when they differ (memoized like ``_any``)."""
    key = (id(t), "uniform")
    hit = _UNIFORM_MEMO.get(key)
    if hit is not None and hit[0]() is t and hit[1] == t._version:
        return hit[2]
    val = float(t[0]) if t.numel() and bool((t == t[0]).all()) else None
    if len(_UNIFORM_MEMO) > 256:
        _UNIFORM_MEMO.clear()
    _UNIFORM_MEMO[key] = (weakref.ref(t), t._version, val)
    return val


_UNIFORM_MEMO: dict[tuple, tuple[weakref.ref, int, Optional[float]]] = {}
_FUSED_ADAM = {"adam": "_fused_adam_", "adamw": "_fused_adamw_"}  # torch's fused CPU kernels (fused=True)


def fused_adam_step(name: str, params, grads, states, hp: HParams, t: float, lr: float) -> Optional[list]:
    """Adam/AdamW for a population whose members share every hyperparameter and step count: torch's
    fused kernel (``torch.optim.AdamW(fused=True)``'s) over the population tensors, one pass each
    instead of ten. None where it does not apply (then the general per-member path runs)."""
    shared = {key: _uniform(hp[key]) for key in ("beta1", "beta2", "eps", "weight_decay")}
    fn = getattr(torch, _FUSED_ADAM.get(name, ""), None)
    if fn is None or any(v is None for v in shared.values()) or params[0].device.type not in ("cpu", "cuda"):
        return None
    if any(p.dtype not in (torch.float32, torch.float64) for p in params):
        return None
    out = [p.clone() for p in params]  # the step returns new tensors (fit keeps the old ones for update_ratio)
    for p, st in zip(out, states):
        if "exp_avg" not in st:
            st["exp_avg"], st["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
    steps = [torch.tensor(float(t), device=out[0].device) for _ in out]  # CUDA's kernel wants them there
    fn(out, [g.contiguous() for g in grads], [st["exp_avg"] for st in states], [st["exp_avg_sq"] for st in states],
       [], steps, lr=lr, beta1=shared["beta1"], beta2=shared["beta2"], weight_decay=shared["weight_decay"],
       eps=shared["eps"], amsgrad=False, maximize=False)
    return out


def _adam_core(p, g, st, hp, t, lr):
    # The moments are updated in place and each step allocates 3 temporaries: fresh full-size
    # tensors cost page faults on every step (13 of them made a 32 x 784-800-800-10 step 7x
    # slower than torch.optim's). ``step`` restores frozen members' rows afterwards.
    b1, b2 = hp["beta1"], hp["beta2"]
    m, v = st.get("exp_avg"), st.get("exp_avg_sq")
    if m is None:
        m = st["exp_avg"] = torch.zeros_like(p)
        v = st["exp_avg_sq"] = torch.zeros_like(p)
    m.lerp_(g, _v(1 - b1, p))  # as torch: m + (g - m) * (1 - b1)
    v.mul_(_v(b2, p)).addcmul_(g, g * _v(1 - b2, p))
    bc1 = 1 - b1 ** t
    bc2 = 1 - b2 ** t
    denom = v.sqrt().div_(_v(bc2.sqrt(), p)).add_(_v(hp["eps"], p))
    step = torch.div(m, denom, out=denom)
    return torch.addcmul(p, _v(lr / bc1, p), step, value=-1.0)  # as torch's addcdiv: p - lr/bc1 * (m / denom)


def adam_step(p, g, st, hp, t, lr):
    if _any(hp["weight_decay"]):
        g = g + _v(hp["weight_decay"], p) * p  # Adam's weight_decay is an L2 term in the gradient
    return _adam_core(p, g, st, hp, t, lr)


def adamw_step(p, g, st, hp, t, lr):
    p = p * _v(1 - lr * hp["weight_decay"], p)  # decoupled decay, before the Adam step (as torch)
    return _adam_core(p, g, st, hp, t, lr)


@dataclass(frozen=True)
class OptimizerKind:
    """One row of the table: the step function, its hyperparameters and their defaults."""

    step: Callable
    hparams: tuple[str, ...]
    default_momentum: float = 0.0
    torch_name: str = ""


_SGD_HP = ("lr", "momentum", "weight_decay")
_ADAM_HP = ("lr", "beta1", "beta2", "eps", "weight_decay")
OPTIMIZERS: dict[str, OptimizerKind] = {
    "sgd": OptimizerKind(sgd_step, _SGD_HP, 0.0, "SGD"),
    "momentum": OptimizerKind(sgd_step, _SGD_HP, 0.9, "SGD(momentum)"),
    "nesterov": OptimizerKind(nesterov_step, _SGD_HP, 0.9, "SGD(nesterov=True)"),
    "rmsprop": OptimizerKind(rmsprop_step, ("lr", "alpha", "eps", "momentum", "weight_decay"), 0.0, "RMSprop"),
    "adam": OptimizerKind(adam_step, _ADAM_HP, 0.0, "Adam"),
    "adamw": OptimizerKind(adamw_step, _ADAM_HP, 0.0, "AdamW"),
}


class PopulationOptimizer:
    """Steps K members at once. ``hp`` holds (K,) tensors; ``schedule`` scales every member's lr."""

    def __init__(self, name: str, params: list[torch.Tensor], hp: HParams, schedule: Optional[Schedule] = None):
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
        self.name = name
        self.kind = OPTIMIZERS[name]
        k = params[0].shape[0]
        defaults = {"momentum": self.kind.default_momentum, "weight_decay": 0.0, "beta1": 0.9, "beta2": 0.999,
                    "eps": 1e-8, "alpha": 0.99}
        self.hp: HParams = {}
        for key in self.kind.hparams:
            val = hp.get(key)
            if val is None:
                if key == "lr":
                    raise ValueError("lr is required")
                val = torch.full((k,), float(defaults[key]))
            val = torch.as_tensor(val, dtype=torch.float32, device=params[0].device).reshape(-1)
            self.hp[key] = val.expand(k).clone() if val.numel() == 1 else val
        self.schedule = schedule or (lambda t: 1.0)
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in params]
        self.t = 0  # steps taken by the population (drives the lr schedule)
        # steps taken by each member (Adam's bias correction): frozen, stopped or restarted members differ
        self.member_t = torch.zeros(k, device=params[0].device)
        self.last_path = ""  # "fused" or "general": which path the last step took (for provenance and tests)

    @torch.no_grad()
    def step(self, params: list[torch.Tensor], grads: list[torch.Tensor],
             alive: Optional[torch.Tensor] = None) -> list[torch.Tensor]:
        """New parameter tensors after one step; members where ``alive`` is False are unchanged."""
        self.t += 1
        lr = self.hp["lr"] * float(self.schedule(self.t - 1))
        self.member_t += 1.0 if alive is None else alive.to(self.member_t.dtype)
        t = self.member_t
        some_frozen = alive is not None and not bool(alive.all())
        # frozen members' rows are saved before the step and put back after it (the update rules
        # change some state in place); the cost scales with their number, not the population's
        frozen = torch.nonzero(~alive).view(-1) if some_frozen else None
        saved = [{key: val.index_select(0, frozen) for key, val in st.items()} if frozen is not None else {}
                 for st in self.state]
        out = self._shared_step(params, grads, lr, t, alive)
        if out is None:
            self.last_path = "general"
            out = [self.kind.step(p, g, st, self.hp, t, lr) for p, g, st in zip(params, grads, self.state)]
        if frozen is not None:
            for i, (p, st) in enumerate(zip(params, self.state)):
                out[i] = _restore_rows(out[i], p.index_select(0, frozen), frozen)
                for key, val in st.items():
                    rows = saved[i].get(key)
                    st[key] = _restore_rows(val, rows if rows is not None else torch.zeros_like(val[:len(frozen)]), frozen)
        return out

    def _shared_step(self, params, grads, lr: torch.Tensor, t: torch.Tensor,
                     alive: Optional[torch.Tensor]) -> Optional[list[torch.Tensor]]:
        """The fused fast path (``fused_adam_step``) where the members share every hyperparameter and
        the stepping ones their step count. Frozen members step too and are put back by ``step``, so
        the others take the same path, with the same bits, whether or not a member froze."""
        if self.name not in _FUSED_ADAM or _uniform(self.hp["lr"]) is None:
            return None
        stepping = t if alive is None else t[alive]
        if stepping.numel() == 0 or not bool((stepping == stepping[0]).all()):
            return None
        out = fused_adam_step(self.name, params, grads, self.state, self.hp, float(stepping[0]), float(lr[0]))
        if out is not None:
            self.last_path = "fused"
        return out

    @torch.no_grad()
    def reset_member(self, k: int) -> None:
        """Forget member k's optimizer state (a restart from a new init starts afresh)."""
        for st in self.state:
            for v in st.values():
                v[k] = 0
        self.member_t[k] = 0

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat tensors for safetensors: ``{i}.{name}`` per parameter index, plus the step count."""
        flat = {f"{i}.{k}": v.detach().contiguous().cpu() for i, st in enumerate(self.state) for k, v in st.items()}
        flat["t"] = torch.tensor(self.t)
        flat["member_t"] = self.member_t.detach().cpu()
        return flat
