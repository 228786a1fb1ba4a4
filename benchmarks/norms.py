"""Cost of the per-layer norms (``train.record_norms``, trainlab.norms) as a share of training time.

For each set-up, ``fit`` trains the same population with ``record_norms`` on and off, in the same
process, interleaved run by run (who goes first alternates), so load drifts on a shared machine hit
both arms alike. The overhead is the median over pairs of (time with norms / time without - 1);
the target is <= 5% at each set-up's own evaluation interval. The time is this process's CPU time
with 1 thread (wall clock with --wall or on a GPU), so other jobs on the machine barely disturb it.

Set-ups: the three example configs (``examples/*.yaml``: circles, two moons, the 5-class mixture)
and an MNIST-shaped MLP (784-800-800-10, batch 128, Adam, random data: the cost of the norms does
not depend on what is learned); plus the worst case, an evaluation after every step.
Usage: python benchmarks/norms.py [--pairs 7] [--device auto|cpu|cuda] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from peak import machine_line

from trainlab.config import load_config
from trainlab.loop import TrainSpec, fit
from trainlab.members import resolve_members
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer
from trainlab.runner import build_optimizer, build_population, load_data, train_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLOCK: Callable[[], float] = time.process_time


def example(name: str, device: torch.device, eval_every: int | None = None) -> Callable[[bool], float]:
    """A run of ``examples/<name>.yaml`` (its whole population, one chunk): seconds of ``fit``."""
    cfg = load_config(EXAMPLES / f"{name}.yaml")
    ds = load_data(cfg.data, cfg.run.seed)
    table = resolve_members(cfg)
    tr = (ds.train.x.to(device), ds.train.y.to(device))
    va = (ds.val.x.to(device), ds.val.y.to(device))

    def once(norms: bool) -> float:
        model = build_population(cfg, table, ds.input_dim, ds.n_classes).to(device)
        opt = build_optimizer(cfg, table, model.parameters())
        spec = replace(train_spec(cfg, table, device), record_norms=norms)
        if eval_every is not None:
            spec = replace(spec, eval_every=eval_every)
        return _timed(lambda: fit(model, opt, tr, va, spec), device)
    return once


def mnist_shaped(device: torch.device, k: int = 4, steps: int = 200, eval_every: int = 10) -> Callable[[bool], float]:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(2048, 784, generator=g).to(device), torch.randint(0, 10, (2048,), generator=g).to(device)
    vx, vy = torch.randn(2048, 784, generator=g).to(device), torch.randint(0, 10, (2048,), generator=g).to(device)

    def once(norms: bool) -> float:
        pop = PopulationMLP.create([784, 800, 800, 10], "relu", [MemberInit(s, "kaiming_normal", 1.0) for s in range(k)])
        pop.to(device)
        opt = PopulationOptimizer("adam", pop.parameters(), {"lr": torch.full((k,), 1e-3)})
        spec = TrainSpec(steps=steps, batch_size=128, eval_every=eval_every, record_norms=norms)
        return _timed(lambda: fit(pop, opt, (x, y), (vx, vy), spec), device)
    return once


def _timed(work: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = CLOCK()
    work()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return CLOCK() - t0


def overhead(once: Callable[[bool], float], pairs: int) -> tuple[float, float, float, float]:
    """(median overhead, lowest, highest, median seconds without norms) over interleaved pairs."""
    once(False), once(True)  # warm-up: first-call costs (allocations, lazy imports) hit neither arm
    ratios, plain = [], []
    for i in range(pairs):
        t = {}
        for norms in ((False, True) if i % 2 == 0 else (True, False)):
            t[norms] = once(norms)
        ratios.append(t[True] / t[False] - 1)
        plain.append(t[False])
    return statistics.median(ratios), min(ratios), max(ratios), statistics.median(plain)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=7, help="runs with and without norms, interleaved")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: leave as is)")
    ap.add_argument("--wall", action="store_true", help="time CPU runs by wall clock, not CPU time")
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.perf_counter if device.type == "cuda" or args.wall else time.process_time
    print(machine_line())
    print(f"device {device}, {'wall clock' if CLOCK is time.perf_counter else 'process CPU time'}")
    setups = [
        ("circles (examples, K=8, GD, eval every 20)", example("circles", device)),
        ("moons (examples, K=8, batch 32, eval every 50)", example("moons", device)),
        ("gaussians5 (examples, K=12, batch 64, eval every 25)", example("gaussians5", device)),
        ("784-800-800-10 (K=4, batch 128, Adam, eval every 10)", mnist_shaped(device)),
        ("worst case: circles, eval after every step", example("circles", device, eval_every=1)),
    ]
    worst = 0.0
    for name, once in setups:
        med, lo, hi, plain = overhead(once, args.pairs)
        if not name.startswith("worst"):
            worst = max(worst, med)
        print(f"{name:55s} {plain:7.3f} s  overhead {med:+.2%} (min {lo:+.1%}, max {hi:+.1%}, {args.pairs} pairs)")
    print(f"\nnorms overhead, largest median at the set-ups' own evaluation intervals: {worst:+.2%} (target <= 5%)")


if __name__ == "__main__":
    main()
