"""Grouping by structure, memory-bounded chunks, and chunking that changes no member's result."""
from __future__ import annotations

import numpy as np
import pytest

from trainlab.config import build_config
from trainlab.runner import chunk_size
from trainlab.sweep import lib
from trainlab.sweep.chunks import train_chunk
from trainlab.sweep.plan import ChunkTask, Stage, group_by_structure, memory_bound, plan_stage
from trainlab.sweep.space import draw_random, expand_grid, parse_axis, parse_dist
from trainlab.sweep.spec import build_spec

BASE = {"data": {"name": "circles", "n_train": 100, "n_val": 1000}, "train": {"steps": 30},
        "model": {"hidden": [6, 3]}, "run": {"memory_budget_mb": 1}}

GROUPS = [
    # (grid, number of structure groups)
    (["optim.lr=0.01,0.1,1", "model.init.std=0.1,1"], 1),  # per-member keys: one population
    (["optim.lr=0.1,1", "model.hidden=[4],[8,8]"], 2),
    (["model.activation=relu,tanh,gelu", "optim.weight_decay=0,0.01"], 3),
    (["train.batch_size=null,32", "optim.name=sgd,adam", "optim.lr=0.1,1"], 4),
]


@pytest.mark.parametrize("grid, n_groups", GROUPS)
def test_grouped_by_structure(grid, n_groups):
    configs = expand_grid([parse_axis(g) for g in grid])
    groups = group_by_structure(configs, list(range(len(configs))))
    assert len(groups) == n_groups
    assert sorted(c for _, ids in groups for c in ids) == list(range(len(configs)))
    tasks = plan_stage(BASE, Stage("grid", configs), seeds=[0, 1])
    for t in tasks:  # one structure per chunk, stated in its config; member keys only in member values
        structs = {lib.config_from(t.config).model.hidden.__repr__()} | {t.config["model"].get("activation", "relu")}
        assert len(structs) == 2
        for _, _, _, vals in t.members:
            assert all(lib.is_member_key(k) for k in vals)
    members = [m for t in tasks for m in t.members]
    assert sorted(m[0] for m in members) == list(range(len(configs) * 2))  # every member once


BUDGETS = [(1, [2] * 5), (2, [6, 4]), (64, [10])]  # (MB, chunk sizes: 3 members fit in 1 MB, 6 in 2 MB; whole configs)


@pytest.mark.parametrize("mb, sizes", BUDGETS)
def test_memory_bounded_whole_config_chunks(mb, sizes):
    base = {**BASE, "run": {"memory_budget_mb": mb}}
    configs = expand_grid([parse_axis("optim.lr=logspace(-2,0,5)")])
    tasks = plan_stage(base, Stage("grid", configs), seeds=[0, 1])
    cap = chunk_size(build_config(base), 100, 2, 2)
    for t in tasks:
        n, fits = memory_bound(t)
        assert n <= fits == cap
        assert len({m[1] for m in t.members}) * 2 == n  # whole configurations
    assert [t.n_members for t in tasks] == sizes


def test_chunk_keys_ignore_threads_and_device_but_not_values():
    configs = expand_grid([parse_axis("optim.lr=0.1,1")])
    a = plan_stage(BASE, Stage("grid", configs), [0, 1])
    b = plan_stage({**BASE, "run": {**BASE["run"], "threads": 2, "device": "cpu"}}, Stage("grid", configs), [0, 1])
    c = plan_stage(BASE, Stage("grid", [{"optim.lr": 0.2}, {"optim.lr": 1}]), [0, 1])
    assert [t.key for t in a] == [t.key for t in b]
    assert a[0].key != c[0].key
    assert ChunkTask.from_json(a[0].to_json()).key == a[0].key


def test_chunking_changes_no_member_result():
    """The same members trained in one chunk or in chunks of 2 give the same rows (float tolerance)."""
    configs = expand_grid([parse_axis("optim.lr=0.03,0.3,1"), parse_axis("model.init.std=0.3,1")])
    small = plan_stage(BASE, Stage("grid", configs), [0, 1])
    big = plan_stage({**BASE, "run": {"memory_budget_mb": 64}}, Stage("grid", configs), [0, 1])
    assert len(small) == 6 and len(big) == 1
    rows_small = [r for t in small for r in train_chunk(t)]
    rows_big = train_chunk(big[0])
    for a, b in zip(rows_small, rows_big):
        assert (a["member"], a["config"], a["seed"], a["values"]) == (b["member"], b["config"], b["seed"], b["values"])
        for k in ("final_train_loss", "final_val_loss", "final_val_acc", "loss_at_init"):
            assert a[k] == pytest.approx(b[k], abs=1e-6)


def test_100k_member_sweep_is_planned_within_the_memory_bound():
    """25,000 random configurations x 4 seeds under a 16 MB budget: every chunk fits, every member is
    planned exactly once. (benchmarks/sweep.py --members 100000 trains it and reports peak RSS.)"""
    cfg = build_config({"data": {"name": "circles", "n_train": 100, "n_val": 200}, "train": {"steps": 5},
                        "run": {"memory_budget_mb": 16}})
    spec = build_spec(cfg, random=["optim.lr=loguniform(1e-3,1)", "model.init.std=loguniform(0.05,2)"],
                      trials=25_000, seeds=4)
    tasks = plan_stage(spec.base, Stage("random", draw_random(spec.random, 25_000, 0)), spec.seeds)
    cap = chunk_size(lib.config_from(tasks[0].config), 100, 2, 2)
    assert all(t.n_members <= cap for t in tasks) and len(tasks) >= 100_000 // cap
    ids = np.fromiter((m[0] for t in tasks for m in t.members), dtype=np.int64)
    assert ids.size == 100_000 and np.array_equal(np.sort(ids), np.arange(100_000))
