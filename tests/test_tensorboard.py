"""--tensorboard writes real event files: scalars per member and per-layer histograms."""
from __future__ import annotations

import pytest

from trainlab.config import build_config
from trainlab.runner import run_config

pytest.importorskip("tensorboard", reason="tensorboard is an optional extra (pip install 'trainlab[tensorboard]')")


def _tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(folder), size_guidance={"histograms": 0, "scalars": 0})
    ea.Reload()
    return ea


def test_train_tensorboard_events(tmp_path):
    cfg = build_config({}, ["data.n_val=300", "train.steps=30", "train.eval_every=10", "population.seeds=3",
                            "model.init.std=0.5"])
    run_config(cfg, tmp_path / "run", tensorboard=True)
    logs = list((tmp_path / "run" / "tensorboard").iterdir())
    assert len(logs) == 1
    ea = _tags(logs[0])
    scalars = ea.Tags()["scalars"]
    assert {f"member_{i}/{m}" for i in range(3) for m in ("train_loss", "val_acc")} <= set(scalars)
    assert [e.step for e in ea.Scalars("member_2/val_loss")] == [0, 10, 20, 30]
    assert {"layer0/activation", "layer1/activation", "layer0/weight_grad", "layer2/weight_grad"} <= set(ea.Tags()["histograms"])


def test_export_metrics_from_store(tmp_path):
    from trainlab.tensorboard import export_metrics

    cfg = build_config({}, ["data.n_val=100", "train.steps=20", "train.eval_every=10", "population.seeds=2"])
    run_config(cfg, tmp_path / "run")
    ea = _tags(export_metrics(tmp_path / "run"))
    assert "member_1/train_acc" in ea.Tags()["scalars"]


def test_study_curves_export(tmp_path):
    import numpy as np

    from trainlab.tensorboard import export_study_curves

    np.savez(tmp_path / "curves.npz", steps=np.array([0, 10, 20]), val_loss=np.ones((3, 4)), sigma=np.arange(4.0),
             lr=np.array([0.1, 0.1, 0.05]))
    ea = _tags(export_study_curves(tmp_path))
    tags = set(ea.Tags()["scalars"])
    assert {f"curves/val_loss/member_{j}" for j in range(4)} | {"curves/lr"} <= tags
    assert not any("sigma" in t for t in tags)  # per-member constants are not curves
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export_study_curves(empty) is None
