"""Run folders: everything a run produced, written atomically, readable without live objects.

A run folder holds:

- ``config.yaml``: the full resolved config;
- ``metrics.npz``: per evaluation (rows) and member (columns) arrays: ``steps``, ``train_loss``,
  ``train_acc``, ``val_loss``, ``val_acc``; and per evaluation, member and layer
  (``trainlab.norms``): ``grad_norm``, ``weight_norm``, ``bias_norm``, ``update_ratio``
  (loaded with ``allow_pickle=False``);
- ``members.json``: the members table: id, seed, per-member values, final metrics, frozen status;
- ``weights.safetensors``: the final population tensors (K on the first axis);
- ``summary.json``: machine-readable results with ``schema_version``.

Loading a folder back gives the same numbers (a test checks it).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save

from trainlab.errors import UsageError
from trainlab.runs.io import read_json, write_bytes_atomic, write_json_atomic, write_text_atomic

SCHEMA_VERSION = 1


def save_metrics(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    write_bytes_atomic(Path(folder) / "metrics.npz", buf.getvalue())


def load_metrics(folder: Path) -> dict[str, np.ndarray]:
    path = Path(folder) / "metrics.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read metrics {path}: {e}") from None


def save_weights(folder: Path, tensors: dict[str, torch.Tensor], name: str = "weights.safetensors") -> None:
    write_bytes_atomic(Path(folder) / name, save({k: v.contiguous() for k, v in tensors.items()}))


def load_weights(folder: Path, name: str = "weights.safetensors") -> dict[str, torch.Tensor]:
    path = Path(folder) / name
    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own error types on corrupt files
        raise UsageError(f"cannot read weights {path}: {e}") from None


def metrics_table(arrays: dict[str, np.ndarray], member_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The metrics as a tidy table: one row per (step, member); the per-layer norms are left out."""
    steps = arrays["steps"]
    names = [k for k in arrays if k != "steps" and np.ndim(arrays[k]) == 2]
    k = arrays[names[0]].shape[1] if names else 0
    ids = member_ids or list(range(k))
    rows = []
    for i, s in enumerate(steps.tolist()):
        for j in range(k):
            rows.append({"step": s, "member": ids[j]} | {n: float(arrays[n][i, j]) for n in names})
    return rows


@dataclass
class RunFolder:
    """A run folder on disk, loaded back."""

    path: Path
    config: dict
    metrics: dict[str, np.ndarray]
    members: list[dict]
    summary: dict

    @classmethod
    def load(cls, path: str | Path) -> "RunFolder":
        p = Path(path)
        if not (p / "summary.json").is_file():
            raise UsageError(f"{p} is not a run folder (no summary.json)")
        cfg = yaml.safe_load((p / "config.yaml").read_text()) if (p / "config.yaml").is_file() else {}
        metrics = load_metrics(p) if (p / "metrics.npz").is_file() else {}
        members = read_json(p / "members.json") if (p / "members.json").is_file() else []
        return cls(p, cfg, metrics, members, read_json(p / "summary.json"))

    def weights(self) -> dict[str, torch.Tensor]:
        return load_weights(self.path)


def write_run(folder: Path, config_yaml: str, arrays: dict[str, np.ndarray], members: list[dict],
              summary: dict, weights: dict[str, torch.Tensor] | None) -> None:
    """Write every file of a run folder (each atomically); summary.json last, marking completion."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "config.yaml", config_yaml)
    save_metrics(folder, arrays)
    write_json_atomic(folder / "members.json", members)
    if weights is not None:
        save_weights(folder, weights)
    write_json_atomic(folder / "summary.json", {"schema_version": SCHEMA_VERSION} | summary)
