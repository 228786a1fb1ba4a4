"""Run both searches on every data set (``searches``), then gather their results (``summary``).

Every sweep goes into ``sweeps/<data set>/<search>/`` inside the study's folder, with the study's
threads and device. One progress task covers all of them, counted in member-steps. What the
figures need, each stage's configurations with their intervals, goes to ``searches.json``.
"""
from __future__ import annotations

from typing import Any

from trainlab.experiments.lr_search.searches import (SEARCHES, StudyProgress, read_members, run_search, specs,
                                                      total_work)
from trainlab.experiments.lr_search.settings import LrSearchSettings
from trainlab.experiments.lr_search.summary import dataset_block, results, stage_tables
from trainlab.experiments.study import StudyRun
from trainlab.runs.io import write_json_atomic


def figure_rows(table: list[dict]) -> list[dict[str, Any]]:
    """A stage's configurations for the figures: values, val loss and accuracy over seeds, rank, tie."""
    return [{"values": r["values"], "rank": r["rank"], "tie": r["tie"], "val_loss": r["final"].get("val_loss"),
             "val_acc": r["final"].get("val_acc")} for r in table]


def run(st: LrSearchSettings, sr: StudyRun) -> dict[str, Any]:
    device = sr.device.type
    with sr.timed("plan"):
        plans = {name: specs(st, name, sr.threads, device) for name in st.datasets}
    advance = sr.task(f"lr-search: {len(st.datasets)} data sets x 2 searches x {st.seeds} seeds",
                      total_work([s for p in plans.values() for s in p.values()]))
    progress = StudyProgress(advance)
    blocks, figures = [], {}
    counts = {"members": 0, "configs": 0, "chunks": 0}
    for name, plan in plans.items():
        done: dict[str, tuple[dict, list[dict]]] = {}
        for search in SEARCHES:
            out = sr.folder / "sweeps" / name / search
            with sr.timed("sweeps"):
                sweep = run_search(plan[search], out, device, progress)
            with sr.timed("tables"):
                rows = read_members(out, sweep["swept"])
            done[search] = (sweep, rows)
            counts = {"members": counts["members"] + sweep["members"], "configs": counts["configs"] + sweep["configs"],
                      "chunks": counts["chunks"] + sweep["chunks"]["total"]}
        with sr.timed("tables"):
            blocks.append(dataset_block(name, plan["staged"].base, *done["staged"], *done["coarse-to-fine"]))
            figures[name] = {search: {stage: figure_rows(t) for stage, t in stage_tables(done[search][1]).items()}
                             for search in SEARCHES}
    write_json_atomic(sr.folder / "searches.json", figures)
    sr.provenance["sweeps"] = "trainlab.sweep (local backend), one folder per search under sweeps/"
    return results(st, blocks, counts)
