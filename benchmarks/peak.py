"""The machine's matmul peak, as every benchmark here defines it, and the line that names the machine.

"The matmul peak" is the best of 5 runs of a 4096 x 4096 fp32 ``torch.mm``, measured in the same
benchmark run on the same machine (after one untimed warm-up product). Shared by the scripts in
this folder so that every ratio uses the same yardstick. Every benchmark prints ``machine_line()``
first: the CPU model, its vector extensions (AVX2, AVX-512, AMX), the cores, the torch version and
threads, the matmul peak and the load average (the machines are shared; a load above the core
count means other processes took part of them).
"""
from __future__ import annotations

import os
import platform
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


def cpu_model_and_flags() -> tuple[str, set[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return model, flags


def load_avg() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def machine_line(peak: float | None = None) -> str:
    """One line naming the machine; measures the matmul peak unless given (FLOP/s)."""
    model, flags = cpu_model_and_flags()
    avx512 = [f.removeprefix("avx512") for f in sorted(flags) if f.startswith("avx512")]
    amx = [f for f in sorted(flags) if f.startswith("amx")]
    ext = (f"AVX2 {'yes' if 'avx2' in flags else 'no'}; "
           f"AVX-512 {('yes (' + ' '.join(avx512) + ')') if avx512 else 'no'}; "
           f"AMX {('yes (' + ' '.join(amx) + ')') if amx else 'no'}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    peak = matmul_peak() if peak is None else peak
    return (f"machine: {model}; {ext}; {cores} cores; torch {torch.__version__}, {torch.get_num_threads()} "
            f"thread(s); matmul peak {peak / 1e9:.1f} GFLOP/s (best of 5, 4096^2 fp32); load avg {load_avg():.1f}")
