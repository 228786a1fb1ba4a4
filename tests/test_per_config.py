"""`trainlab train` with a grid: results per configuration (over its seeds), best first, ties marked.

The tie rule is tested by flipping it: the same configurations with numbers changed so that the
paired difference from the best moves away from 0 (or back).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from trainlab.per_config import config_rows, configs_csv, default_metric
from trainlab.stats import paired_difference, summarize

SEEDS = list(range(8))
NOISE = np.array([0.03, -0.02, 0.01, -0.04, 0.02, -0.01, 0.04, -0.03])  # per-seed noise shared by all configs


def rows_for(configs: dict[float, np.ndarray], metric: str = "val_loss") -> list[dict]:
    """Member rows as run_config writes them: id, seed, values, final metrics."""
    rows, i = [], 0
    for lr, vals in configs.items():
        for s, v in zip(SEEDS, vals):
            rows.append({"id": i, "seed": s, "values": {"optim.lr": lr}, "frozen": None, f"final_{metric}": float(v)})
            i += 1
    return rows


BASE = 0.5 + NOISE
CASES = [
    # (name, second config's per-seed values, metric, expect tie)
    ("same noise, tiny shift", BASE + 0.001 * np.array([1, -1, 1, -1, 1, -1, 1, -1]), "val_loss", True),
    ("same noise, consistent shift", BASE + 0.05, "val_loss", False),
    ("flipped: shift half the seeds only", BASE + 0.05 * np.array([1, 0, 1, 0, 1, 0, 1, 0]), "val_loss", True),
    ("accuracy: higher is better, consistent gap", 1 - BASE - 0.05, "val_acc", False),
]


@pytest.mark.parametrize("name, second, metric, tie", CASES, ids=[c[0] for c in CASES])
def test_tie_marking(name, second, metric, tie):
    best_vals = BASE if metric == "val_loss" else 1 - BASE
    rows = rows_for({0.1: second, 0.3: best_vals}, metric)  # the best is listed second: ranking must move it
    table = config_rows(rows, metric)
    assert table[0]["best"] and table[0]["tie"] is None and table[0]["rank"] == 1
    if not tie:  # a clear gap: the better config ranks first although it is listed second
        assert [r["values"]["optim.lr"] for r in table] == [0.3, 0.1]
    assert table[1]["tie"] is tie
    vals = {0.1: second, 0.3: best_vals}
    d = paired_difference(vals[table[1]["values"]["optim.lr"]], vals[table[0]["values"]["optim.lr"]])
    assert table[1]["vs_best"]["median"] == pytest.approx(d["median"])


def test_config_stats_recomputed_from_member_rows():
    rng = np.random.default_rng(0)
    vals = {lr: rng.normal(lr, 0.01, len(SEEDS)) for lr in (0.01, 0.1, 1.0)}
    rows = rows_for(vals)
    table = config_rows(rows, "val_loss")
    for r in table:
        mine = [m["final_val_loss"] for m in rows if m["values"] == r["values"]]
        assert r["final"]["val_loss"] == summarize(mine)
        assert r["seeds"] == SEEDS and len(r["members"]) == len(SEEDS)
    assert [r["values"]["optim.lr"] for r in table] == [0.01, 0.1, 1.0]
    text = configs_csv(table)
    back = list(csv.DictReader(text.splitlines()))
    assert [float(b["val_loss_median"]) for b in back] == [r["final"]["val_loss"]["median"] for r in table]


def test_nonfinite_config_ranks_last_and_unpaired_seeds_give_no_tie():
    rows = rows_for({0.1: BASE, 10.0: np.full(8, np.nan)})
    rows += [{"id": 99, "seed": 0, "values": {"optim.lr": 0.5}, "final_val_loss": 0.1}]  # one seed only
    table = config_rows(rows, "val_loss")
    assert table[-1]["values"] == {"optim.lr": 10.0} and table[-1]["final"]["val_loss"]["median"] is None
    assert table[0]["values"] == {"optim.lr": 0.5}  # best median, but one seed: no interval
    assert all(r["tie"] is None for r in table)
    assert default_metric(rows) == "val_loss" and default_metric([{"final_train_loss": 1.0}]) == "train_loss"


def test_train_run_breaks_results_down_per_config(tmp_path: Path, capsys, monkeypatch):
    """`trainlab train` on a grid: per-config rows in summary.json (schema-valid), configs.csv, the
    printed table and the report."""
    from trainlab.cli import run
    from trainlab.runs.schema import validate_summary

    monkeypatch.setenv("TRAINLAB_NO_REEXEC", "1")  # in-process: no restart with malloc variables
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: {name: circles, n_train: 100, n_val: 300}\ntrain: {steps: 40, eval_every: 20}\n"
                   "optim: {lr: 0.1}\npopulation: {seeds: 3, grid: {optim.lr: [0.001, 0.3, 1.0]}}\n")
    rc = run(["train", str(cfg), "--out", str(tmp_path / "out"), "--quiet", "--threads", "1"])
    assert rc == 0
    printed = capsys.readouterr().out
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    validate_summary(s, "train.schema.json")
    assert s["rank_metric"] == "val_loss" and len(s["configs"]) == 3
    meds = [c["final"]["val_loss"]["median"] for c in s["configs"]]
    assert meds == sorted(meds)
    assert s["configs"][-1]["values"] == {"optim.lr": 0.001}  # 40 steps at lr 0.001 barely move
    assert "3 configurations x 3 seed(s)" in printed and "best" in printed
    back = list(csv.DictReader((tmp_path / "out" / "configs.csv").read_text().splitlines()))
    assert [float(b["optim.lr"]) for b in back] == [c["values"]["optim.lr"] for c in s["configs"]]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Per configuration, best first" in html


@pytest.mark.parametrize("sizes", [[0, 1, 2, 3, 4], [8] * 50, [5, 16, 5, 16, 31]])
def test_summarize_many_equals_summarize(sizes):
    """The batched bootstrap used for thousands of configurations gives summarize's numbers exactly."""
    from trainlab.stats import summarize_many

    rng = np.random.default_rng(len(sizes))
    arrays = [rng.normal(size=n) for n in sizes]
    if sizes[-1] > 3:
        arrays[-1][0] = np.nan  # a non-finite seed is flagged and left out
    assert summarize_many(arrays) == [summarize(a) for a in arrays]
    assert summarize_many(arrays, block_values=64) == [summarize(a) for a in arrays]  # one config a block
