"""Where and how a run computes: the device, the CPU threads, and the provenance a summary records.

Every study, ``lab.py`` and the CLI take ``--device auto|cpu|cuda`` and ``--threads N`` through
these functions, so the README's contract holds everywhere in one place.
"""
from __future__ import annotations

import platform
from typing import Optional

import torch

from trainlab.errors import UsageError


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU. ``cuda`` without a GPU is a usage error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' requested but no CUDA GPU is available; use --device cpu or auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_threads(n: Optional[int]) -> None:
    """Set torch's intra-op CPU threads; None leaves torch's default."""
    if n is not None:
        torch.set_num_threads(int(n))


def provenance(device=None) -> dict:
    """Versions, machine, threads and device: what a summary.json records about where it ran.

    ``cpu``: the model and the vector extensions that pick code paths; ``small_net_kernel``: whether
    the compiled kernel for small nets ran in this process, or why not (``nn/ckernel.py``)."""
    import trainlab
    from trainlab import cpu
    from trainlab.nn import ckernel

    return {"trainlab": trainlab.__version__, "torch": torch.__version__, "python": platform.python_version(),
            "machine": f"{platform.machine()} {platform.system()}", "cpu_threads": torch.get_num_threads(),
            "device": str(device) if device is not None else "cpu", "cpu": cpu.describe(),
            "small_net_kernel": ckernel.describe()}
