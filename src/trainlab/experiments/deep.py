"""Part 2 of the lab: initialization of a deep network (``trainlab lab deep``).

Two set-ups, every init x activation pair, one statistics pass each (``trainlab.probes``):

- ``lab``: the lab's network, 20 layers of 100 units on 10,000 points of the circles data;
- ``report``: the report's (seed 004), 50 layers of 512 units on 10,000 N(0, 1) vectors of
  dimension 512 with random labels of 10 classes (the loss only drives the backward pass).

Every network has zero biases and a linear head to the classes, initialized like the hidden layers;
per-layer lists cover the hidden layers 1..depth. Each statistic is measured on an untrained
network and compared with variance propagation (``deep_theory``). The lab set-up is then trained
(``deep_train``) to ask the question that matters: does it train? He et al.'s claim (30-layer
ReLU: Xavier stalls, He converges) is tested with seeds. The report's set-up is for statistics only.

Pairs whose weights are identical are computed once and marked ``same_as``: He normal with an
activation gain of 1 (identity, sigmoid, ELU) draws exactly LeCun normal's weights from the same
stream. PReLU and maxout are left out (a learnable slope, several pieces per unit: not the lab's
question). Non-finite statistics are null with a flag (``"overflow"``, ``"nan"``), never dropped.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from trainlab.data.toy import make_toy
from trainlab.env import pick_device, provenance, set_threads
from trainlab.experiments.deep_report import diagnose, headline, observations, tables
from trainlab.experiments.deep_theory import THEORY_NOTES, predict, ratio
from trainlab.experiments.deep_train import TrainSettings, build_population, he_claim, summarize_members, train_population
from trainlab.experiments.registry import Study, StudyOptions, register
from trainlab.nn.activations import ACTIVATIONS
from trainlab.probes import layer_stats
from trainlab.rng import member_generator
from trainlab.runs.io import atomic_dir, read_json, write_json_atomic
from trainlab.stats import finite_or_none

SCHEMA_VERSION = 1
# wide layers: one member per statistics pass. Each member's GEMMs are then 2048 rows tall (the
# chunk), not 2048 / K: at 50 x 512 this is 97% of the matmul peak instead of 72% with K = 8
ONE_BY_ONE_WIDTH = 256
CALIB_ROWS = 1024  # LSUV calibrates on the first rows of the statistics batch
N_TRAIN, N_VAL = 100, 1000  # trainability: the lab's circles training set size, and a validation sample


@dataclass(frozen=True)
class Setup:
    """One network shape and the inputs its statistics are measured on."""

    name: str
    depth: int  # hidden layers
    width: int
    inputs: str  # a key of INPUTS
    n: int  # samples in the statistics batch
    n_classes: int
    train: bool  # run the trainability study on it
    doc: str


SETUPS: dict[bool, tuple[Setup, ...]] = {  # quick -> set-ups
    False: (Setup("lab", 20, 100, "circles", 10_000, 2, True, "the lab's: 20 x 100 on circles"),
            Setup("report", 50, 512, "gaussian", 10_000, 10, False, "the report's: 50 x 512 on N(0, 1) vectors")),
    True: (Setup("lab", 8, 32, "circles", 2_000, 2, True, "quick: 8 x 32 on circles"),
           Setup("report", 45, 128, "gaussian", 1_000, 10, False,
                 "quick: 45 x 128 on N(0, 1) vectors (deep enough for N(0, 1) to overflow float32)")),
}

# the study's init name -> (INITS scheme, scale). N(0, 1) is the lab's naive init.
INIT_SCHEMES: dict[str, tuple[str, float]] = {
    "N(0,1)": ("normal", 1.0),
    "xavier_normal": ("xavier_normal", 1.0),
    "xavier_uniform": ("xavier_uniform", 1.0),
    "he_normal": ("kaiming_normal", 1.0),
    "he_uniform": ("kaiming_uniform", 1.0),
    "lecun_normal": ("lecun_normal", 1.0),
    "orthogonal": ("orthogonal", 1.0),
    "lsuv": ("lsuv", 1.0),
}
STUDY_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "selu", "gelu", "identity")
SKIPPED_ACTIVATIONS = {
    "prelu": "learnable slope: its init is a parameter, not a property of the weights",
    "maxout": "several linear pieces per unit: the fan-in theory does not carry over unchanged",
}
TRAIN_SETTINGS = {False: TrainSettings(), True: TrainSettings(steps=60, seeds=2, eval_every=5)}
HE_CLAIM = {False: {"depth": 30, "width": 100, "seeds": 6, "lrs": (0.01, 0.03)},
            True: {"depth": 10, "width": 32, "seeds": 2, "lrs": (0.01,)}}


def _circles(setup: Setup, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    ds = make_toy("circles", setup.n, 0, 0, seed)
    return ds.train.x, ds.train.y


def _gaussian(setup: Setup, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = member_generator(seed, 0, "deep/inputs")
    return torch.randn(setup.n, setup.width, generator=g), torch.randint(0, setup.n_classes, (setup.n,), generator=g)


INPUTS: dict[str, Callable[[Setup, int], tuple[torch.Tensor, torch.Tensor]]] = {"circles": _circles, "gaussian": _gaussian}


def same_as(init: str, activation: str) -> Optional[str]:
    """The pair whose weights this one draws identically, if any (He normal at gain 1 = LeCun normal)."""
    scheme, scale = INIT_SCHEMES[init]
    lecun = INIT_SCHEMES["lecun_normal"]
    return "lecun_normal" if scheme == "kaiming_normal" and ACTIVATIONS[activation].gain == 1.0 and scale == lecun[1] else None


def _pair_block(init: str, scheme: str, scale: float, activation: str, member: dict, stats, k: int, widths: list[int],
                x: torch.Tensor, rounds: Optional[list[int]]) -> dict[str, Any]:
    pred = predict(scheme, activation, widths, x, w_scale=scale)
    block = {"init": init, "activation": activation, "same_as": None,
             **{key: member[key] for key in member if key != "flags"}, "flags": member["flags"],
             "loss_at_init": finite_or_none(stats.loss[k]), "logit_std": finite_or_none(stats.logit_std[k]),
             "predicted_var": pred["preact_var"] if pred else None,
             "predicted_act_std": pred["act_std"] if pred else None,
             "ratio": ratio(member["preact_var"], pred["preact_var"] if pred else None),
             "theory_note": THEORY_NOTES.get(scheme), "lsuv_rounds": rounds if scheme == "lsuv" else None,
             "trainable": None}
    block["diagnosis"] = diagnose(block)
    return block


def measure_pairs(inits: dict[str, tuple[str, float]], activation: str, sizes: list[int], x: torch.Tensor,
                  y: torch.Tensor, run_seed: int = 0, device: torch.device = torch.device("cpu")) -> dict[str, dict]:
    """One statistics pass over a population with one member per init (name -> (scheme, scale)).

    ``sizes`` = [d, h_1, ..., h_L, n_classes]; biases are zero; LSUV calibrates on the first
    CALIB_ROWS rows of ``x``. Returns name -> the pair's summary block (statistics, theory, diagnosis).
    """
    names = list(inits)
    pop, rounds = build_population(sizes, activation, [(*inits[i], 0) for i in names], x[:CALIB_ROWS], run_seed)
    pop.to(device)
    xd, yd = x.to(device), y.to(device)
    out = {}
    step = 1 if max(sizes[1:-1]) >= ONE_BY_ONE_WIDTH else len(names)
    for m0 in range(0, len(names), step):
        ws = [w[m0:m0 + step] for w in pop.weights]
        bs = [b[m0:m0 + step] for b in pop.biases]
        stats = layer_stats(ws, bs, activation, xd, yd)
        for k, i in enumerate(names[m0:m0 + step]):
            out[i] = _pair_block(i, *inits[i], activation, stats.member(k), stats, k, sizes[:-1], x, rounds)
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


def train_setup(block: dict, setup: Setup, settings: TrainSettings, device: torch.device,
                advance: Callable[[int], None]) -> dict[str, Any]:
    """Trainability of every pair of ``block`` on circles; fills each pair's ``trainable``."""
    data = make_toy("circles", N_TRAIN, N_VAL, 0, settings.run_seed + 1)
    sizes = [2] + [setup.width] * setup.depth + [data.n_classes]
    seconds = 0.0
    for act in STUDY_ACTIVATIONS:
        inits = [i for i in INIT_SCHEMES if same_as(i, act) is None]
        members = [(*INIT_SCHEMES[i], s) for i in inits for s in range(settings.seeds)]
        out = train_population(sizes, act, members, data, settings, device=device)
        seconds += out["seconds"]
        result = {i: summarize_members(out, list(range(j * settings.seeds, (j + 1) * settings.seeds)))
                  for j, i in enumerate(inits)}
        for pair in block["pairs"]:
            if pair["activation"] == act:
                pair["trainable"] = result[pair["same_as"] or pair["init"]]
        advance(1)
    return {"n_train": len(data.train.y), "n_val": len(data.val.y), "seconds": seconds, **asdict(settings),
            "optimizer": "SGD with momentum (torch.optim semantics), full batch", "target_acc": 0.9}


def _progress(quiet: bool):
    if quiet:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True))


def _task(bar, description: str, total: int) -> Callable[[int], None]:
    if bar is None:
        return lambda n: None
    task = bar.add_task(description, total=total)
    return lambda n: bar.advance(task, n)


def run_deep(out: Path, opts: StudyOptions) -> dict:
    """Run the study into ``out`` (atomically): summary.json plus the figures. Returns the summary."""
    from trainlab.experiments.deep_figures import render_figures

    t_start = time.perf_counter()
    set_threads(opts.threads)
    device = pick_device(opts.device)
    settings = TRAIN_SETTINGS[opts.quick]
    if opts.seeds:
        settings = replace(settings, seeds=int(opts.seeds))
    claim = HE_CLAIM[opts.quick] | ({"seeds": int(opts.seeds)} if opts.seeds else {})
    timing: dict[str, float] = {}
    blocks = []
    with _progress(opts.quiet) as bar:
        for setup in SETUPS[opts.quick]:
            t0 = time.perf_counter()
            blocks.append(run_setup(setup, settings.run_seed, device,
                                    _task(bar, f"{setup.name} {setup.depth}x{setup.width}: statistics", len(STUDY_ACTIVATIONS))))
            timing[f"stats_{setup.name}"] = time.perf_counter() - t0
            if setup.train:
                t0 = time.perf_counter()
                blocks[-1]["training"] = train_setup(blocks[-1], setup, settings, device,
                                                     _task(bar, f"{setup.name}: training", len(STUDY_ACTIVATIONS)))
                timing[f"train_{setup.name}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        task = _task(bar, f"He et al. claim at {claim['depth']}x{claim['width']}", 1)
        data = make_toy("circles", N_TRAIN, N_VAL, 0, settings.run_seed + 1)
        he = he_claim(claim["depth"], claim["width"], data, settings, claim["seeds"], tuple(claim["lrs"]), device=device)
        task(1)
        timing["he_claim"] = time.perf_counter() - t0
    summary: dict[str, Any] = {
        "experiment": "deep", "schema_version": SCHEMA_VERSION, "title": "Part 2: Initialization of a deep network",
        "quick": opts.quick, "setups": blocks, "he_claim": he,
        "inits": {name: {"scheme": s, "scale": sc} for name, (s, sc) in INIT_SCHEMES.items()},
        "activations": list(STUDY_ACTIVATIONS),
        "skips": [{"activation": a, "reason": r} for a, r in SKIPPED_ACTIVATIONS.items()]
                 + [{"init": i, "activation": a, "reason": f"identical weights to {same_as(i, a)} (gain 1): computed once"}
                    for a in STUDY_ACTIVATIONS for i in INIT_SCHEMES if same_as(i, a)],
        "figures": [], "observations": [], "tables": [],
    }
    summary["observations"] = observations(summary)
    summary["tables"] = tables(summary)
    with atomic_dir(Path(out)) as tmp:
        t0 = time.perf_counter()
        write_json_atomic(tmp / "summary.json", summary)
        summary["figures"], notes = render_figures(tmp)
        summary["observations"] += notes
        timing["figures"] = time.perf_counter() - t0
        summary["timing"] = timing
        summary["seconds"] = time.perf_counter() - t_start
        summary["provenance"] = provenance(device) | {
            "run_seed": settings.run_seed, "seeds": settings.seeds, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "options": {"quick": opts.quick, "seeds": opts.seeds, "threads": opts.threads}}
        write_json_atomic(tmp / "summary.json", summary)
    return read_json(Path(out) / "summary.json")


register(Study(name="deep", title="Part 2: Initialization of a deep network", run=run_deep,
               schema="deep.schema.json", headline=headline, order=20))
