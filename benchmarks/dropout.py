"""Dropout study speed, all measured in one run (ratios against baselines of the same run).

1. **Matmul peak**: the best of 5 runs of a 4096x4096 fp32 ``torch.mm``.
2. **Training**: the study's population (default: 2 inits x 4 variants x 4 seeds = 32 members of
   784-800-800-10, AdamW lr 3e-4, batch 128, real mnist-5k digits) trained by ``trainlab.loop.fit``
   against the idiomatic loop (``nn.Sequential`` with ``nn.Dropout`` + ``torch.optim.AdamW``, batch
   128) training the same members one after another. Step time only (evaluation excluded), the
   first step of each side is warm-up. Target: the population is no slower (ratio >= 1). The
   population step is also split into its parts (counter-based dropout masks, optimizer, rest),
   measured on their own, to show where its time goes.
3. **MC passes**: ``experiments.dropout.ensemble.mc_logits`` over 1,000 samples, FLOP rate as a fraction of the
   matmul peak (target >= 0.70); the library's ``PopulationMLP.forward(train=True)`` for comparison.
4. **Study times**: the study (``run_study``) with ``--quick`` and with the defaults (``--no-default`` skips it).

CPU time is printed next to wall time: on a shared machine a wall time alone says little.
Usage: python benchmarks/dropout.py [--seeds 4] [--steps 12] [--passes 100] [--threads N] [--no-quick] [--no-default]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from peak import load_avg, machine_line, matmul_peak

from trainlab.experiments.dropout.train import base_config, load_data, make_members
from trainlab.experiments.dropout.ensemble import MemberWeights, mc_logits
from trainlab.experiments.dropout.settings import DropoutSettings
from trainlab.experiments.registry import StudyOptions
from trainlab.loop import TrainSpec, batch_indices, fit
from trainlab.rng import counter_uniform, member_keys
from trainlab.runner import build_optimizer, build_population


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class _StepClock:
    """fit() callback: the time at the end of every step."""

    def __init__(self) -> None:
        self.times: list[float] = []

        self.cpu: list[float] = []

    def on_step_end(self, state) -> None:
        self.times.append(time.perf_counter())
        self.cpu.append(time.process_time())


def population_steps(cfg, members, ds, steps: int) -> float:
    """(wall, CPU) seconds per step of the population, over steps 2..steps (step 1 is warm-up)."""
    model = build_population(cfg, members, ds.input_dim, ds.n_classes)
    opt = build_optimizer(cfg, members, model.parameters())
    clock = _StepClock()
    spec = TrainSpec(steps=steps, batch_size=cfg.train.batch_size, eval_every=10 ** 9)
    fit(model, opt, (ds.train.x, ds.train.y), None, spec, callbacks=[clock])
    return (clock.times[-1] - clock.times[0]) / (steps - 1), (clock.cpu[-1] - clock.cpu[0]) / (steps - 1)


def older_paths(cfg, members, ds, steps: int) -> tuple[float, float]:
    """``population_steps`` with the masks as the torch expression (TRAINLAB_KERNEL=0) and the
    optimizer on its general per-member path: the population step before issue 18's changes."""
    from trainlab.optim import PopulationOptimizer

    shared, old = PopulationOptimizer._shared_step, os.environ.get("TRAINLAB_KERNEL")
    os.environ["TRAINLAB_KERNEL"] = "0"
    PopulationOptimizer._shared_step = lambda *a: None
    try:
        return population_steps(cfg, members, ds, steps)
    finally:
        PopulationOptimizer._shared_step = shared
        os.environ.pop("TRAINLAB_KERNEL") if old is None else os.environ.__setitem__("TRAINLAB_KERNEL", old)


def idiomatic_steps(cfg, members, ds, steps: int) -> float:
    """(wall, CPU) seconds per step summed over the members, each an nn.Sequential with torch.optim.AdamW."""
    pop = build_population(cfg, members, ds.input_dim, ds.n_classes)
    x, y = ds.train.x, ds.train.y
    gen = torch.Generator().manual_seed(0)
    total = cpu = 0.0
    for k in range(pop.K):
        net = pop.member(k).train()
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)

        def step() -> None:
            idx = torch.randint(0, x.shape[0], (cfg.train.batch_size,), generator=gen)
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()

        step()  # warm-up
        c0 = time.process_time()
        total += _timed(lambda: [step() for _ in range(steps - 1)]) / (steps - 1)
        cpu += (time.process_time() - c0) / (steps - 1)
    return total, cpu


def step_parts(cfg, members, ds, repeats: int = 3) -> dict[str, float]:
    """Seconds per population step of its parts, each measured alone: the masks as the step draws
    them (compiled, nn/cmasks.py, where a C compiler is there) and as the torch expression of
    ``counter_uniform``; the optimizer as the step takes it (which path: printed) and forced onto the
    general per-member path; the batch indices."""
    from trainlab.nn import cmasks

    pop = build_population(cfg, members, ds.input_dim, ds.n_classes)
    keys, p = pop.dropout_keys, pop.p_hidden
    b = cfg.train.batch_size
    widths = [ds.input_dim, *cfg.model.hidden]
    torch_masks = min(_timed(lambda: [counter_uniform(keys, 1, s, (b, w)) >= 0.5 for s, w in enumerate(widths)])
                      for _ in range(repeats))
    parts = {"dropout masks, torch expression": torch_masks}
    if cmasks.library() is not None:
        parts["dropout masks, compiled"] = min(
            _timed(lambda: [cmasks.scale(keys, 1, s, b, w, p, True) for s, w in enumerate(widths)])
            for _ in range(repeats))
    params = pop.parameters()
    grads = [torch.randn_like(q) * 1e-3 for q in params]
    alive = torch.ones(pop.K, dtype=torch.bool)
    for label, force_general in (("optimizer, as the step takes it", False), ("optimizer, general path", True)):
        opt = build_optimizer(cfg, members, params)
        if force_general:
            opt._shared_step = lambda *a: None
        parts[label] = min(_timed(lambda: opt.step(params, grads, alive)) for _ in range(repeats))
        parts[label.replace("optimizer", "optimizer path")] = opt.last_path
    shuffle = member_keys(0, pop.member_seeds, "shuffle")
    parts["batch indices"] = min(_timed(lambda: batch_indices(shuffle, ds.train.x.shape[0], b, 5))
                                 for _ in range(repeats))
    return parts


@torch.no_grad()
def mc_rate(cfg, ds, passes: int, peak: float) -> list[tuple[str, float, float]]:
    """(what, FLOP/s, fraction of peak) of MC passes over 1,000 val samples, per dropout pattern."""
    from trainlab.experiments.dropout.checks import init_values
    from trainlab.members import Member

    x = ds.val.x[:1000]
    rows = []
    for name, p_in, p_h in (("20% input + 50% hidden", 0.2, 0.5), ("50% hidden only", 0.0, 0.5)):
        pop = build_population(cfg, [Member(0, 0, init_values("he", p_in, p_h))], ds.input_dim, ds.n_classes)
        mw = MemberWeights.of(pop, 0)
        for _ in mc_logits(mw, x, 4):  # warm-up
            pass
        secs = _timed(lambda: [None for _ in mc_logits(mw, x, passes)])
        rate = passes * mw.flops_per_pass(x.shape[0]) / secs
        rows.append((f"MC passes, {name} (dropout.ensemble)", rate, rate / peak))
        if p_in > 0:  # the library's own train-mode forward: counter-based masks for every pass
            n_lib = max(2, passes // 20)
            secs = _timed(lambda: [pop.forward(x, train=True, step=t) for t in range(n_lib)])
            full = 2 * x.shape[0] * sum(w.shape[1] * w.shape[2] for w in pop.weights)
            rows.append((f"MC passes, {name} (PopulationMLP.forward, for comparison)", n_lib * full / secs,
                         n_lib * full / secs / peak))
    return rows


def study_time(quick: bool) -> tuple[float, float, dict]:
    from trainlab.experiments.dropout import STUDY
    from trainlab.experiments.study import run_study

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        s = run_study(STUDY, Path(tmp) / "dropout", StudyOptions(quick=quick, quiet=True))
        return time.perf_counter() - t0, time.process_time() - c0, s["timing"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4, help="seeds per (init, variant) in the training comparison")
    ap.add_argument("--steps", type=int, default=12, help="training steps timed per side")
    ap.add_argument("--passes", type=int, default=100, help="MC passes timed per variant")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for every part (default: torch's own)")
    ap.add_argument("--no-quick", action="store_true")
    ap.add_argument("--no-default", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = DropoutSettings.resolve(overrides={"seeds": args.seeds, "dataset": "mnist-5k"})
    ds = load_data(settings)
    cfg = base_config(settings, len(ds.train.y))
    members, _ = make_members(settings)
    peak = matmul_peak()
    print(machine_line(peak))

    c0 = time.process_time()
    t_pop, c_pop = population_steps(cfg, members, ds, args.steps)
    t_idi, c_idi = idiomatic_steps(cfg, members, ds, args.steps)
    t_old, c_old = older_paths(cfg, members, ds, args.steps)
    k = len(members)
    print(f"training, K={k} members, batch {cfg.train.batch_size} (cpu {time.process_time() - c0:.0f} s; load "
          f"{load_avg():.1f}):")
    print(f"  population (trainlab fit)      : {1e3 * t_pop / k:7.1f} ms per member-step (CPU {1e3 * c_pop / k:.1f} ms)")
    print(f"  idiomatic (nn.Sequential+AdamW): {1e3 * t_idi / k:7.1f} ms per member-step (CPU {1e3 * c_idi / k:.1f} ms)")
    print(f"  ratio idiomatic / population   : {t_idi / t_pop:7.2f} wall, {c_idi / c_pop:.2f} CPU time  (target >= 1.2)")
    print(f"  population, torch masks + general optimizer (before issue 18): {1e3 * t_old / k:.1f} ms per member-step "
          f"(CPU {1e3 * c_old / k:.1f} ms): now {t_old / t_pop:.2f}x faster wall, {c_old / c_pop:.2f}x CPU")
    for name, secs in step_parts(cfg, members, ds).items():
        if isinstance(secs, str):
            print(f"    {name}: {secs}")
            continue
        print(f"    population step part, {name:32s}: {1e3 * secs:7.1f} ms = {secs / t_pop:5.1%} of a step")

    for what, rate, frac in mc_rate(cfg, ds, args.passes, peak):
        print(f"{what}: {rate / 1e9:6.1f} GFLOP/s = {frac:5.1%} of peak (target >= 70%)")
    peak2 = matmul_peak()
    print(f"matmul peak again (drift check): {peak2 / 1e9:.1f} GFLOP/s")

    for quick, skip, limit in ((True, args.no_quick, 120), (False, args.no_default, 480)):
        if skip:
            continue
        wall, cpu, timing = study_time(quick)
        parts = ", ".join(f"{k} {v:.0f}s" for k, v in timing.items())
        verdict = "within" if wall < limit else "OVER"
        print(f"study lab dropout{' --quick' if quick else ''}: {wall:.0f} s wall, {cpu:.0f} s cpu ({parts}); "
              f"{verdict} the {limit} s budget")


if __name__ == "__main__":
    main()
