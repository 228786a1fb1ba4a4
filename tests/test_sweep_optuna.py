"""Optuna in population batches: every trial stored with its value; kill -9 and resume repeats no
completed trial, loses none, and asks the cut-short ones again; pruned members frozen with a reason."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trainlab.cli import run as cli_run
from test_sweep_resume import start

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

CONFIG = ("run: {name: opt, seed: 0}\ndata: {name: circles, n_train: 100, n_val: 500}\n"
          "model: {hidden: [6, 3], init: {scheme: normal, std: 0.5}}\ntrain: {steps: 40, eval_every: 10}\n")
ARGS = ["sweep", "c.yaml", "--search", "tpe", "--random", "optim.lr=loguniform(1e-3,1)", "--grid",
        "model.hidden=[4],[6,3]", "--trials", "6", "--batch", "3", "--seeds", "2", "--threads", "1", "--quiet"]


def study_of(folder: Path):
    return optuna.load_study(study_name="trainlab-opt", storage=f"sqlite:///{folder / 'optuna.db'}")


def configs(folder: Path) -> dict[int, dict]:
    with open(folder / "configs.csv", newline="") as f:
        return {int(r["config"]): r for r in csv.DictReader(f)}


def check_complete(folder: Path, n: int) -> list:
    """n complete trials, each with its value = the configuration's median in configs.csv, no trial twice."""
    study = study_of(folder)
    done = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert len(done) == n
    table = configs(folder)
    assert sorted(table) == sorted(t.number for t in done)
    for t in done:
        assert t.value == pytest.approx(float(table[t.number]["val_loss_median"]), rel=1e-12)
        assert json.loads(table[t.number]["model.hidden"]) == json.loads(t.params["model.hidden"])
    with open(folder / "members.csv", newline="") as f:
        members = [(int(r["config"]), int(r["seed"])) for r in csv.DictReader(f)]
    assert len(members) == len(set(members)) == 2 * n
    return done


def test_batches_store_every_trial_with_its_value(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_NO_REEXEC", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(CONFIG)
    assert cli_run([*ARGS, "--out", "out"]) == 0
    done = check_complete(tmp_path / "out", 6)
    batches = sorted((tmp_path / "out" / "chunks").glob("optuna-batch*.json"))
    assert [len(json.loads(b.read_text())["trials"]) for b in batches] == [3, 3]  # asked 3 at a time
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["optuna"]["trials"]["complete"] == 6 and s["mode"] == "optuna"
    best = min(done, key=lambda t: t.value)
    assert s["best"][0]["config"] == best.number
    # the same command again: the study is complete, nothing is asked or trained
    assert cli_run([*ARGS, "--out", "out"]) == 0
    assert len(study_of(tmp_path / "out").get_trials()) == 6


KILLS = [
    # (pause point, what the resume must do)
    ("training#2", "asked_again"),  # the 2nd population in training: its batch is RUNNING, not committed
    ("sweep_committed#1", "told_on_resume"),  # batch 1 committed, killed before its trials were told
]


@pytest.mark.parametrize("point, repair", KILLS)
def test_kill_and_resume_repeats_no_completed_trial(tmp_path: Path, point, repair):
    (tmp_path / "c.yaml").write_text(CONFIG)
    p, paused, err = start([*ARGS, "--out", "out"], tmp_path, pause=point)
    assert paused.wait(120), "".join(err)
    p.kill()
    assert p.wait(60) == -signal.SIGKILL
    study = study_of(tmp_path / "out")
    before = {t.number: (t.state, t.value, dict(t.params)) for t in study.get_trials()}
    running = [n for n, (st, _, _) in before.items() if st == TrialState.RUNNING]
    assert len(running) == 3
    r = subprocess.run([sys.executable, "-m", "trainlab", *ARGS, "--out", "out"], cwd=tmp_path, text=True,
                       capture_output=True, env={**os.environ, "TRAINLAB_NO_REEXEC": "1"}, timeout=300)
    assert r.returncode == 0, r.stderr
    done = check_complete(tmp_path / "out", 6)
    for n, (st, v, _) in before.items():  # what was complete before stays, with its value
        if st == TrialState.COMPLETE:
            assert study_of(tmp_path / "out").trials[n].value == v
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sorted(s["optuna"][repair]) == sorted(running)
    after = study_of(tmp_path / "out").get_trials()
    if repair == "asked_again":  # failed, then asked again with the same parameters
        assert sorted(t.number for t in after if t.state == TrialState.FAIL) == sorted(running)
        retried = {t.user_attrs["trainlab_retry_of"]: t for t in done if "trainlab_retry_of" in t.user_attrs}
        assert sorted(retried) == sorted(running)
        for n, t in retried.items():
            assert t.params == before[n][2]
    else:
        assert not [t for t in after if t.state == TrialState.FAIL] and len(after) == 6


def test_pruned_members_are_frozen_with_the_reason(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_NO_REEXEC", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(CONFIG)
    args = ["sweep", "c.yaml", "--search", "random", "--random", "optim.lr=loguniform(1e-4,1)", "--trials", "16",
            "--batch", "8", "--pruner", "median", "--seeds", "2", "--threads", "1", "--quiet", "--out", "out"]
    assert cli_run(args) == 0
    study = study_of(tmp_path / "out")
    pruned = {t.number for t in study.get_trials() if t.state == TrialState.PRUNED}
    assert pruned, "the median pruner stopped no trial of the second batch"
    with open(tmp_path / "out" / "members.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if int(r["config"]) in pruned:
            assert r["stopped"].startswith("pruned: median pruner at step") and int(r["stopped_step"]) < 40
        else:
            assert r["stopped"] == ""
