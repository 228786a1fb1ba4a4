"""Ray backend on a local Ray instance (``ray.init(num_cpus=2)``): the same tables as the local
backend for the same seeds, and a task whose worker dies is retried with nothing lost or counted twice."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from test_sweep_resume import assert_tables_equal
from trainlab.config import build_config
from trainlab.sweep.backends import LocalBackend, RayBackend
from trainlab.sweep.run import run_sweep
from trainlab.sweep.spec import build_spec

ray = pytest.importorskip("ray")

RAW = {"run": {"name": "ray", "memory_budget_mb": 1, "threads": 1}, "data": {"name": "circles", "n_train": 100,
                                                                              "n_val": 1000},
       "model": {"init": {"scheme": "normal", "std": 0.5}}, "train": {"steps": 40}}
GRID = ["optim.lr=logspace(-2,0,3)", "model.hidden=[4],[6,3]"]


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory):
    marker = tmp_path_factory.mktemp("ray") / "died"
    marker.touch()  # exists: no worker dies until a test removes it
    old = os.environ.get("TRAINLAB_SWEEP_DIE_ONCE")
    os.environ["TRAINLAB_SWEEP_DIE_ONCE"] = str(marker)  # workers inherit the environment at ray.init
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield marker
    ray.shutdown()
    if old is None:
        os.environ.pop("TRAINLAB_SWEEP_DIE_ONCE", None)
    else:
        os.environ["TRAINLAB_SWEEP_DIE_ONCE"] = old


def sweep(out: Path, backend) -> dict:
    spec = build_spec(build_config(RAW), grid=GRID, seeds=2)
    return run_sweep(spec, out, backend)


def test_ray_tables_equal_local(tmp_path: Path, ray_instance):
    local = sweep(tmp_path / "local", LocalBackend("cpu"))
    remote = sweep(tmp_path / "ray", RayBackend())
    assert remote["backend"] == "ray" and local["chunks"]["total"] == remote["chunks"]["total"] >= 4
    assert_tables_equal(tmp_path / "local", tmp_path / "ray")


def test_killed_task_is_retried_nothing_lost_or_counted_twice(tmp_path: Path, ray_instance):
    ray_instance.unlink()  # the next task's worker kills itself once
    s = sweep(tmp_path / "ray", RayBackend())
    assert ray_instance.exists(), "no worker died: the fault was not injected"
    n = s["chunks"]["total"]
    assert n >= 4 and s["chunks"] == {"total": n, "reused": 0, "trained": n}
    with open(tmp_path / "ray" / "members.csv", newline="") as f:
        members = [int(r["member"]) for r in csv.DictReader(f)]
    assert sorted(members) == list(range(12))
    sweep(tmp_path / "local", LocalBackend("cpu"))
    assert_tables_equal(tmp_path / "local", tmp_path / "ray")
    assert json.loads((tmp_path / "ray" / "summary.json").read_text())["members"] == 12
