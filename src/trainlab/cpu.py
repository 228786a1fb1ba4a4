"""The CPU this process runs on, read at run time: model name and the vector extensions that pick code paths.

Why: one install serves every kind of x86 (and ARM) CPU, so the paths that depend on the
instruction set (the compiled kernel's block width in ``nn/ckernel.py``) are chosen from what the
running CPU reports, never from what the build machine had. ``provenance`` records the result, so a
summary says which machine and which path produced it.
"""
from __future__ import annotations

import functools
import platform

# the extensions that decide a path or explain a speed figure (AMX: the matmul units of recent Xeons)
FEATURES = ("avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "amx_int8",
            "asimd", "sve")


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """(model name, flags) from the text of /proc/cpuinfo (x86 "flags", ARM "Features"); first CPU only."""
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "Hardware") and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
    return model, flags


@functools.lru_cache(maxsize=1)
def cpu_info() -> tuple[str, frozenset[str]]:
    """The running CPU's (model, flags); flags are empty where the OS does not say (then the portable paths run)."""
    try:
        with open("/proc/cpuinfo") as f:
            model, flags = parse_cpuinfo(f.read())
    except OSError:
        model, flags = "", frozenset()
    return model or platform.processor() or platform.machine(), flags


def features(flags: frozenset[str] | set[str]) -> list[str]:
    """The extensions of ``FEATURES`` present in ``flags``, in that order."""
    return [f for f in FEATURES if f in flags]


def describe() -> dict:
    """What ``provenance`` records: the CPU model and its path-deciding extensions."""
    model, flags = cpu_info()
    return {"model": model, "features": features(flags)}
