"""The lab's own statistic over independent network draws: mean and std of |activation| per layer.

Seed 000, Part 2, asks for "the mean and std of the activation abs value" per layer, for N(0, 1),
Glorot and He with the network at init. One draw of the weights is one sample: the statistic of a
single network varies from draw to draw, and more at depth. So for the pairs the lab names
(``DeepSettings.draw_inits`` x ``draw_activations``) and both set-ups, ``draws`` networks are drawn
independently (member seeds 0..draws-1; draw 0 is the network of the main statistics pass) and
each is run forward, without a backward pass, over the first ``draw_rows`` rows of the set-up's
statistics batch. Per layer and pair the summary keeps every draw's value and a statistic over the
draws (``{median, lo, hi, n}``); the figure draws the median with the min-max band.

A value that overflows float32 is not a number: it is ``null`` with a flag (``"overflow"``; a NaN
that follows an overflow, from inf - inf, stays ``"overflow"``; a NaN on its own is ``"nan"``),
per draw and layer, as everywhere in trainlab's JSON.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import torch

from trainlab.experiments.deep.measure import INPUTS, init_population
from trainlab.experiments.deep.settings import INIT_SCHEMES, DeepSettings, Setup
from trainlab.stats import summarize

STATS = ("act_abs_mean", "act_abs_std", "act_std")  # the lab's statistic (mean and std of |a| over rows and
# units), and the std of a itself (what the student report plots)


@torch.no_grad()
def abs_stats(weights: list[torch.Tensor], activation: str, x: torch.Tensor) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per member and hidden layer: each of ``STATS``, and a flag per value (None, "overflow", "nan").

    ``weights`` are the population's (K, fan_in, fan_out) tensors; biases are zero. The head (the
    last weight) is not a hidden layer and is not run.
    """
    from trainlab.nn.activations import ACTIVATIONS

    act = ACTIVATIONS[activation]
    k, depth = weights[0].shape[0], len(weights) - 1
    out = {name: np.full((k, depth), np.nan) for name in STATS}
    flags = np.full((k, depth), None, dtype=object)
    overflowed = np.zeros(k, dtype=bool)  # NaN after an overflow comes from inf - inf: still an overflow
    h = x.unsqueeze(0).expand(k, *x.shape)
    for layer in range(depth):
        h = act.apply(torch.bmm(h, weights[layer]), None)
        flat = h.flatten(1)
        finite = torch.isfinite(flat).all(dim=1)
        a = flat.abs()
        values = {"act_abs_mean": a.mean(dim=1), "act_abs_std": _std(a), "act_std": _std(flat)}
        for j in range(k):
            if bool(finite[j]):
                for name in STATS:
                    out[name][j, layer] = float(values[name][j])
            else:
                overflowed[j] = overflowed[j] or bool(torch.isinf(flat[j]).any())
                flags[j, layer] = "overflow" if overflowed[j] else "nan"
    return out, flags


def _std(v: torch.Tensor) -> torch.Tensor:
    """Population std per row, around the row mean (no E[x^2] - E[x]^2 cancellation)."""
    return (v - v.mean(dim=1, keepdim=True)).square().mean(dim=1).sqrt()


def _pair_block(init: str, activation: str, stats: dict[str, np.ndarray], flags: np.ndarray) -> dict[str, Any]:
    """One pair over its draws: per layer a statistic over draws, and every draw's values and flags."""
    def per_layer(values: np.ndarray) -> list[dict[str, Any]]:
        return [summarize(values[:, layer]) for layer in range(values.shape[1])]

    return {"init": init, "activation": activation, **{name: per_layer(stats[name]) for name in STATS},
            "values": {name: stats[name].tolist() for name in STATS}, "flags": flags.tolist()}


def run_draws(setup: Setup, st: DeepSettings, device: torch.device, advance: Optional[Callable[[int], None]] = None
              ) -> dict[str, Any]:
    """Every (draw init x draw activation) pair of one set-up over ``st.draws`` independent draws."""
    x, _ = INPUTS[setup.inputs](setup, st.run_seed)
    rows = min(st.draw_rows, x.shape[0])
    x = x[:rows].to(device)
    sizes = [x.shape[1]] + [setup.width] * setup.depth + [setup.n_classes]
    pairs = []
    for act in st.draw_activations:
        for init in st.draw_inits:  # one init at a time bounds memory: draws x depth x width^2 weights
            pop, _ = init_population(sizes, act, [(*INIT_SCHEMES[init], d) for d in range(st.draws)], x, st.run_seed)
            stats, flags = abs_stats([w.to(device) for w in pop.weights], act, x)
            pairs.append(_pair_block(init, act, stats, flags))
        if advance is not None:
            advance(1)
    return {"draws": st.draws, "rows": rows, "seeds": list(range(st.draws)), "inits": list(st.draw_inits),
            "activations": list(st.draw_activations), "pairs": pairs}
