"""Ctrl-C and kill -9 at chosen moments of `train` and `lab`, then a resume.

Each interrupted command is stopped at a named pause point (``trainlab.faults``: ``training`` or
``writing``) or at a time after start-up, with SIGINT or SIGKILL. Then the same command runs
again. Checked every time:

- SIGINT exits 130 with no traceback;
- nothing cut short is recorded as finished (no summary, or one marked ``interrupted``);
- the resumed run's summary equals an uninterrupted run's, timing fields aside;
- no temporary file, folder or lock is left over.

And two writers to one ``--out`` at once: one wins, the other exits 2 ("in use by PID"), and the
folder holds one consistent run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

from trainlab import interrupts
from trainlab.experiments.registry import StudyOptions

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ["train", str(ROOT / "examples" / "circles.yaml"), "train.steps=100", "data.n_val=500", "--quiet"]
LAB = ["lab", "shallow", "--quick", "--quiet", "--threads", "1"]
TIMING_KEYS = {"seconds", "timing", "provenance"}


class Proc:
    """A trainlab subprocess whose stderr is read in the background (to see pause points)."""

    def __init__(self, args: list[str], cwd: Path, pause: Optional[str] = None) -> None:
        self.release = cwd / f".release-{time.monotonic_ns()}"
        env = {**os.environ, "COLUMNS": "200"}
        if pause:
            env |= {"TRAINLAB_PAUSE_AT": pause, "TRAINLAB_PAUSE_FILE": str(self.release)}
        self.p = subprocess.Popen([sys.executable, "-m", "trainlab", *args], cwd=cwd, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err: list[str] = []
        self.paused = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.err.append(line)
            if "paused at" in line:
                self.paused.set()

    def wait_paused(self, timeout: float = 120) -> None:
        assert self.paused.wait(timeout), "never reached the pause point:\n" + "".join(self.err)

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        self.release.touch()
        assert self.p.stdout is not None
        out = self.p.stdout.read()  # stderr belongs to the reader thread
        self.p.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return self.p.returncode, out + "".join(self.err)


def run(args: list[str], cwd: Path) -> tuple[int, str]:
    return Proc(args, cwd).finish()


def strip(x: Any) -> Any:
    """A summary without its timing fields (at any depth)."""
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in TIMING_KEYS}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def leftovers(folder: Path) -> list[str]:
    """Temporary entries beside or inside ``folder``: partial folders, temp files, locks."""
    found = [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]
    if folder.is_dir():
        found += [str(p.relative_to(folder)) for p in folder.rglob(".*")
                  if p.name.endswith((".tmp", ".partial", ".lock")) or ".old-" in p.name]
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Uninterrupted runs of the train and lab commands used below."""
    base = tmp_path_factory.mktemp("reference")
    for name, args in (("train", TRAIN), ("lab", LAB)):
        rc, out = run([*args, "--out", name], base)
        assert rc == 0, out
    return {"train": base / "train", "lab": base / "lab"}


def same_run(a: Path, b: Path, train: bool) -> None:
    assert strip(summary(a)) == strip(summary(b))
    if train:
        with np.load(a / "metrics.npz") as x, np.load(b / "metrics.npz") as y:
            assert sorted(x.files) == sorted(y.files)
            for k in x.files:
                np.testing.assert_array_equal(x[k], y[k])


POINTS = [("train", "training", signal.SIGINT), ("train", "writing", signal.SIGINT),
          ("train", "training", signal.SIGKILL), ("train", "writing", signal.SIGKILL),
          ("lab", "training", signal.SIGINT), ("lab", "writing", signal.SIGKILL)]


@pytest.mark.parametrize("which,point,sig", POINTS, ids=[f"{w}-{p}-{s.name}" for w, p, s in POINTS])
def test_interrupt_then_resume(which: str, point: str, sig: signal.Signals, tmp_path: Path,
                               reference: dict[str, Path]) -> None:
    args = [*(TRAIN if which == "train" else LAB), "--out", "out"]
    out = tmp_path / "out"
    proc = Proc(args, tmp_path, pause=point)
    proc.wait_paused()
    proc.p.send_signal(sig)
    rc, text = proc.finish()
    assert "Traceback" not in text, text
    if sig == signal.SIGINT:
        assert rc == 130, text
        assert "interrupted" in text
    else:
        assert rc == -signal.SIGKILL
    # nothing cut short looks finished
    if (out / "summary.json").exists():
        assert which == "train" and point == "training" and sig == signal.SIGINT
        assert summary(out)["status"] == "interrupted"
    if sig == signal.SIGINT:
        assert not leftovers(out), leftovers(out)
    partial = [n for n in leftovers(out) if not n.endswith(".lock")]  # a killed writer's temporary folder/files
    # the resume: same command, same folder
    rc, text = run(args, tmp_path)
    assert rc == 0, text
    assert "Traceback" not in text
    assert ("temporary leftover" in text) == bool(partial), (partial, text)  # removed, with a message
    same_run(out, reference[which], train=which == "train")
    assert not leftovers(out), leftovers(out)


def bare_startup_seconds() -> float:
    """How long this interpreter takes to start and stop doing nothing, now (the machine's load
    included): before that, a Ctrl-C is Python's own start-up's, not trainlab's."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - t0


@pytest.mark.parametrize("delay", [0.02, 0.6])
def test_sigint_during_startup(delay: float, tmp_path: Path) -> None:
    """SIGINT from just after Python's own start-up (trainlab's imports: typer, rich, torch) on."""
    wait = bare_startup_seconds() + delay
    proc = Proc([*TRAIN, "--out", "out"], tmp_path)
    time.sleep(wait)
    proc.p.send_signal(signal.SIGINT)
    rc, text = proc.finish()
    assert rc == 130, text
    assert "Traceback" not in text, text
    assert not (tmp_path / "out" / "summary.json").exists() or summary(tmp_path / "out")["status"] == "interrupted"
    assert not leftovers(tmp_path / "out")


def test_two_writers_one_out(tmp_path: Path) -> None:
    first = Proc([*TRAIN, "--out", "out"], tmp_path, pause="training")
    first.wait_paused()
    rc2, text2 = run([*TRAIN, "population.seeds=2", "--out", "out"], tmp_path)
    assert rc2 == 2, text2
    assert f"in use by PID {first.p.pid}" in " ".join(text2.split()), text2
    assert "Traceback" not in text2
    rc1, text1 = first.finish()
    assert rc1 == 0, text1
    out = tmp_path / "out"
    s = summary(out)
    members = json.loads((out / "members.json").read_text())
    with np.load(out / "metrics.npz") as m:
        assert m["train_loss"].shape[1] == len(members) == s["members"] == 8  # the first run's 8, not 2
    assert not leftovers(out)


def test_two_writers_race(tmp_path: Path) -> None:
    """Started together, without pauses: exactly one writes, the other exits 2, the folder is consistent."""
    procs = [Proc([*TRAIN, f"population.seeds={k}", "--out", "out"], tmp_path) for k in (3, 5)]
    results = [p.finish() for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    s = summary(tmp_path / "out")
    members = json.loads((tmp_path / "out" / "members.json").read_text())
    winner = [k for (rc, _), k in zip(results, (3, 5)) if rc == 0][0]
    assert s["members"] == len(members) == winner
    assert not leftovers(tmp_path / "out")


# --- lab all: an interrupted study is recorded as interrupted, and the next run redoes it ------------

def test_lab_index_records_interrupted_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trainlab import lab
    from trainlab.experiments import registry
    from trainlab.experiments.settings import StudySettings

    calls: list[str] = []

    def make(name: str, interrupt: list[bool]):
        def run_study(settings: StudySettings, sr) -> dict:
            calls.append(name)
            if interrupt and interrupt[0]:
                interrupt[0] = False
                interrupts.mark()  # as fit does when Ctrl-C cuts a population short
            return {}
        return run_study

    flag = [True]
    fake = {"a": registry.Study("a", "A", StudySettings, make("a", []), lambda s: "a", order=1),
            "b": registry.Study("b", "B", StudySettings, make("b", flag), lambda s: "b", order=2)}
    monkeypatch.setattr(registry, "STUDIES", fake)
    monkeypatch.setattr(lab, "STUDIES", fake)
    monkeypatch.setattr(lab, "load_all", lambda: None)
    monkeypatch.setattr(lab, "validate_summary", lambda s, schema: None)
    monkeypatch.setattr(lab, "ordered", lambda: list(fake.values()))
    with pytest.raises(KeyboardInterrupt):
        lab.run_lab("all", tmp_path / "lab", StudyOptions(quiet=True))
    index = summary(tmp_path / "lab")
    assert [(s["name"], s["status"]) for s in index["studies"]] == [("a", "ok"), ("b", "interrupted")]
    assert not (tmp_path / "lab" / "b").exists()
    outcomes = lab.run_lab("all", tmp_path / "lab", StudyOptions(quiet=True))
    assert [o.status for o in outcomes] == ["skipped", "ok"]
    assert calls == ["a", "b", "b"]
