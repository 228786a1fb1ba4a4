"""Population speed: the lab's shallow net trained as one population vs the naive per-model loop.

Set-up (seed 000 Part 1): 2-6-3-2 ReLU, 100 circle points, full-batch GD at lr 0.1, 1000 steps,
weights N(0, 0.5). Two ways, in the same run:

- population: K members (default 1024) via trainlab.loop.fit (evaluation only at the end), timed
  from PopulationMLP.create to the end of fit, with the fused step's scratch buffers dropped first;
- naive: one nn.Module and torch.optim.SGD per model, one model after another, as seeds 000/001
  write it. A few models are timed and the per-model time is scaled up.

The two alternate for ``--rounds`` rounds and each side keeps its best round: other processes on
the machine only ever add time, so the minimum is the least noisy estimate of each. Prints the
per-model time of each side, with its thread count, and the speedup.

Each side runs at its own best thread count by default: the population on both cores (2 threads),
the naive loop on 1 (its ops are too small to share; 2 threads measured slower). The CPU-time ratio
is printed too, so the thread counts cannot hide anything.

Usage: python benchmarks/population.py [--k 1024] [--naive 5] [--steps 1000] [--rounds 3]
       [--threads 2] [--naive-threads 1] [--autograd]
"""
from __future__ import annotations

import argparse
import time

import torch

import peak
from torch import nn

from trainlab.data.toy import make_toy
from trainlab.loop import TrainSpec, fit
from trainlab.nn import fused
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer


def naive(x, y, steps: int, seed: int) -> tuple[float, float]:
    """(wall, CPU) seconds to train one model, excluding its creation."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.5)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0, time.process_time() - c0


def population(x, y, steps: int, k: int) -> tuple[float, float]:
    """(wall, CPU) seconds to create and train K models."""
    fused.release()  # each round pays for its own scratch buffers
    t0, c0 = time.perf_counter(), time.process_time()
    pop = PopulationMLP.create([2, 6, 3, 2], "relu", [MemberInit(s, "normal", 0.5) for s in range(k)])
    opt = PopulationOptimizer("sgd", pop.parameters(), {"lr": torch.full((k,), 0.1)})
    fit(pop, opt, (x, y), None, TrainSpec(steps=steps, eval_every=steps))
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=1024)
    ap.add_argument("--naive", type=int, default=5, help="naive models to time per round")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; each side keeps its best")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for the population (default 2: "
                    "both cores of the lab machine)")
    ap.add_argument("--naive-threads", type=int, default=1, help="torch threads for the naive loop (default 1: "
                    "its best; 2 threads measured 5%% slower for these tiny ops)")
    ap.add_argument("--autograd", action="store_true", help="train the population by autograd, not trainlab.nn.fused")
    args = ap.parse_args()
    naive_threads = args.naive_threads
    if args.autograd:
        fused.supports = lambda model, spec: False  # loop.loss_and_grads then takes the autograd reference
    ds = make_toy("circles", 100, 0, 0, seed=0)
    x, y = ds.train.x, ds.train.y
    torch.set_num_threads(args.threads)
    print(peak.machine_line())
    print(f"torch {torch.__version__}; threads: naive {naive_threads}, population {args.threads}; "
          f"step: {'autograd' if args.autograd else 'fused'}")
    torch.set_num_threads(naive_threads)
    naive(x, y, 50, 0)  # warm-up
    t_naive, t_pop = [], []  # (wall, cpu) pairs
    for r in range(args.rounds):
        torch.set_num_threads(naive_threads)
        t_naive += [naive(x, y, args.steps, s) for s in range(args.naive)]
        torch.set_num_threads(args.threads)
        t_pop.append(population(x, y, args.steps, args.k))
        print(f"  round {r + 1}: naive {min(t[0] for t in t_naive[-args.naive:]) * 1e3:8.2f} ms/model, "
              f"population {t_pop[-1][0] / args.k * 1e3:7.3f} ms/model")
    nw, nc = (min(t[i] for t in t_naive) for i in (0, 1))
    pw, pc = (min(t[i] for t in t_pop) / args.k for i in (0, 1))
    print(f"naive loop : {nw * 1e3:8.2f} ms/model (best of {len(t_naive)}; {args.k} models ~ {nw * args.k:.1f} s; "
          f"{naive_threads} thread(s)); CPU {nc * 1e3:.2f} ms/model")
    print(f"population : {pw * 1e3:8.3f} ms/model (K={args.k}, best total {pw * args.k:.2f} s incl. init; "
          f"first round {t_pop[0][0]:.2f} s; {args.threads} thread(s)); CPU {pc * 1e3:.3f} ms/model")
    print(f"speedup    : {nw / pw:8.1f}x  (target >= 100x); by CPU time {nc / pc:.1f}x")

if __name__ == "__main__":
    main()
