"""Overhead of ``trainlab.watch`` on the MNIST-sized MLP (784-800-800-10, batch 128, Adam).

Both arms run in the same process, interleaved block by block, so load drifts on a shared
machine hit both alike; the overhead is the median over adjacent pairs of
(watched block time / plain block time - 1). Two regimes at the default schedule:

- ``steady``: a long run, the watcher past step 200, so each 50-step block holds exactly one
  measured step (the default schedule's steady state);
- ``start``: the first 200 steps of a run with a fresh watcher (every step to 20, then every
  10th: 38 measured steps of 200), the most expensive stretch, timed against the first 200
  steps of an equally fresh plain run.

Random data is fine: the cost of the hooks does not depend on what is learned.
Usage: python benchmarks/watch_overhead.py [--pairs 40] [--starts 5] [--device auto|cpu|cuda]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from peak import machine_line
from trainlab.diagnose.watch import Watcher, watch


def make(device: torch.device, seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 800), nn.ReLU(), nn.Linear(800, 800), nn.ReLU(),
                          nn.Linear(800, 10)).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


CLOCK: Callable[[], float] = time.perf_counter


def block(model: nn.Module, opt: torch.optim.Optimizer, batches: list, steps: int,
          w: Watcher | None, sync: Callable[[], None]) -> float:
    """Seconds for ``steps`` training steps (optionally watched)."""
    sync()
    t0 = CLOCK()
    for i in range(steps):
        x, y = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if w is not None:
            w.step(loss)
        opt.step()
    sync()
    return CLOCK() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=40, help="plain/watched 50-step block pairs")
    ap.add_argument("--starts", type=int, default=5, help="fresh-watcher 200-step runs")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: leave as is)")
    ap.add_argument("--wall", action="store_true", help="time CPU runs by wall clock, not CPU time")
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    global CLOCK
    # CPU: this process's CPU time, which other jobs on a shared machine barely disturb
    # (with 1 thread it equals the work done); GPU: wall time between synchronizations.
    CLOCK = time.perf_counter if device.type == "cuda" or args.wall else time.process_time
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(128, 784, generator=g).to(device),
                torch.randint(0, 10, (128,), generator=g).to(device)) for _ in range(32)]
    print(machine_line())
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name()}), wall clock" if device.type == "cuda" else
             f", {torch.get_num_threads()} threads, "
             + ("wall clock" if args.wall else "process CPU time")))

    plain_m, plain_o = make(device, 0)
    steady_m, steady_o = make(device, 0)
    steady_w = watch(steady_m, steady_o, n_classes=10)
    block(plain_m, plain_o, batches, 250, None, sync)  # warm-up; moves the watcher past step 200
    block(steady_m, steady_o, batches, 250, steady_w, sync)

    steady, plain_ms = [], []
    for i in range(args.pairs):
        order = [(None, plain_m, plain_o), (steady_w, steady_m, steady_o)]
        t = {}
        for w, m, o in (order if i % 2 == 0 else order[::-1]):  # alternate who goes first
            t[w is None] = block(m, o, batches, 50, w, sync)
        steady.append(t[False] / t[True] - 1)
        plain_ms.append(t[True] / 50 * 1e3)
    steady_w.close()

    start = []
    for r in range(args.starts):  # both arms start from a fresh model and optimizer
        t = {}
        for watched in ((False, True) if r % 2 == 0 else (True, False)):
            m, o = make(device, r + 1)
            w = watch(m, o, n_classes=10) if watched else None
            t[watched] = block(m, o, batches, 200, w, sync)
            if w is not None:
                w.close()
        start.append(t[True] / t[False] - 1)

    med = statistics.median
    q = statistics.quantiles(steady, n=4)
    print(f"plain step: {med(plain_ms):.3f} ms (median of {args.pairs} blocks of 50 steps)")
    print(f"steady (long run, 1 measured step per 50): overhead {med(steady):+.2%} "
          f"(quartiles {q[0]:+.1%} .. {q[2]:+.1%}, {args.pairs} pairs)")
    print(f"start (first 200 steps, 38 measured):      overhead {med(start):+.2%} "
          f"(min {min(start):+.1%}, max {max(start):+.1%}, {args.starts} runs)")
    print(f"\nwatch overhead at the default schedule: {med(steady):+.2%} (long run); target <= 3%")


if __name__ == "__main__":
    main()
