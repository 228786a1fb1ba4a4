"""MC-dropout ensembles and best-epoch tracking for the dropout study.

MC dropout (Gal & Ghahramani 2016; the lab's Part 3.5): keep dropout on at test time, run T
stochastic passes and average the logits. The error of *every* ensemble size 1..T comes from one
sequence of passes: the running sum of the logits after t passes is the (unnormalized) t-pass
ensemble, so ``prefix_errors`` needs only one argmax per pass, never a separate run per size.

Why a forward pass of its own instead of ``PopulationMLP.forward(train=True, step=s)``: the
library's counter-based masks are built for training, where a member must draw the same masks in
any population. Here masks only need to be independent between passes and reproducible, and the
counter hash costs several times the GEMM it masks. So each pass t of a member gets its own
``torch.Generator`` seeded from (run seed, member seed, t) (``pass_generator``): a pass's masks
depend on nothing else, so any chunking of the passes gives the same passes. The semantics are
the library's: inverted dropout, keep with probability 1-p (p to 2^-16, see ``fill_keep_masks``),
the 1/(1-p) scale folded into the next layer's weights (an exact rewrite of
``(h * keep / (1-p)) @ W``). Several passes are stacked into one GEMM of ``passes x samples`` rows,
and without input dropout the first layer is the same for every pass, so it is computed once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

import numpy as np
import torch

from trainlab.nn.population import PopulationMLP
from trainlab.rng import stream_seed

ROWS_PER_GEMM = 8192  # passes x samples stacked per matmul: large enough to run near the matmul peak


@dataclass
class MemberWeights:
    """One member as plain tensors: layer l maps ``x @ weights[l] + biases[l]`` (fan_in, fan_out)."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    p_input: float
    p_hidden: float
    run_seed: int
    seed: int

    @classmethod
    def of(cls, model: PopulationMLP, k: int) -> "MemberWeights":
        if model.activation != "relu" or model.pieces != 1:
            raise ValueError(f"MC dropout here supports ReLU MLPs, got {model.activation!r}")
        return cls([w[k].detach() for w in model.weights], [b[k].detach() for b in model.biases],
                   float(model.p_input[k]), float(model.p_hidden[k]), model.run_seed, model.member_seeds[k])

    def flops_per_pass(self, n_rows: int) -> int:
        """Multiply-add FLOPs of one pass over ``n_rows`` samples, as this module computes it."""
        layers = list(range(len(self.weights)))
        if self.p_input == 0:
            layers = layers[1:]  # the first layer is shared by all passes
        return sum(2 * n_rows * self.weights[i].shape[0] * self.weights[i].shape[1] for i in layers)


def pass_generator(run_seed: int, member_seed: int, t: int) -> torch.Generator:
    """The generator of pass ``t``: its masks depend on (run seed, member seed, t) alone."""
    g = torch.Generator()
    g.manual_seed(stream_seed(run_seed, member_seed, f"mc-dropout/{t}"))
    return g


def keep_threshold(p: float) -> int:
    """The int16 threshold t of ``keep = r >= t`` for uniform int16 r: P(drop) = round(p * 2^16) / 2^16."""
    return int(round(p * 65536)) - 32768


def fill_keep_masks(buf: torch.Tensor, p: float, gens: list[torch.Generator]) -> torch.Tensor:
    """Fill ``buf`` (P, N, D) with keep masks (1.0 or 0.0), pass i from ``gens[i]``.

    Each mask element is one uniform 16-bit integer: four come from one 64-bit draw, which is
    about half the cost of a float uniform per element (benchmarks/README.md). So p is used
    rounded to a multiple of 2^-16 (0.2 -> 0.199997; 0.5 exactly), far below any effect measured.
    """
    n_pass, n = buf.shape[0], buf[0].numel()
    words = torch.empty(n_pass, -(-n // 4), dtype=torch.int64, device=buf.device)
    for i, g in enumerate(gens):
        words[i].random_(-2 ** 63, None, generator=g)
    r16 = words.view(torch.int16)[:, :n].reshape(buf.shape)
    return torch.ge(r16, keep_threshold(p), out=buf)


def mc_logits(mw: MemberWeights, x: torch.Tensor, t_max: int, start: int = 0,
              rows_per_gemm: int = ROWS_PER_GEMM) -> Iterator[torch.Tensor]:
    """Logits of passes ``start .. start+t_max-1`` over ``x`` (N, d), yielded as (P, N, C) chunks."""
    n = x.shape[0]
    per = max(1, rows_per_gemm // max(n, 1))
    n_layers = len(mw.weights)
    ws = list(mw.weights)
    if mw.p_input > 0:
        ws[0] = ws[0] / (1.0 - mw.p_input)
    if mw.p_hidden > 0:
        ws[1:] = [w / (1.0 - mw.p_hidden) for w in ws[1:]]
    shared = torch.relu(torch.addmm(mw.biases[0], x, ws[0])) if mw.p_input == 0 else None
    for t0 in range(start, start + t_max, per):
        p_count = min(per, start + t_max - t0)
        gens = [pass_generator(mw.run_seed, mw.seed, t) for t in range(t0, t0 + p_count)]
        z = None  # pre-activations (P*N, fan_out) of the last layer computed
        for layer in range(n_layers):
            if layer == 0:
                if shared is not None:
                    continue  # identical for every pass: computed once above
                buf = torch.empty(p_count, n, x.shape[1], device=x.device)
                inp = fill_keep_masks(buf, mw.p_input, gens).mul_(x)
            else:
                act = shared if z is None else z.relu_().view(p_count, n, -1)  # (N, H) or (P, N, H)
                if mw.p_hidden > 0:
                    buf = torch.empty(p_count, n, act.shape[-1], device=x.device)
                    inp = fill_keep_masks(buf, mw.p_hidden, gens).mul_(act)
                else:
                    inp = act.expand(p_count, n, act.shape[-1])
            z = torch.addmm(mw.biases[layer], inp.reshape(p_count * n, -1), ws[layer])
        yield z.view(p_count, n, -1)


def prefix_errors(chunks: Iterable[torch.Tensor], y: torch.Tensor) -> np.ndarray:
    """Error of the t-pass ensemble (mean logits of passes 1..t) for every t, from one sequence.

    ``chunks`` yields (P, N, C) logits of consecutive passes. Sums are kept in float64, so the
    running sum after t passes equals the sum of those t passes computed separately.
    """
    total: Optional[torch.Tensor] = None
    out: list[np.ndarray] = []
    for logits in chunks:
        c = logits.to(torch.float64).cumsum(0)
        if total is not None:
            c += total
        total = c[-1].clone()
        out.append((c.argmax(-1) != y).to(torch.float64).mean(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def ensemble_errors(mw: MemberWeights, x: torch.Tensor, y: torch.Tensor, t_max: int,
                    progress: Optional[Callable[[int], None]] = None) -> np.ndarray:
    """(t_max,) errors of the MC-dropout ensembles of size 1..t_max; a deterministic member gives
    the same error for every size, so callers skip it."""
    def chunks():
        for c in mc_logits(mw, x, t_max):
            yield c
            if progress is not None:
                progress(c.shape[0])

    with torch.no_grad():
        return prefix_errors(chunks(), y)


class BestEpoch:
    """A fit() callback: per member, the evaluation with the lowest val error (ties: the lower
    val loss, then the earlier one) and a copy of its weights.

    Errors at 1,000 validation samples move in steps of 0.1 points, so ties are common; the val
    loss breaks them. ``steps_per_epoch`` turns the evaluation step into an epoch number.
    """

    def __init__(self, steps_per_epoch: int) -> None:
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.err: Optional[torch.Tensor] = None
        self.loss: Optional[torch.Tensor] = None
        self.epoch: Optional[torch.Tensor] = None
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []

    def on_eval(self, state) -> None:
        m = state.history.metrics
        if "val_acc" not in m:
            return None
        err = torch.as_tensor(1.0 - m["val_acc"][-1])
        loss = torch.as_tensor(m["val_loss"][-1])
        epoch = torch.full_like(err, state.history.steps[-1] // self.steps_per_epoch)
        model = state.model
        if self.err is None:
            self.err, self.loss, self.epoch = err.clone(), loss.clone(), epoch
            self.weights = [w.detach().clone() for w in model.weights]
            self.biases = [b.detach().clone() for b in model.biases]
            return None
        better = (err < self.err) | ((err == self.err) & (loss < self.loss))
        if not bool(better.any()):
            return None
        self.err = torch.where(better, err, self.err)
        self.loss = torch.where(better, loss, self.loss)
        self.epoch = torch.where(better, epoch, self.epoch)
        sel = better.to(model.weights[0].device)
        self.weights = [torch.where(sel.view(-1, 1, 1), w.detach(), bw) for w, bw in zip(model.weights, self.weights)]
        self.biases = [torch.where(sel.view(-1, 1), b.detach(), bb) for b, bb in zip(model.biases, self.biases)]
        return None


def best_population(model: PopulationMLP, trackers: list[BestEpoch]) -> tuple[PopulationMLP, np.ndarray]:
    """The population at each member's best epoch (trackers in chunk order), and those epochs."""
    ws = [torch.cat([t.weights[i] for t in trackers]) for i in range(len(model.weights))]
    bs = [torch.cat([t.biases[i] for t in trackers]) for i in range(len(model.biases))]
    epochs = torch.cat([t.epoch for t in trackers]).numpy().astype(np.int64)
    best = PopulationMLP(model.sizes, model.activation, ws, bs, model.member_seeds, model.run_seed, None,
                         model.p_input, model.p_hidden, model.input_scale, model.input_offset)
    return best, epochs
