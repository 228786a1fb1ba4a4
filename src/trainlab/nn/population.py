"""PopulationMLP: K MLPs of one structure, stored as stacked tensors with a leading model axis.

Public layout: layer l's weight is (K, fan_in, fan_out) (member k's ``nn.Linear.weight`` is
``W[k].T``) and its bias (K, fan_out). The forward pass is one batched matmul per layer, so K models
cost a few large tensor operations instead of K Python loops.

Per-member values live in (K,) tensors: dropout rates, and an input scale/offset (for data-scaling
sweeps). Dropout is inverted (scaled by 1/(1-p) at train time, identity in eval mode) and its masks
come from a counter-based hash of (member key, step, layer, position), so a member draws the same
masks whatever population or chunk it is in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import nn

from trainlab.nn import cmasks
from trainlab.nn.activations import ACTIVATIONS, Activation, Maxout, maxout
from trainlab.nn.init import init_bias, init_weight
from trainlab.rng import counter_uniform, member_generator, member_keys


@dataclass
class MemberInit:
    """How one member is initialized: its seed, scheme, scale and bias scheme."""

    seed: int
    scheme: str = "normal"
    scale: float = 0.1
    bias_scheme: str = "zeros"
    bias_scale: float = 0.0


class InputAffine(nn.Module):
    """x * scale + offset: a member's input scaling, kept explicit in the exported Sequential."""

    def __init__(self, scale: float, offset: float):
        super().__init__()
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x):
        return x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"scale={self.scale}, offset={self.offset}"


def _per_member(t: Optional[torch.Tensor], k: int, fill: float) -> torch.Tensor:
    if t is None:
        return torch.full((k,), float(fill))
    t = torch.as_tensor(t, dtype=torch.float32).reshape(-1)
    if t.numel() == 1 and k != 1:
        t = t.expand(k).clone()
    if t.numel() != k:
        raise ValueError(f"per-member tensor has {t.numel()} values for {k} members")
    return t


class PopulationMLP:
    """K MLPs ``sizes[0] -> ... -> sizes[-1]`` with one activation, trained as one computation."""

    def __init__(self, sizes: Sequence[int], activation: str, weights: list[torch.Tensor], biases: list[torch.Tensor],
                 member_seeds: Sequence[int], run_seed: int = 0, act_params: Optional[list[torch.Tensor]] = None,
                 p_input=None, p_hidden=None, input_scale=None, input_offset=None, maxout_k: int = 2):
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.act: Activation = ACTIVATIONS[activation]
        self.pieces = maxout_k if activation == "maxout" else 1
        self.weights = weights
        self.biases = biases
        self.member_seeds = [int(s) for s in member_seeds]
        self.run_seed = int(run_seed)
        k = len(self.member_seeds)
        self.act_params = act_params or []
        self.p_input = _per_member(p_input, k, 0.0)
        self.p_hidden = _per_member(p_hidden, k, 0.0)
        self.input_scale = _per_member(input_scale, k, 1.0)
        self.input_offset = _per_member(input_offset, k, 0.0)
        self.dropout_keys = member_keys(self.run_seed, self.member_seeds, "dropout")
        self.inits: Optional[list[MemberInit]] = None  # how members were initialized, when known (restarts)
        self._check()

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, sizes: Sequence[int], activation: str, inits: Sequence[MemberInit], run_seed: int = 0,
               maxout_k: int = 2, stream: str = "init", **per_member) -> "PopulationMLP":
        """Initialize each member from its own ``stream``: same seed, same weights, in any population.

        A restart draws from another stream (``init/restart1``, ...) with the same scheme and scale.
        """
        act = ACTIVATIONS[activation]
        pieces = maxout_k if activation == "maxout" else 1
        n_layers = len(sizes) - 1
        ws: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
        bs: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
        for mi in inits:
            g = member_generator(run_seed, mi.seed, stream)
            for layer in range(n_layers):
                fan_in = sizes[layer]
                fan_out = sizes[layer + 1] * (pieces if layer < n_layers - 1 else 1)
                # Kaiming reads the activation's gain; the same gain on every layer, as is conventional
                w = init_weight(fan_in, fan_out, mi.scheme, mi.scale, act.gain, g)
                ws[layer].append(w.t())
                bs[layer].append(init_bias(fan_in, fan_out, mi.bias_scheme, mi.bias_scale, g))
        weights = [torch.stack(w).contiguous() for w in ws]
        biases = [torch.stack(b).contiguous() for b in bs]
        act_params = []
        if act.has_param:
            act_params = [torch.full((len(inits), 1, 1), act.param_init) for _ in range(n_layers - 1)]
        pop = cls(sizes, activation, weights, biases, [mi.seed for mi in inits], run_seed, act_params,
                  maxout_k=maxout_k, **per_member)
        pop.inits = list(inits)
        return pop

    def _check(self) -> None:
        k = self.K
        n_layers = len(self.sizes) - 1
        if len(self.weights) != n_layers or len(self.biases) != n_layers:
            raise ValueError(f"expected {n_layers} weight and bias tensors")
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            fan_out = self.sizes[layer + 1] * (self.pieces if layer < n_layers - 1 else 1)
            if tuple(w.shape) != (k, self.sizes[layer], fan_out) or tuple(b.shape) != (k, fan_out):
                raise ValueError(f"layer {layer}: weight {tuple(w.shape)} / bias {tuple(b.shape)} do not match "
                                 f"(K={k}, {self.sizes[layer]}, {fan_out})")

    # ---- properties ---------------------------------------------------------------------
    @property
    def K(self) -> int:
        return len(self.member_seeds)

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    def parameters(self) -> list[torch.Tensor]:
        """Trainable tensors, each with the model axis first: W0, b0, W1, b1, ..., then PReLU slopes."""
        out: list[torch.Tensor] = []
        for w, b in zip(self.weights, self.biases):
            out += [w, b]
        return out + list(self.act_params)

    def set_parameters(self, params: list[torch.Tensor]) -> None:
        n = len(self.weights)
        self.weights = list(params[0:2 * n:2])
        self.biases = list(params[1:2 * n:2])
        self.act_params = list(params[2 * n:])

    def to(self, device) -> "PopulationMLP":
        for name in ("weights", "biases", "act_params"):
            setattr(self, name, [t.to(device) for t in getattr(self, name)])
        for name in ("p_input", "p_hidden", "input_scale", "input_offset", "dropout_keys"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    # ---- forward ------------------------------------------------------------------------
    def _dropout(self, h: torch.Tensor, p: torch.Tensor, step: int, salt: int) -> torch.Tensor:
        if not bool((p > 0).any()):
            return h
        pk = p.view(-1, 1, 1)
        keep = None
        if h.dim() == 3 and h.dtype == torch.float32 and h.shape[0] == self.K:  # compiled, same bits (nn/cmasks)
            keep = cmasks.scale(self.dropout_keys, step, salt, h.shape[1], h.shape[2], p, False, keep_only=True)
        if keep is None:
            u = counter_uniform(self.dropout_keys, step, salt, tuple(h.shape[-2:]), device=h.device)
            keep = (u >= pk).to(h.dtype)
        return h * keep / (1.0 - pk)

    def forward(self, x: torch.Tensor, train: bool = False, step: int = 0,
                params: Optional[list[torch.Tensor]] = None) -> torch.Tensor:
        """Logits (K, B, C) for inputs (B, d) shared by all members or (K, B, d) per member.

        ``train`` turns dropout on, with masks drawn for ``step``. ``params`` overrides the stored
        tensors (the training step passes the tensors it differentiates).
        """
        if params is None:
            params = self.parameters()
        n = len(self.weights)
        ws, bs, aps = params[0:2 * n:2], params[1:2 * n:2], params[2 * n:]
        h = x
        if bool((self.input_scale != 1).any()) or bool((self.input_offset != 0).any()):
            h = h * self.input_scale.view(-1, 1, 1) + self.input_offset.view(-1, 1, 1)
        if train:
            if h.dim() == 2:
                h = h.expand(self.K, *h.shape)
            h = self._dropout(h, self.p_input, step, 0)
        for layer in range(n):
            z = torch.matmul(h, ws[layer]) + bs[layer].unsqueeze(1)
            if layer == n - 1:
                return z
            h = self.forward_activation(z, aps, layer)
            if train:
                h = self._dropout(h, self.p_hidden, step, layer + 1)
        raise AssertionError("unreachable")

    __call__ = forward

    def forward_activation(self, z: torch.Tensor, act_params: list[torch.Tensor], layer: int) -> torch.Tensor:
        """The activation after hidden layer ``layer`` (PReLU reads its per-member slope)."""
        if self.pieces > 1:
            return maxout(z, self.pieces)
        return self.act.apply(z, act_params[layer] if act_params else None)

    # ---- members ------------------------------------------------------------------------
    def member(self, k: int) -> nn.Sequential:
        """Member k as a plain ``nn.Sequential`` with its current weights (dropout modules included)."""
        if not 0 <= k < self.K:
            raise IndexError(f"member {k} out of range for K={self.K}")
        mods: list[nn.Module] = []
        scale, offset = float(self.input_scale[k]), float(self.input_offset[k])
        if scale != 1.0 or offset != 0.0:
            mods.append(InputAffine(scale, offset))
        if float(self.p_input[k]) > 0:
            mods.append(nn.Dropout(float(self.p_input[k])))
        n = len(self.weights)
        for layer in range(n):
            w, b = self.weights[layer][k], self.biases[layer][k]
            lin = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(w.t())
                lin.bias.copy_(b)
            mods.append(lin)
            if layer < n - 1:
                mods.append(Maxout(self.pieces) if self.pieces > 1
                            else self.act.module(self.act_params[layer][k] if self.act_params else None))
                if float(self.p_hidden[k]) > 0:
                    mods.append(nn.Dropout(float(self.p_hidden[k])))
        return nn.Sequential(*mods).to(self.device)

    def select(self, idx: Sequence[int]) -> "PopulationMLP":
        """A population of the members at ``idx`` (copies), e.g. a chunk."""
        ix = torch.as_tensor(list(idx), dtype=torch.long)
        pick = lambda ts: [t[ix.to(t.device)].clone() for t in ts]  # noqa: E731
        out = PopulationMLP(self.sizes, self.activation, pick(self.weights), pick(self.biases),
                             [self.member_seeds[i] for i in ix.tolist()], self.run_seed, pick(self.act_params),
                             self.p_input[ix.to(self.p_input.device)], self.p_hidden[ix.to(self.p_hidden.device)],
                             self.input_scale[ix.to(self.input_scale.device)],
                             self.input_offset[ix.to(self.input_offset.device)], maxout_k=self.pieces if self.pieces > 1 else 2)
        out.inits = [self.inits[i] for i in ix.tolist()] if self.inits else None
        return out

    @staticmethod
    def concat(parts: list["PopulationMLP"]) -> "PopulationMLP":
        """Join chunks back into one population, in order."""
        first = parts[0]
        cat = lambda name: [torch.cat(ts) for ts in zip(*(getattr(p, name) for p in parts))]  # noqa: E731
        out = PopulationMLP(first.sizes, first.activation, cat("weights"), cat("biases"),
                             [s for p in parts for s in p.member_seeds], first.run_seed, cat("act_params"),
                             torch.cat([p.p_input for p in parts]), torch.cat([p.p_hidden for p in parts]),
                             torch.cat([p.input_scale for p in parts]), torch.cat([p.input_offset for p in parts]),
                             maxout_k=first.pieces if first.pieces > 1 else 2)
        out.inits = [i for p in parts for i in p.inits] if all(p.inits for p in parts) else None
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Named tensors for safetensors: W{l}, b{l}, prelu{l}, plus per-member values."""
        out = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            out[f"W{i}"], out[f"b{i}"] = w, b
        for i, a in enumerate(self.act_params):
            out[f"prelu{i}"] = a
        out |= {"p_input": self.p_input, "p_hidden": self.p_hidden, "input_scale": self.input_scale,
                "input_offset": self.input_offset,
                "member_seeds": torch.tensor(self.member_seeds, dtype=torch.int64)}
        return {k: v.detach().contiguous().cpu() for k, v in out.items()}

    @classmethod
    def from_state_dict(cls, sizes, activation, state: dict[str, torch.Tensor], run_seed: int = 0,
                        maxout_k: int = 2) -> "PopulationMLP":
        n = len(sizes) - 1
        act_params = [state[f"prelu{i}"] for i in range(n - 1) if f"prelu{i}" in state]
        return cls(sizes, activation, [state[f"W{i}"] for i in range(n)], [state[f"b{i}"] for i in range(n)],
                   state["member_seeds"].tolist(), run_seed, act_params, state["p_input"], state["p_hidden"],
                   state["input_scale"], state["input_offset"], maxout_k=maxout_k)
