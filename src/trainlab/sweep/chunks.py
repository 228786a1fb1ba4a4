"""Train one chunk (a population) and turn it into member rows: the unit a backend runs.

``train_chunk`` is a plain function of plain data (a ``ChunkTask``), so the local backend calls it
in-process and the Ray backend ships it to a worker. Its rows are what a committed chunk file
holds, one per member:

``stage, config, member, seed, values`` (every swept value of the configuration), the final
``train_loss, train_acc, val_loss, val_acc`` (as ``final_<name>``), ``loss_at_init``, and
``stopped`` / ``stopped_step``: why and when a member stopped before the last step, if it did
(``nonfinite: ...`` when its loss turned non-finite, ``early_stop: ...``, ``pruned: ...``).
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional

from trainlab import interrupts
from trainlab.sweep import lib
from trainlab.sweep.plan import ChunkTask

METRIC_NAMES = ("train_loss", "train_acc", "val_loss", "val_acc")


def train_chunk(task: ChunkTask, device: str = "cpu", progress: Optional[Callable[..., None]] = None,
                callbacks: Optional[list] = None) -> list[dict[str, Any]]:
    """Train the chunk's members as one population; returns one row per member, in member order.

    Raises ``KeyboardInterrupt`` when Ctrl-C cut training short: a partial chunk is never a result.
    """
    cfg = lib.config_from(task.config)
    ds = lib.dataset(cfg)
    members = lib.make_members(cfg, [(mid, seed, vals) for mid, _, seed, vals in task.members])
    seen = interrupts.count()
    arrays, fits = lib.train_members(cfg, ds, members, device, callbacks, progress)
    if any(f.interrupted for f in fits) or interrupts.count() != seen:
        raise KeyboardInterrupt
    stopped: dict[int, tuple[str, int]] = {}
    offset = 0
    for f in fits:
        for k, info in f.frozen.items():
            stopped[offset + k] = (f"nonfinite: {info['message']}", int(info["step"]))
        offset += f.model.K
    for cb in callbacks or []:
        for k, (reason, step) in getattr(cb, "stopped_members", {}).items():
            stopped.setdefault(k, (reason, step))
        for e in getattr(cb, "events", []):  # EarlyStopping
            if e.get("kind") == "stopped":
                stopped.setdefault(e["member"], (f"early_stop: best {e['best']:.4g}", int(e["step"])))
    rows = []
    for j, (mid, cid, seed, _) in enumerate(task.members):
        row: dict[str, Any] = {"stage": task.stage, "config": cid, "member": mid, "seed": seed,
                               "values": task.values[cid], "chunk": task.index}
        for name in METRIC_NAMES:
            if name in arrays:
                row[f"final_{name}"] = _clean(arrays[name][-1, j])
        row["loss_at_init"] = _clean(arrays["train_loss"][0, j])
        reason, step = stopped.get(j, (None, None))
        row["stopped"], row["stopped_step"] = reason, step
        rows.append(row)
    return rows


def _clean(v: Any) -> Any:
    """A float, or ``"nan"`` / ``"inf"`` / ``"-inf"`` as text (JSON has no non-finite numbers)."""
    v = float(v)
    return v if math.isfinite(v) else repr(v)


def die_once_for_tests() -> None:
    """Fault injection for the Ray tests: when ``TRAINLAB_SWEEP_DIE_ONCE`` names a file that does
    not exist yet, create it and kill this worker process (as a crashed node would)."""
    path = os.environ.get("TRAINLAB_SWEEP_DIE_ONCE")
    if not path:
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), 9)
