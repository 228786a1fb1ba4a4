"""kill -9 (and Ctrl-C) during a sweep, then the same command again.

Each sweep runs in a subprocess that stops at a named pause point (``trainlab.faults``: the N-th
``fit``, the N-th committed chunk, the start of the N-th stage) and is killed there (SIGKILL, or
SIGINT: exit 130). Then the same command runs to the end. Checked every time:

- the tables (members.csv, configs.csv) equal an uninterrupted run's, to 1e-6;
- no chunk committed before the kill was trained again: its file is untouched (same inode and
  modification time) and the summary counts it as reused, and exactly the rest as trained;
- nothing temporary is left, and the lock is gone.
"""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from trainlab.cli import run as cli_run

CONFIG = ("run: {name: resume, seed: 0}\ndata: {name: circles, n_train: 100, n_val: 1000}\n"
          "model: {hidden: [6, 3], init: {scheme: normal, std: 0.5}}\ntrain: {steps: 40}\npopulation: {seeds: 2}\n")
CASES = [
    # (name, sweep options, pause point, signal)
    ("grid, killed mid-training", ["--grid", "optim.lr=logspace(-2,0,4)", "--grid", "model.hidden=[4],[8]"],
     "training#4", signal.SIGKILL),
    ("staged, killed at stage 2", ["--stages", "optim.lr=0.03,0.3,1; model.hidden=[4],[8] model.activation=relu,tanh"],
     "sweep_stage#2", signal.SIGKILL),
    ("random, Ctrl-C after a commit", ["--random", "optim.lr=loguniform(1e-2,1)", "--trials", "4"],
     "sweep_committed#2", signal.SIGINT),
]
COMMON = ["--max-memory", "1", "--threads", "1", "--quiet"]


def start(args: list[str], cwd: Path, pause: str | None = None):
    env = {**os.environ, "TRAINLAB_NO_REEXEC": "1", "COLUMNS": "200"}
    release = cwd / ".release"
    if pause:
        env |= {"TRAINLAB_PAUSE_AT": pause, "TRAINLAB_PAUSE_FILE": str(release)}
    p = subprocess.Popen([sys.executable, "-m", "trainlab", *args], cwd=cwd, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    paused, err = threading.Event(), []

    def read() -> None:
        for line in p.stderr:
            err.append(line)
            if "paused at" in line:
                paused.set()
    threading.Thread(target=read, daemon=True).start()
    return p, paused, err


def table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_tables_equal(a: Path, b: Path) -> None:
    for name in ("members.csv", "configs.csv"):
        ta, tb = table(a / name), table(b / name)
        assert len(ta) == len(tb) and list(ta[0]) == list(tb[0]), name
        for ra, rb in zip(ta, tb):
            for k in ra:
                try:
                    x, y = float(ra[k]), float(rb[k])
                except ValueError:
                    assert ra[k] == rb[k], (name, k)
                    continue
                assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-6), (name, k)


@pytest.mark.parametrize("name, options, point, sig", CASES, ids=[c[0] for c in CASES])
def test_kill_and_resume(tmp_path: Path, monkeypatch, name, options, point, sig):
    monkeypatch.setenv("TRAINLAB_NO_REEXEC", "1")
    (tmp_path / "c.yaml").write_text(CONFIG)
    args = ["sweep", "c.yaml", *options, *COMMON]
    monkeypatch.chdir(tmp_path)
    assert cli_run([*args, "--out", "ref"]) == 0  # the uninterrupted run, in this process
    ref_chunks = sorted(p.name for p in (tmp_path / "ref" / "chunks").iterdir() if p.suffix == ".json")

    p, paused, err = start([*args, "--out", "out"], tmp_path, pause=point)
    assert paused.wait(120), "never reached the pause point:\n" + "".join(err)
    if sig == signal.SIGINT:
        os.kill(p.pid, sig)
        (tmp_path / ".release").touch()
        assert p.wait(60) == 130, "".join(err)
        assert "Traceback" not in "".join(err) and "run the same command to resume" in "".join(err)
    else:
        p.kill()
        assert p.wait(60) == -signal.SIGKILL
    chunks = tmp_path / "out" / "chunks"
    before = {q.name: (q.stat().st_ino, q.stat().st_mtime_ns) for q in chunks.glob("*.json")}
    assert 0 < len(before) < len(ref_chunks), (point, sorted(before))
    assert not (tmp_path / "out" / "summary.json").exists()

    time.sleep(0.01)  # a rewritten file would get a later modification time
    r = subprocess.run([sys.executable, "-m", "trainlab", *args, "--out", "out"], cwd=tmp_path, text=True,
                       capture_output=True, env={**os.environ, "TRAINLAB_NO_REEXEC": "1", "COLUMNS": "200"}, timeout=300)
    assert r.returncode == 0, r.stderr
    after = {q.name: (q.stat().st_ino, q.stat().st_mtime_ns) for q in chunks.glob("*.json")}
    assert {k: after[k] for k in before} == before  # committed chunks untouched: never trained again
    assert sorted(after) == ref_chunks
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["chunks"] == {"total": len(ref_chunks), "reused": len(before), "trained": len(ref_chunks) - len(before)}
    assert_tables_equal(tmp_path / "ref", tmp_path / "out")
    leftovers = [q.name for q in [*tmp_path.iterdir(), *(tmp_path / "out").iterdir(), *chunks.iterdir()]
                 if q.name.endswith((".tmp", ".partial", ".lock"))]
    assert leftovers == []
