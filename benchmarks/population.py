"""Population speed: the lab's shallow net trained as one population vs the naive per-model loop.

Set-up (seed 000 Part 1): 2-6-3-2 ReLU, 100 circle points, full-batch GD at lr 0.1, 1000 steps,
weights N(0, 0.5). Two ways, in the same run:

- population: K members (default 1024) via trainlab.loop.fit (evaluation only at the end);
- naive: one nn.Module and torch.optim.SGD per model, one model after another, as seeds 000/001
  write it. A few models are timed and the per-model time is scaled up.

Prints the per-model time of each and the speedup. Compile/warm-up time is counted in totals.
Usage: python benchmarks/population.py [--k 1024] [--naive 5] [--steps 1000]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from trainlab.data.toy import make_toy
from trainlab.loop import TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer


def naive(x, y, steps: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.5)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def population(x, y, steps: int, k: int) -> float:
    t0 = time.perf_counter()
    pop = PopulationMLP.create([2, 6, 3, 2], "relu", [MemberInit(s, "normal", 0.5) for s in range(k)])
    opt = PopulationOptimizer("sgd", pop.parameters(), {"lr": torch.full((k,), 0.1)})
    fit(pop, opt, (x, y), None, TrainSpec(steps=steps, eval_every=steps))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=1024)
    ap.add_argument("--naive", type=int, default=5, help="naive models to time")
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
    ds = make_toy("circles", 100, 0, 0, seed=0)
    x, y = ds.train.x, ds.train.y
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    naive(x, y, 50, 0)  # warm-up
    t_naive = [naive(x, y, args.steps, s) for s in range(args.naive)]
    per_naive = min(t_naive)
    t_pop = population(x, y, args.steps, args.k)
    per_pop = t_pop / args.k
    print(f"naive loop : {per_naive * 1e3:8.2f} ms/model (best of {args.naive}; {args.k} models ~ {per_naive * args.k:.1f} s)")
    print(f"population : {per_pop * 1e3:8.3f} ms/model (K={args.k}, total {t_pop:.2f} s incl. init)")
    print(f"speedup    : {per_naive / per_pop:8.1f}x  (target >= 100x)")


if __name__ == "__main__":
    main()
