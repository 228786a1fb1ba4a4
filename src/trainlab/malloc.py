"""Keep freed memory in the process: large CPU tensors then stop costing page faults on every step.

glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and
returns it to the system on ``free``. A population's tensors are often larger (32 members of
784-800-800-10 hold 82 MB per weight tensor), so each step's new gradients, optimizer temporaries
and GEMM outputs were first-touched page by page again: measured on the 2-core machine, a
population AdamW step took 247 ms instead of 82 ms and a dropout-study training step 3x longer
(benchmarks/README.md, "dropout study"). With mmap disabled and trimming off, freed blocks are
reused from the heap. The cost: the process keeps its peak heap until it exits, which suits a CLI
run or a benchmark, so ``trainlab.cli.main`` calls this; library users may call it themselves.
Set through the environment before the process starts (``MALLOC_MMAP_MAX_``,
``MALLOC_TRIM_THRESHOLD_``) the same settings measured faster still, so ``lab`` and ``train``
restart once with them (``reexec_with_env``; ``TRAINLAB_NO_REEXEC=1`` turns that off).

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


ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
LONG_COMMANDS = ("lab", "train", "sweep")  # worth a second interpreter start-up (~1 s)


def reexec_with_env(argv: list[str]) -> None:
    """Restart ``python -m trainlab ARGS`` with glibc's malloc variables in the environment.

    Set before the process starts, they measured faster than the same settings made by
    ``keep_freed_memory`` at run time (the dropout study's population step: 0.74-0.89x of the
    idiomatic loop's speed with the run-time call, 1.02-1.17x with the environment; the reason was
    not found). Only for the long commands, only on Linux, only once (the variables mark it), and
    never when ``TRAINLAB_NO_REEXEC`` is set. Returns only when it does not restart.
    """
    import os

    if (not sys.platform.startswith("linux") or not argv or argv[0] not in LONG_COMMANDS
            or os.environ.get("TRAINLAB_NO_REEXEC") or all(os.environ.get(k) == v for k, v in ENV.items())):
        return
    env = {**os.environ, **ENV}
    sys.stdout.flush()
    sys.stderr.flush()
    # Ctrl-C during the restart would kill the new interpreter before it can catch it (exit -2, not
    # 130), and an ignored one would be lost: block SIGINT across exec instead (the mask and a
    # pending signal survive execve); trainlab/__init__.py installs its start-up handler and then
    # unblocks it, so a Ctrl-C pressed meanwhile ends the run with 130.
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        os.execve(sys.executable, [sys.executable, "-m", "trainlab", *argv], env)
    except OSError:  # no restart after all: run on in this process, with Ctrl-C working again
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def reexec_script_with_env() -> None:
    """The same restart for a script (``python SCRIPT ARGS``): the benchmarks call it so that both
    sides of every ratio run with the settings the CLI uses."""
    import os

    if not sys.platform.startswith("linux") or all(os.environ.get(k) == v for k, v in ENV.items()):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **ENV})
