"""Run folders: written atomically, loaded back with the same numbers, safetensors weights."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from trainlab.config import build_config
from trainlab.errors import UsageError
from trainlab.nn.population import PopulationMLP
from trainlab.runner import run_config
from trainlab.runs.io import atomic_dir, write_json_atomic
from trainlab.runs.store import RunFolder, metrics_table

SMALL = ["data.n_train=60", "data.n_val=200", "train.steps=40", "train.eval_every=20", "population.seeds=3",
         "model.init.std=0.5"]


def test_run_folder_roundtrip(tmp_path):
    cfg = build_config({}, SMALL)
    res = run_config(cfg, tmp_path / "run")
    rf = RunFolder.load(tmp_path / "run")
    assert rf.summary["schema_version"] == 1 and rf.summary["members"] == 3
    for k, v in res.arrays.items():
        assert np.array_equal(rf.metrics[k], v, equal_nan=True)  # the norms' update_ratio is NaN before step 1
    assert rf.config["optim"]["lr"] == 0.1 and rf.config["train"]["steps"] == 40
    back = PopulationMLP.from_state_dict([2, 6, 3, 2], "relu", rf.weights())
    for a, b in zip(back.parameters(), res.model.parameters()):
        assert torch.equal(a, b)
    assert [m["id"] for m in rf.members] == [0, 1, 2]
    rows = metrics_table(rf.metrics)
    assert len(rows) == 3 * len(rf.metrics["steps"]) and {"step", "member", "val_acc"} <= set(rows[0])
    json.loads((tmp_path / "run" / "summary.json").read_text())  # strict JSON


def test_json_nonfinite_becomes_null(tmp_path):
    write_json_atomic(tmp_path / "x.json", {"a": float("nan"), "b": [1.0, float("inf")]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": [1.0, None]}


def test_atomic_dir_keeps_old_on_failure(tmp_path):
    final = tmp_path / "study"
    with atomic_dir(final) as d:
        (d / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as d:
            (d / "a.txt").write_text("second")
            raise RuntimeError("boom")
    assert (final / "a.txt").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["study"]


def test_corrupt_weights_clear_error(tmp_path):
    cfg = build_config({}, SMALL)
    run_config(cfg, tmp_path / "run")
    (tmp_path / "run" / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(UsageError, match="cannot read weights"):
        RunFolder.load(tmp_path / "run").weights()
    with pytest.raises(UsageError, match="not a run folder"):
        RunFolder.load(tmp_path)
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "run").iterdir())
    assert os.path.exists(tmp_path / "run" / "metrics.npz")
