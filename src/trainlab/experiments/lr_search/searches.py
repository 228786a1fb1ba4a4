"""The study's two searches per data set, run by ``trainlab.sweep`` (not re-implemented here).

- **staged**: ``build_spec(stages=...)``: the lr grid, then depth x activation, then the optimizer;
  the sweep fixes each stage's winner (best median final val loss over seeds) for the next stage;
- **coarse to fine**: ``build_spec(grid=[lr grid], coarse_to_fine="optim.lr")``: the lr grid at a
  tenth of the steps, then 12 log-spaced lrs around the coarse winner at the full steps.

Each sweep writes its own folder (``sweeps/<data set>/<search>/``: ``sweep.json``, ``chunks/``,
``members.csv``, ``configs.csv``, ``summary.json``), so ``trainlab sweep``'s tables and
``trainlab report`` work on it. The study reads back the sweep's summary (stages, fixed values,
winners) and its ``members.csv`` (per-seed finals, for the paired comparisons).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Callable, Optional

from trainlab.config import build_config
from trainlab.experiments.lr_search.settings import LrSearchSettings
from trainlab.sweep import SweepSpec, build_spec, run_sweep
from trainlab.sweep.backends import LocalBackend
from trainlab.sweep.run import estimate_work

SEARCHES = ("staged", "coarse-to-fine")
METRIC = "val_loss"  # the sweep's default: the median over seeds of the final validation loss


def specs(st: LrSearchSettings, name: str, threads: Optional[int], device: str) -> dict[str, SweepSpec]:
    """The two sweeps of data set ``name``, checked by the sweep package (a bad value is a UsageError)."""
    cfg = build_config(st.base_raw(name, threads, device))
    return {"staged": build_spec(cfg, seeds=st.seeds, stages=st.stages_text(), metric=METRIC),
            "coarse-to-fine": build_spec(cfg, seeds=st.seeds, grid=[st.lr_axis()], coarse_to_fine="optim.lr",
                                         metric=METRIC)}


class StudyProgress:
    """The sweep's progress interface (member-steps) on the study's one progress task."""

    def __init__(self, advance: Callable[..., None]):
        self._advance = advance

    def set_total(self, total: int) -> None:  # the study's task already holds every sweep's total
        pass

    def set_stage(self, name: str, steps: int) -> None:
        pass

    def set_best(self, text: str) -> None:
        pass

    def advance(self, member_steps: int) -> None:
        self._advance(int(member_steps))

    def reused(self, member_steps: int) -> None:
        self._advance(int(member_steps))


def total_work(all_specs: list[SweepSpec]) -> int:
    return sum(estimate_work(s) for s in all_specs)


def run_search(spec: SweepSpec, out: Path, device: str, progress: StudyProgress) -> dict:
    """One sweep into ``out`` (a fresh folder inside the study's own); returns the sweep's summary."""
    return run_sweep(spec, out, LocalBackend(device), progress=progress)


def _cell(text: str) -> Any:
    """A members.csv cell back as a value: number, JSON list, word; empty as None."""
    if text == "":
        return None
    try:
        return float(text) if any(c in text for c in ".eEn") else int(text)
    except ValueError:
        pass
    if text[:1] in "[{":
        return json.loads(text)
    return text


def read_members(folder: Path, keys: list[str]) -> list[dict[str, Any]]:
    """The sweep's ``members.csv`` rows: stage, config, seed, values (the keys the stage set), finals."""
    out = []
    with open(Path(folder) / "members.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            values = {k: _cell(r[k]) for k in keys if r.get(k, "") != ""}
            finals = {k: _num(v) for k, v in r.items() if k.startswith("final_")}
            out.append({"stage": r["stage"], "config": int(r["config"]), "seed": int(r["seed"]), "values": values,
                        **finals})
    return out


def _num(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        return math.nan
    return v
