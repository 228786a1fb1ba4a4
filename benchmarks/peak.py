"""The machine's matmul peak, as every benchmark here defines it.

"The matmul peak" is the best of 5 runs of a 4096 x 4096 fp32 ``torch.mm``, measured in the same
benchmark run on the same machine (after one untimed warm-up product). Shared by the scripts in
this folder so that every ratio uses the same yardstick.
"""
from __future__ import annotations

import time

import torch

from trainlab.malloc import keep_freed_memory, reexec_script_with_env

# every benchmark imports this module: restart once with glibc's malloc variables set, as the CLI
# does for `lab` and `train`, so both sides of each ratio run under the same allocator settings
reexec_script_with_env()
keep_freed_memory()

PEAK_N = 4096
PEAK_RUNS = 5


def matmul_peak(n: int = PEAK_N, runs: int = PEAK_RUNS, device: str = "cpu") -> float:
    """FLOP/s of the best of ``runs`` fp32 (n x n) @ (n x n) products."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(runs):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best
