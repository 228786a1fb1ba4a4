"""The deep study's statistics at init: every init x activation pair, one statistics pass each.

Two set-ups (``settings.Setup``): the lab's network on circles, and the report's (seed 004) on
N(0, 1) vectors with random labels of 10 classes (the loss only drives the backward pass). Every
network has zero biases and a linear head to the classes, initialized like the hidden layers;
per-layer lists cover the hidden layers 1..depth (``trainlab.probes``). Pairs whose weights are
identical are computed once and marked ``same_as`` (``summary.same_as``).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from trainlab.data.toy import make_toy
from trainlab.experiments.deep.settings import INIT_SCHEMES, STUDY_ACTIVATIONS, Setup
from trainlab.experiments.deep.summary import pair_block, same_as
from trainlab.nn.lsuv import lsuv_
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.probes import layer_stats
from trainlab.rng import member_generator

# wide layers: one member per statistics pass. Each member's GEMMs are then 2048 rows tall (the
# chunk), not 2048 / K: at 50 x 512 this is 97% of the matmul peak instead of 72% with K = 8
ONE_BY_ONE_WIDTH = 256
CALIB_ROWS = 1024  # LSUV calibrates on the first rows of the statistics batch


def _circles(setup: Setup, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    ds = make_toy("circles", setup.n, 0, 0, seed)
    return ds.train.x, ds.train.y


def _gaussian(setup: Setup, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = member_generator(seed, 0, "deep/inputs")
    return torch.randn(setup.n, setup.width, generator=g), torch.randint(0, setup.n_classes, (setup.n,), generator=g)


INPUTS: dict[str, Callable[[Setup, int], tuple[torch.Tensor, torch.Tensor]]] = {"circles": _circles, "gaussian": _gaussian}


def init_population(sizes: list[int], activation: str, members: list[tuple[str, float, int]], x_calib: torch.Tensor,
                     run_seed: int) -> tuple[PopulationMLP, list[int]]:
    """A population of (scheme, scale, seed) members, biases zero; LSUV members calibrated on ``x_calib``.

    Returns the population and the LSUV rounds per layer (the most over LSUV members; [] if none).
    """
    inits = [MemberInit(seed=seed, scheme=scheme, scale=scale, bias_scheme="zeros", bias_scale=0.0)
             for scheme, scale, seed in members]
    pop = PopulationMLP.create(sizes, activation, inits, run_seed=run_seed)
    idx = [i for i, (scheme, _, _) in enumerate(members) if scheme == "lsuv"]
    rounds: list[int] = []
    if idx:
        ix = torch.tensor(idx)
        ws = [w[ix].clone() for w in pop.weights]
        bs = [b[ix].clone() for b in pop.biases]
        rounds = lsuv_(ws, bs, activation, x_calib)
        for w, w_new in zip(pop.weights, ws):
            w[ix] = w_new
    return pop, rounds


def measure_pairs(inits: dict[str, tuple[str, float]], activation: str, sizes: list[int], x: torch.Tensor,
                  y: torch.Tensor, run_seed: int = 0, device: torch.device = torch.device("cpu")) -> dict[str, dict]:
    """One statistics pass over a population with one member per init (name -> (scheme, scale)).

    ``sizes`` = [d, h_1, ..., h_L, n_classes]; biases are zero; LSUV calibrates on the first
    CALIB_ROWS rows of ``x``. Returns name -> the pair's summary block (statistics, theory, diagnosis).
    """
    names = list(inits)
    pop, rounds = init_population(sizes, activation, [(*inits[i], 0) for i in names], x[:CALIB_ROWS], run_seed)
    pop.to(device)
    xd, yd = x.to(device), y.to(device)
    out = {}
    step = 1 if max(sizes[1:-1]) >= ONE_BY_ONE_WIDTH else len(names)
    for m0 in range(0, len(names), step):
        ws = [w[m0:m0 + step] for w in pop.weights]
        bs = [b[m0:m0 + step] for b in pop.biases]
        stats = layer_stats(ws, bs, activation, xd, yd)
        for k, i in enumerate(names[m0:m0 + step]):
            out[i] = pair_block(i, *inits[i], activation, stats.member(k), stats, k, sizes[:-1], x, rounds)
    return out


def run_setup(setup: Setup, run_seed: int, device: torch.device, advance: Callable[[int], None]) -> dict[str, Any]:
    """Statistics of every pair of one set-up (one population per activation, one member per init)."""
    x, y = INPUTS[setup.inputs](setup, run_seed)
    sizes = [x.shape[1]] + [setup.width] * setup.depth + [setup.n_classes]
    pairs: list[dict] = []
    for act in STUDY_ACTIVATIONS:
        distinct = {i: INIT_SCHEMES[i] for i in INIT_SCHEMES if same_as(i, act) is None}
        by_init = measure_pairs(distinct, act, sizes, x, y, run_seed, device)
        for init in INIT_SCHEMES:
            src = same_as(init, act)
            pairs.append(by_init[init] if src is None else {**by_init[src], "init": init, "same_as": src})
        advance(1)
    return {"name": setup.name, "depth": setup.depth, "width": setup.width, "inputs": setup.inputs, "n": setup.n,
            "n_classes": setup.n_classes, "doc": setup.doc, "pairs": pairs}
