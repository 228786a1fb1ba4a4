"""Run a sweep end to end: stages -> chunks -> backend -> committed rows -> tables and summary.

Every table is built from the committed chunk files, never from live results, so an uninterrupted
run, a resumed one and one trained on Ray write the same tables. A stage's winner (the best
configuration by the median over seeds of ``--metric``) decides the next stage of a staged or
coarse-to-fine search; since it is computed from committed rows, a resumed sweep picks the same
winner.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from trainlab import faults
from trainlab.per_config import METRICS
from trainlab.sweep import lib, results
from trainlab.sweep.backends import LocalBackend
from trainlab.sweep.folder import SweepFolder
from trainlab.sweep.plan import ChunkTask, Stage, check_values, plan_stage
from trainlab.sweep.progress import SweepProgress
from trainlab.sweep.space import draw_random, expand_grid, fine_values
from trainlab.sweep.spec import COARSE_FRACTION, SweepSpec

SCHEMA_VERSION = 1


def run_sweep(spec: SweepSpec, out: Path, backend: Any = None, force: bool = False,
              progress: Optional[SweepProgress] = None, console: Any = None) -> dict:
    """Run (or resume) the sweep into ``out`` and write its tables; returns the summary.

    The caller claims ``out`` first (``outdir.claim_out``: lock, foreign folders refused).
    """
    t0 = time.perf_counter()
    device = str(lib.pick_device(spec.base.get("run", {}).get("device", "auto")))
    lib.set_threads(spec.base.get("run", {}).get("threads"))
    backend = backend or LocalBackend(device)
    folder = SweepFolder(out, spec.to_json(), force=force, console=console)
    prog = progress or SweepProgress(1, quiet=True)
    prog.set_total(estimate_work(spec))
    runner = _StageRunner(spec, folder, backend, prog)
    if spec.mode == "optuna":
        from trainlab.sweep.optuna_search import run_optuna

        stages, tables, rows, extra = run_optuna(spec, folder, backend, prog, runner, console)
    else:
        stages, tables, rows = runner.run_all()
        extra = {}
    summary = write_results(spec, folder, stages, tables, rows, backend, extra, time.perf_counter() - t0, device)
    return summary


def estimate_work(spec: SweepSpec) -> int:
    """Member-steps of the whole sweep (later stages' sizes are known before their winners)."""
    n = len(spec.seeds)
    steps = spec.steps
    if spec.mode == "grid":
        return len(_grid_configs(spec)) * n * steps
    if spec.mode == "random":
        return int(spec.trials or 0) * n * steps
    if spec.mode == "stages":
        return sum(len(expand_grid(axes)) for axes in spec.stages) * n * steps
    if spec.mode == "coarse_to_fine":
        return len(expand_grid(spec.grid)) * n * max(1, steps // COARSE_FRACTION) + 12 * n * steps
    return int(spec.trials or 0) * n * steps


def _grid_configs(spec: SweepSpec) -> list[dict]:
    combos = expand_grid(spec.grid)
    if not spec.zip:
        return combos
    zipped = [dict(zip([a.key for a in spec.zip], vals)) for vals in zip(*(a.values for a in spec.zip))]
    return [c | z for c in combos for z in zipped]


class _StageRunner:
    """Runs stages: plans chunks, skips committed ones, trains the rest, loads every row back."""

    def __init__(self, spec: SweepSpec, folder: SweepFolder, backend: Any, prog: SweepProgress):
        self.spec, self.folder, self.backend, self.prog = spec, folder, backend, prog

    def run_all(self) -> tuple[list[dict], list[list[dict]], list[dict]]:
        spec = self.spec
        stages, tables, rows = [], [], []

        def one(stage: Stage) -> list[dict]:
            r = self.run_stage(stage)
            table = results.stage_configs(r, spec.metric)
            keys = list(dict.fromkeys(k for c in stage.configs for k in c))
            steps = int(stage.fixed.get("train.steps", spec.steps))
            stages.append(results.stage_summary(stage.name, stage.title, keys, stage.fixed, steps, table, spec.metric))
            tables.append(table)
            rows.extend(r)
            return table

        if spec.mode == "grid":
            one(Stage("grid", _grid_configs(spec), title="grid"))
        elif spec.mode == "random":
            seed = int(spec.base.get("run", {}).get("seed", 0))
            one(Stage("random", draw_random(spec.random, int(spec.trials or 0), seed),
                      title=f"random: {spec.trials} trials"))
        elif spec.mode == "stages":
            fixed: dict[str, Any] = {}
            for i, axes in enumerate(spec.stages, start=1):
                title = f"stage {i}: " + ", ".join(a.key for a in axes)
                table = one(Stage(f"stage{i}", expand_grid(axes), dict(fixed), title))
                fixed |= table[0]["values"] if table else {}
        elif spec.mode == "coarse_to_fine":
            key = spec.coarse_to_fine
            coarse_steps = max(1, spec.steps // COARSE_FRACTION)
            table = one(Stage("coarse", expand_grid(spec.grid), {"train.steps": coarse_steps},
                              f"coarse: {key} at {coarse_steps} steps"))
            best = table[0]["values"]
            coarse_vals = next(a.values for a in spec.grid if a.key == key)
            fine = fine_values(list(coarse_vals), best[key])
            others = {k: v for k, v in best.items() if k != key}
            one(Stage("fine", [{key: v} for v in fine], others,
                      f"fine: {len(fine)} log-spaced {key} around {best[key]:.4g} at {spec.steps} steps"))
        return stages, tables, rows

    def run_stage(self, stage: Stage, callbacks_for: Optional[Callable[[ChunkTask], list]] = None,
                  eval_final_only: bool = True) -> list[dict]:
        """Train a stage's missing chunks and return all its member rows, in plan order."""
        faults.pause_point("sweep_stage")
        if stage.name != "random":  # random draws were checked at their bounds (check_spec)
            check_values(self.spec.base, stage.configs, stage.fixed)
        tasks = plan_stage(self.spec.base, stage, self.spec.seeds, eval_final_only)
        pending = self.folder.pending(tasks)
        done_keys = {t.key for t in tasks} - {t.key for t in pending}
        steps = tasks[0].steps if tasks else 1
        self.prog.set_stage(stage.name, steps)
        best = RunningBest(self.spec.metric)
        for t in tasks:
            if t.key in done_keys:
                self.prog.reused(t.n_members * t.steps)
                best.add(self.folder.load(t))
        self.prog.set_best(best.text())

        def commit(task: ChunkTask, rows: list[dict]) -> None:
            self.folder.commit(task, rows)
            best.add(rows)
            self.prog.set_best(best.text())

        self.backend.run(pending, commit, self.prog, callbacks_for)
        return [r for t in tasks for r in self.folder.load(t)]  # the committed files are the results


class RunningBest:
    """The best configuration so far, for the progress bar: the plain median over the seeds seen
    (no bootstrap; it updates at every commit), recomputed only for the configurations a chunk touched."""

    def __init__(self, metric: str):
        self.metric, self.sign = metric, (-1.0 if METRICS[metric] == "max" else 1.0)
        self.values: dict[Any, tuple[dict, list[float]]] = {}
        self.best: Optional[tuple[float, Any]] = None

    def add(self, rows: list[dict]) -> None:
        touched = set()
        for r in rows:
            v = r.get(f"final_{self.metric}")
            self.values.setdefault(r["config"], (r["values"], []))[1].append(
                float(v) if isinstance(v, (int, float)) else np.nan)
            touched.add(r["config"])
        for c in touched:
            arr = np.asarray(self.values[c][1])
            arr = arr[np.isfinite(arr)]
            if arr.size and (self.best is None or self.sign * float(np.median(arr)) < self.best[0]
                             or self.best[1] == c):
                self.best = (self.sign * float(np.median(arr)), c)

    def text(self) -> str:
        if self.best is None:
            return "-"
        med, c = self.best
        row = {"values": self.values[c][0], "final": {self.metric: {"median": self.sign * med}}}
        return results.best_text(row, self.metric)


def write_results(spec: SweepSpec, folder: SweepFolder, stages: list[dict], tables: list[list[dict]],
                  rows: list[dict], backend: Any, extra: dict, seconds: float, device: str) -> dict:
    """members.csv, configs.csv (+ Parquet), summary.json (last: it marks the sweep finished)."""
    keys = spec.swept_keys()
    for r in rows:  # keys set by a stage's winners or the coarse-to-fine fixed values still show
        keys += [k for k in r["values"] if k not in keys]
    texts = {"members": results.members_csv(rows, keys),
             "configs": results.csv_text(results.config_records(tables, keys))}
    files = []
    for name, text in texts.items():
        folder.write_text(f"{name}.csv", text)
        files.append(f"{name}.csv")
    for name, text in texts.items():
        data = results.parquet_bytes(text)
        if data is not None:
            folder.write_bytes(f"{name}.parquet", data)
            files.append(f"{name}.parquet")
    final = tables[-1] if tables else []
    summary = {
        "schema_version": SCHEMA_VERSION, "experiment": "sweep",
        "name": spec.base.get("run", {}).get("name", "sweep"), "status": "ok", "mode": spec.mode,
        "metric": spec.metric, "goal": METRICS[spec.metric], "swept": keys, "seeds": spec.seeds,
        "configs": sum(len(t) for t in tables), "members": len(rows), "stages": stages,
        "best": [_best_entry(r) for r in final[:10]],
        "chunks": {"total": folder.reused + folder.trained, "reused": folder.reused, "trained": folder.trained},
        "backend": getattr(backend, "name", "local"), "files": files, **extra,
        "seconds": seconds, "provenance": lib.provenance(device),
    }
    folder.write_json("summary.json", summary)
    return summary


def _best_entry(row: dict) -> dict:
    return {"stage": row.get("stage"), "config": row["config"], "rank": row["rank"], "values": row["values"],
            "final": row["final"], "vs_best": row.get("vs_best"), "tie": row.get("tie"), "frozen": row["frozen"]}
