"""Deep statistics pass vs the matmul peak (issue: lab part 2, speed).

The pass: the report's set-up, 50 hidden layers of 512 units plus a 10-class head, 10,000
N(0, 1) input vectors, He normal + ReLU, zero biases; one forward and one backward from a
cross-entropy loss with every per-layer statistic the deep study stores
(``trainlab.probes.layer_stats``). Three figures, all in this one run on this one machine:

1. the matmul peak: best of 5 runs of a 4096 x 4096 fp32 ``torch.mm`` (``peak.py``);
2. ``layer_stats`` on K members (default 1, as the study's report set-up is run per
   activation with up to 8 members: see ``--k``);
3. the baseline: a plain ``nn.Sequential`` with forward hooks and tensor hooks computing the same
   statistics, autograd backward (chunked the same way so that both hold the same memory).

The useful work is counted as matmul FLOPs: forward 2 N fan_in fan_out per layer, backward
2 N fan_in fan_out for dW of every layer and again for dA of every layer but the first (the
input's gradient is not needed). Elementwise work (activation, statistics) is not counted: it is
the overhead that separates the pass from the peak. Each pass is timed ``--runs`` times; the
ratio uses the best, and the first run (warm-up included) is printed beside it.

Usage: python benchmarks/deep_stats.py [--k 1] [--runs 3] [--threads N] [--n 10000]
       [--depth 50] [--width 512] [--skip-baseline]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from peak import machine_line, matmul_peak
from trainlab.probes import layer_stats


def _weights(k: int, depth: int, width: int, n_classes: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sizes = [width] * (depth + 1) + [n_classes]
    return [torch.randn(k, fi, fo, generator=g) * (2.0 / fi) ** 0.5 for fi, fo in zip(sizes[:-1], sizes[1:])]


def useful_flops(n: int, depth: int, width: int, n_classes: int, k: int) -> float:
    """Matmul FLOPs of one forward + backward statistics pass (see the module docstring)."""
    sizes = [width] * (depth + 1) + [n_classes]
    layer = [2.0 * n * fi * fo for fi, fo in zip(sizes[:-1], sizes[1:])]
    return k * (sum(layer) * 3 - layer[0])


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class HookedStats:
    """The baseline: statistics of an nn.Sequential collected by hooks, backward by autograd."""

    def __init__(self, weights: list[torch.Tensor], member: int = 0):
        layers: list[nn.Module] = []
        for i, w in enumerate(weights):
            lin = nn.Linear(w.shape[1], w.shape[2], bias=False)
            with torch.no_grad():
                lin.weight.copy_(w[member].T)
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.sums: dict[str, list[list[float]]] = {}
        for m in self.model:
            m.register_forward_hook(self._hook)

    def _acc(self, key: str, i: int, t: torch.Tensor) -> None:
        t = t.detach()
        rows = self.sums.setdefault(key, [])
        while len(rows) <= i:
            rows.append([0.0, 0.0, 0.0, 0.0])
        r = rows[i]
        r[0] += float(t.sum())
        r[1] += float((t * t).sum())
        r[2] += float(t.abs().sum())
        r[3] += float((t == 0).sum())

    def _hook(self, module: nn.Module, inputs, output: torch.Tensor) -> None:
        i = list(self.model).index(module) // 2
        key = "preact" if isinstance(module, nn.Linear) else "act"
        self._acc(key, i, output)
        if output.requires_grad and key == "act":
            output.register_hook(lambda g, i=i: self._acc("act_grad", i, g))

    def run(self, x: torch.Tensor, y: torch.Tensor, chunk: int) -> None:
        self.sums = {}
        self.model.zero_grad(set_to_none=True)
        n = x.shape[0]
        for r0 in range(0, n, chunk):
            out = self.model(x[r0:r0 + chunk])
            loss = nn.functional.cross_entropy(out, y[r0:r0 + chunk], reduction="sum") / n
            loss.backward()
        for i, m in enumerate(self.model[::2]):
            self._acc("grad", i, m.weight.grad)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=1, help="members in the statistics pass")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    n_classes = 10
    peak = matmul_peak()
    print(machine_line(peak))
    print(f"pass: {args.depth} x {args.width}, N = {args.n}, K = {args.k}, He normal + ReLU")
    print(f"matmul peak       : {peak / 1e9:7.1f} GFLOP/s (best of 5, 4096^3 fp32)")

    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.n, args.width, generator=g)
    y = torch.randint(0, n_classes, (args.n,), generator=g)
    ws = _weights(args.k, args.depth, args.width, n_classes)
    bs = [None] * len(ws)
    flops = useful_flops(args.n, args.depth, args.width, n_classes, args.k)
    times = [_timed(lambda: layer_stats(ws, bs, "relu", x, y)) for _ in range(args.runs)]
    best = min(times)
    ratio = flops / best / peak
    print(f"layer_stats       : {flops / best / 1e9:7.1f} GFLOP/s = {ratio:.1%} of peak "
          f"(best of {args.runs}: {best:.2f} s; first run {times[0]:.2f} s; {flops / 1e9:.0f} GFLOP)")
    if not args.skip_baseline:
        hooked = HookedStats(ws)
        chunk = 2048
        flops1 = useful_flops(args.n, args.depth, args.width, n_classes, 1)
        base = [_timed(lambda: hooked.run(x, y, chunk)) for _ in range(args.runs)]
        b = min(base)
        print(f"nn.Sequential+hooks: {flops1 / b / 1e9:7.1f} GFLOP/s = {flops1 / b / peak:.1%} of peak "
              f"(best of {args.runs}: {b:.2f} s per member; first run {base[0]:.2f} s)")
    print(f"ratio to peak     : {ratio:.3f}  (target >= 0.85)")


if __name__ == "__main__":
    main()
