"""Keep freed memory in the process: large CPU tensors then stop costing page faults on every step.

glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and
returns it to the system on ``free``. A population's tensors are often larger (32 members of
784-800-800-10 hold 82 MB per weight tensor), so each step's new gradients, optimizer temporaries
and GEMM outputs were first-touched page by page again: measured on the 2-core machine, a
population AdamW step took 247 ms instead of 82 ms and a dropout-study training step 3x longer
(benchmarks/README.md, "dropout study"). With mmap disabled and trimming off, freed blocks are
reused from the heap. The cost: the process keeps its peak heap until it exits, which suits a CLI
run or a benchmark, so ``trainlab.cli.main`` calls this; library users may call it themselves.

On other C libraries or systems this is a no-op that says so.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_MAX = -4
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: keep up to 2 GB of freed heap at the top


def keep_freed_memory() -> bool:
    """Tell glibc malloc to serve large blocks from the heap and never trim it. True if applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_MAX, 0) == 1
    return ok and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
