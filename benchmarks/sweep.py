"""Sweep speed and memory: the lab's shallow net over 4096 configurations x 4 seeds, through `trainlab sweep`.

Task (issue 16): 2-6-3-2 ReLU on circles (100 training points, 10,000 validation points evaluated at
the end), full-batch GD for 1000 steps, a 64 x 64 grid over (optim.lr, model.init.std) x 4 seeds =
16,384 members, run by ``trainlab.sweep.run_sweep`` on the local backend: planning, chunks under
``run.memory_budget_mb``, each chunk committed, members.csv and configs.csv written (no figures).
In the same run:

- the naive loop: one ``nn.Sequential`` + ``torch.optim.SGD`` per configuration, one after another
  (seeds 000/001), on a sample of configurations; its per-member time is scaled up;
- torch.func ensembling: ``stack_module_state`` + ``vmap(functional_call)`` over K members with one
  ``torch.optim.SGD`` over the stacked parameters (per-member learning rates as a per-member scale on
  the gradients, which equals per-member SGD steps), the same steps and final evaluation;
- peak RSS after the sweep (``ru_maxrss``) against the memory budget;
- the floor: the minimal bytes a member-step must move, divided by the memory bandwidth measured
  here (a large ``copy_``, best of 5): once with the activations streamed through memory, once with
  them kept in cache (only parameters and gradients move).

The first line describes the machine: CPU model, AVX2/AVX-512/AMX flags, cores, torch version and
the matmul peak (best of 5 runs of a 4096 x 4096 fp32 ``torch.mm``). Each side runs at its own
thread count: the sweep and torch.func at ``--threads`` (default 2), the naive loop at 1 (its ops
are too small to share; see population.py). CPU-time ratios are printed beside wall-time ratios.

``--members 100000 --budget-mb 64``: instead, a 100,000-member random sweep (25,000 configurations x
4 seeds, ``--steps`` steps) under a small budget, printing the chunk sizes, the budget and the peak
RSS growth, to show that the sweep stays within the memory bound.

``--backend ray``: the sweep on a local Ray instance with ``--threads`` CPUs (one 1-thread worker per
CPU, chunks in parallel) instead of this process.

Usage: python benchmarks/sweep.py [--configs 4096] [--seeds 4] [--steps 1000] [--naive 6] [--func-k 1024]
       [--threads 2] [--budget-mb 4096] [--backend local|ray] [--members N]
"""
from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from pathlib import Path

import torch

import peak
from torch import nn

from trainlab.config import build_config
from trainlab.data.toy import make_toy
from trainlab.sweep import build_spec, run_sweep
from trainlab.sweep.backends import LocalBackend
from trainlab.sweep.plan import Stage, plan_stage
from trainlab.sweep.space import draw_random

SIZES = [2, 6, 3, 2]
N_PARAMS = sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:]))  # 47


def bandwidth(mb: int = 256, runs: int = 5) -> float:
    """Bytes per second of a large copy (read + write), best of ``runs``."""
    n = mb * 2**20 // 4
    src, dst = torch.rand(n), torch.empty(n)
    dst.copy_(src)
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - t0)
    return 2 * n * 4 / best


def grid(n_configs: int) -> tuple[list[str], int]:
    side = int(round(math.sqrt(n_configs)))
    if side * side != n_configs:
        raise SystemExit(f"--configs must be a square (a side x side grid), got {n_configs}")
    return [f"optim.lr=logspace(-2,0.5,{side})", f"model.init.std=logspace(-1.5,0.5,{side})"], side


def base_raw(steps: int, budget: int, threads: int, n_val: int = 10_000) -> dict:
    return {"run": {"name": "bench", "seed": 0, "threads": threads, "memory_budget_mb": budget, "device": "cpu",
                    "save_weights": False},
            "data": {"name": "circles", "n_train": 100, "n_val": n_val},
            "model": {"hidden": [6, 3], "activation": "relu", "init": {"scheme": "normal", "std": 0.5}},
            "optim": {"name": "sgd", "lr": 0.1}, "train": {"steps": steps}}


class TimedBackend(LocalBackend):
    """The local backend, with the time spent training chunks and committing them (wall and CPU) summed."""

    wall = cpu = 0.0
    rss_training = 0  # peak RSS when the last chunk was committed (before the tables are built)

    def run(self, tasks, commit, progress=None, callbacks_for=None):
        t0, c0 = time.perf_counter(), time.process_time()
        super().run(tasks, commit, progress, callbacks_for)
        TimedBackend.wall += time.perf_counter() - t0
        TimedBackend.cpu += time.process_time() - c0
        TimedBackend.rss_training = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_the_sweep(args) -> dict:
    torch.set_num_threads(args.threads)
    grids, _ = grid(args.configs)
    spec = build_spec(build_config(base_raw(args.steps, args.budget_mb, args.threads)), grid=grids, seeds=args.seeds)
    backend = TimedBackend("cpu")
    if args.backend == "ray":  # a local Ray instance: one 1-thread worker per core, chunks in parallel
        from trainlab.sweep.backends import RayBackend

        t0 = time.perf_counter()
        backend = RayBackend(num_cpus=args.threads)
        print(f"ray        : local instance with {args.threads} CPUs started in {time.perf_counter() - t0:.1f} s "
              f"(not counted below); worker CPU time is not in this process's CPU time", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        s = run_sweep(spec, Path(tmp) / "sweep", backend)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    backend.close()
    if args.backend == "ray":
        TimedBackend.wall, TimedBackend.cpu = wall, cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"summary": s, "wall": wall, "cpu": cpu, "rss": rss, "train_wall": TimedBackend.wall,
            "train_cpu": TimedBackend.cpu, "members": s["members"], "chunks": s["chunks"]["total"]}


def naive_member(x, y, xv, yv, lr: float, std: float, seed: int, steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds for one model: build, train, evaluate on the validation set."""
    t0, c0 = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, std)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        loss_fn(model(xv), yv)
    return time.perf_counter() - t0, time.process_time() - c0


def torch_func(x, y, xv, yv, k: int, steps: int, threads: int) -> tuple[float, float]:
    """(wall, CPU) seconds for K members by torch.func ensembling, creation and final evaluation included."""
    from torch.func import functional_call, stack_module_state, vmap

    torch.set_num_threads(threads)
    t0, c0 = time.perf_counter(), time.process_time()
    g = torch.Generator().manual_seed(0)
    models = []
    for i in range(k):
        m = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
        std = 10 ** (-1.5 + 2.0 * (i % 64) / 63)
        with torch.no_grad():
            for layer in m:
                if isinstance(layer, nn.Linear):
                    layer.weight.normal_(0, std, generator=g)
                    layer.bias.zero_()
        models.append(m)
    params, buffers = stack_module_state(models)
    base = models[0].to("meta")
    lrs = torch.logspace(-2, 0.5, 64).repeat(k // 64 + 1)[:k]

    def loss_one(p, b, xb, yb):
        return nn.functional.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    batched = vmap(loss_one, in_dims=(0, 0, None, None))
    opt = torch.optim.SGD(list(params.values()), lr=1.0)
    for _ in range(steps):
        opt.zero_grad()
        batched(params, buffers, x, y).sum().backward()
        with torch.no_grad():
            for p in params.values():  # per-member learning rates: one SGD over the stack, gradients scaled
                p.grad.mul_(lrs.view(-1, *([1] * (p.dim() - 1))))
        opt.step()
    with torch.no_grad():
        batched(params, buffers, xv, yv)
    return time.perf_counter() - t0, time.process_time() - c0


def hundred_k(args) -> None:
    """A 100,000-member random sweep under a small budget: chunk sizes and peak RSS growth."""
    torch.set_num_threads(args.threads)
    n_cfg = args.members // args.seeds
    raw = base_raw(args.steps, args.budget_mb, args.threads, n_val=1000)
    spec = build_spec(build_config(raw), random=["optim.lr=loguniform(1e-2,1)", "model.init.std=loguniform(0.03,3)"],
                      trials=n_cfg, seeds=args.seeds)
    tasks = plan_stage(spec.base, Stage("random", draw_random(spec.random, n_cfg, 0)), spec.seeds)
    sizes, n_chunks = sorted({t.n_members for t in tasks}), len(tasks)
    from trainlab.sweep import lib

    lib.dataset(lib.config_from(tasks[0].config))  # the data, loaded before the baseline
    del tasks  # run_sweep plans again
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = run_sweep(spec, Path(tmp) / "sweep", TimedBackend("cpu"))
        wall = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rss_t = TimedBackend.rss_training
    print(f"bound check: {s['members']:,} members ({n_cfg:,} configs x {args.seeds} seeds), {args.steps} steps, "
          f"{n_chunks} chunks of {sizes[0]}..{sizes[-1]} members under run.memory_budget_mb={args.budget_mb}; "
          f"{wall:.1f} s ({s['members'] / wall:,.0f} members/s)")
    print(f"memory     : peak RSS {rss0 / 2**20:.0f} MB before the sweep (torch, data, the plan), "
          f"{rss_t / 2**20:.0f} MB when the last chunk was committed (+{(rss_t - rss0) / 2**20:.0f} MB: the "
          f"{args.budget_mb} MB training budget plus the committed rows), {rss1 / 2**20:.0f} MB after the tables "
          f"(+{(rss1 - rss0) / 2**20:.0f} MB: member and configuration tables held in memory, CSV and Parquet text)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=4096)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--naive", type=int, default=6, help="configurations of the naive loop timed")
    ap.add_argument("--func-k", type=int, default=1024, help="members in the torch.func ensemble")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget-mb", type=int, default=4096)
    ap.add_argument("--members", type=int, default=0, help="run the N-member memory-bound check instead")
    ap.add_argument("--backend", default="local", choices=["local", "ray"], help="the sweep's backend (ray: a local "
                    "instance with --threads CPUs, one 1-thread worker each)")
    args = ap.parse_args()
    print(peak.machine_line(), flush=True)
    if args.members:
        hundred_k(args)
        return
    bw = bandwidth()
    res = run_the_sweep(args)
    n, steps = res["members"], args.steps
    per_member = res["wall"] / n
    ds = make_toy("circles", 100, 10_000, 0, seed=0)
    x, y, xv, yv = ds.train.x, ds.train.y, ds.val.x, ds.val.y
    torch.set_num_threads(1)
    naive_member(x, y, xv, yv, 0.1, 0.5, 0, 50)  # warm-up
    lrs = torch.logspace(-2, 0.5, 64)
    stds = torch.logspace(-1.5, 0.5, 64)
    naive = [naive_member(x, y, xv, yv, float(lrs[(7 * i) % 64]), float(stds[(11 * i) % 64]), i, steps)
             for i in range(args.naive)]
    nw, nc = min(t[0] for t in naive), min(t[1] for t in naive)
    fw, fc = torch_func(x, y, xv, yv, args.func_k, steps, args.threads)
    fw, fc = fw / args.func_k, fc / args.func_k
    member_steps = n * steps
    stream = 4 * (2 * N_PARAMS * 2 + 2 * 100 * sum(SIZES[1:]))  # params+grads read/written, activations out and back
    cached = 4 * (2 * N_PARAMS * 2)  # activations kept in cache: parameters and gradients only
    t_ms = res["train_wall"] / member_steps
    print(f"bandwidth  : {bw / 1e9:.1f} GB/s (256 MB copy, read + write, best of 5)")
    print(f"sweep      : {n:,} members ({args.configs} configs x {args.seeds} seeds, {steps} GD steps, 1 structure, "
          f"{res['chunks']} chunks under {args.budget_mb} MB) in {res['wall']:.1f} s wall "
          f"(training and chunk commits {res['train_wall']:.1f} s; planning and tables {res['wall'] - res['train_wall']:.1f} s); "
          f"{n / res['wall']:,.0f} members/s; CPU {res['cpu']:.1f} s; {args.threads} thread(s)")
    print(f"naive loop : {nw * 1e3:.1f} ms/member (best of {args.naive} sampled configs, build + {steps} steps + val "
          f"eval, 1 thread; CPU {nc * 1e3:.1f} ms) -> sweep speedup {nw / per_member:.1f}x "
          f"(target >= 200x); by CPU time {nc / (res['cpu'] / n):.1f}x")
    print(f"torch.func : {fw * 1e3:.2f} ms/member (K={args.func_k}, stack_module_state + vmap(functional_call), one "
          f"torch.optim.SGD; {args.threads} thread(s); CPU {fc * 1e3:.2f} ms) -> sweep speedup "
          f"{fw / per_member:.2f}x (target >= 4x); by CPU time {fc / (res['cpu'] / n):.2f}x")
    print(f"peak RSS   : {res['rss'] / 2**20:.0f} MB after the sweep (budget {args.budget_mb} MB)")
    print(f"floor      : {t_ms * 1e9:.1f} ns per member-step in training; minimal bytes per member-step "
          f"{stream} B with activations through memory ({stream / bw * 1e9:.2f} ns at {bw / 1e9:.1f} GB/s: "
          f"{t_ms / (stream / bw):.1f}x the floor), {cached} B with activations in cache "
          f"({cached / bw * 1e9:.3f} ns: {t_ms / (cached / bw):.0f}x)")


if __name__ == "__main__":
    main()
