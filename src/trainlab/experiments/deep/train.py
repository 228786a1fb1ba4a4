"""Trainability of deep MLPs on the circles task: does the network train after a given init?

Each activation is one population (structure is fixed within a population); its members are
every init x seed, so one batched ``fit`` trains them all. The optimizer is SGD with momentum
(torch.optim semantics, per member), full batch, at one fixed learning rate for every pair.

Why SGD and not Adam: Adam divides each gradient by its own running RMS, so a gradient that is
1e-6 times too small still takes full-size steps. Vanishing or exploding gradients, which is what
an init decides, are then largely hidden. He et al. (2015) used SGD too.

Reported per pair, over seeds, as ``{median, lo, hi, n}`` (``summary.summarize_members``):
- ``reached_acc``: training accuracy after the full budget; a member whose loss turned non-finite
  (frozen by ``fit``) has no accuracy: it counts in ``diverged`` and in the flag, not the median;
- ``steps_to_90``: the first evaluated step with training accuracy >= 0.9 (evaluations every
  ``eval_every`` steps), over the seeds that got there; ``never`` counts those that did not;
- ``val_acc``: accuracy on a held-out validation sample, after training.

``run`` is the study's entry: statistics of both set-ups (``measure``), trainability of the lab
set-up, and He et al.'s claim.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import torch

from trainlab.data.toy import Dataset, make_toy
from trainlab.experiments.deep.measure import init_population, run_setup
from trainlab.experiments.deep.settings import INIT_SCHEMES, STUDY_ACTIVATIONS, DeepSettings, Setup
from trainlab.experiments.deep.summary import (
    TARGET_ACC, median_curve, results, same_as, summarize_members, verdicts)
from trainlab.experiments.study import StudyRun
from trainlab.loop import TrainSpec, evaluate, fit
from trainlab.optim import PopulationOptimizer

N_TRAIN, N_VAL = 100, 1000  # trainability: the lab's circles training set size, and a validation sample


def _steps_to(acc: np.ndarray, steps: np.ndarray, last_ok: int) -> Optional[int]:
    """First evaluated step (up to ``last_ok``) with accuracy >= TARGET_ACC, else None."""
    ok = (acc >= TARGET_ACC) & (steps <= last_ok)
    return int(steps[np.argmax(ok)]) if ok.any() else None


def train_pairs(sizes: list[int], activation: str, members: list[tuple[str, float, int]], data: Dataset,
                st: DeepSettings, lrs: Optional[list[float]] = None,
                device: Optional[torch.device] = None) -> dict[str, Any]:
    """Train the members (scheme, scale, seed) together; per-member outcomes plus the accuracy curves."""
    pop, _ = init_population(sizes, activation, members, data.train.x, st.run_seed)
    device = device or torch.device("cpu")
    pop.to(device)
    xt, yt = data.train.x.to(device), data.train.y.to(device)
    k = pop.K
    lr = torch.tensor(lrs if lrs is not None else [st.lr] * k, dtype=torch.float32, device=device)
    momentum = torch.full((k,), st.momentum, device=device)
    opt = PopulationOptimizer("momentum", pop.parameters(), {"lr": lr, "momentum": momentum})
    res = fit(pop, opt, (xt, yt), None, TrainSpec(steps=st.steps, eval_every=st.eval_every))
    acc = res.history.array("train_acc")
    steps = np.asarray(res.history.steps)
    _, val_acc = evaluate(pop, data.val.x.to(device), data.val.y.to(device))
    frozen = {int(m): info["step"] for m, info in res.frozen.items()}
    reached = np.array([np.nan if m in frozen else acc[-1, m] for m in range(k)])
    val = np.array([np.nan if m in frozen else float(val_acc[m]) for m in range(k)])
    s90 = [_steps_to(acc[:, m], steps, frozen.get(m, st.steps)) for m in range(k)]
    return {"reached": reached, "val": val, "steps_to_90": s90, "frozen": frozen, "curves": acc, "steps": steps,
            "seconds": res.seconds}


def train_setup(block: dict, setup: Setup, st: DeepSettings, device: torch.device,
                advance: Callable[[int], None]) -> dict[str, Any]:
    """Trainability of every pair of ``block`` on circles; fills each pair's ``trainable``."""
    data = make_toy("circles", N_TRAIN, N_VAL, 0, st.run_seed + 1)
    sizes = [2] + [setup.width] * setup.depth + [data.n_classes]
    seconds = 0.0
    for act in STUDY_ACTIVATIONS:
        inits = [i for i in INIT_SCHEMES if same_as(i, act) is None]
        members = [(*INIT_SCHEMES[i], s) for i in inits for s in range(st.seeds)]
        out = train_pairs(sizes, act, members, data, st, device=device)
        seconds += out["seconds"]
        result = {i: summarize_members(out, list(range(j * st.seeds, (j + 1) * st.seeds)))
                  for j, i in enumerate(inits)}
        for pair in block["pairs"]:
            if pair["activation"] == act:
                pair["trainable"] = result[pair["same_as"] or pair["init"]]
        advance(1)
    budget = {"steps": st.steps, "lr": st.lr, "momentum": st.momentum, "seeds": st.seeds,
              "eval_every": st.eval_every, "run_seed": st.run_seed}
    return {"n_train": len(data.train.y), "n_val": len(data.val.y), "seconds": seconds, **budget,
            "optimizer": "SGD with momentum (torch.optim semantics), full batch", "target_acc": TARGET_ACC}


def he_claim(depth: int, width: int, data: Dataset, st: DeepSettings, seeds: int,
             lrs: tuple[float, ...], device: Optional[torch.device] = None) -> dict[str, Any]:
    """He et al. 2015: a deep ReLU MLP stalls with Xavier init and converges with He init.

    Both inits at every learning rate in ``lrs``, ``seeds`` seeds each, in one population.
    """
    inits = {"xavier_normal": "xavier_normal", "he_normal": "kaiming_normal"}
    members, member_lr, groups = [], [], {}
    for name, scheme in inits.items():
        for lr in lrs:
            groups[(name, lr)] = list(range(len(members), len(members) + seeds))
            members += [(scheme, 1.0, s) for s in range(seeds)]
            member_lr += [lr] * seeds
    sizes = [data.train.x.shape[1]] + [width] * depth + [data.n_classes]
    out = train_pairs(sizes, "relu", members, data, st, lrs=member_lr, device=device)
    runs = [{"init": name, "lr": lr, **summarize_members(out, idx), "curve": median_curve(out, idx)}
            for (name, lr), idx in groups.items()]
    return {"depth": depth, "width": width, "activation": "relu", "steps": st.steps, "seeds": seeds,
            "runs": runs, "verdicts": verdicts(runs, lrs), "seconds": out["seconds"]}


def run(st: DeepSettings, sr: StudyRun) -> dict[str, Any]:
    """Statistics of every set-up, trainability where the set-up trains, and the He claim."""
    blocks = []
    for setup in st.setups():
        with sr.timed(f"stats_{setup.name}"):
            advance = sr.task(f"{setup.name} {setup.depth}x{setup.width}: statistics", len(STUDY_ACTIVATIONS))
            blocks.append(run_setup(setup, st.run_seed, sr.device, advance))
        if setup.train:
            with sr.timed(f"train_{setup.name}"):
                advance = sr.task(f"{setup.name}: training", len(STUDY_ACTIVATIONS))
                blocks[-1]["training"] = train_setup(blocks[-1], setup, st, sr.device, advance)
    with sr.timed("he_claim"):
        advance = sr.task(f"He et al. claim at {st.he_depth}x{st.he_width}", 1)
        data = make_toy("circles", N_TRAIN, N_VAL, 0, st.run_seed + 1)
        he = he_claim(st.he_depth, st.he_width, data, st, st.he_seeds, st.he_lrs, device=sr.device)
        advance(1)
    return results(st, blocks, he)
