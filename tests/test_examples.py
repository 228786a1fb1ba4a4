"""The example configs run end to end from the command line and learn."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _train(config, out, *overrides):
    r = subprocess.run([sys.executable, "-m", "trainlab.cli", "train", config, *overrides, "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads((out / "summary.json").read_text()), r.stdout


def test_circles_example_reaches_95_percent(tmp_path):
    summary, stdout = _train("examples/circles.yaml", tmp_path / "circles")
    assert summary["final"]["val_acc"]["median"] >= 0.95, summary["final"]["val_acc"]
    assert summary["members"] == 8 and abs(summary["loss_at_init"]["median"] - 0.693) < 0.1
    assert "val_acc" in stdout and (tmp_path / "circles" / "report.html").is_file()
    for name in ("config.yaml", "metrics.npz", "members.json", "weights.safetensors", "loss_curves.png"):
        assert (tmp_path / "circles" / name).is_file(), name


@pytest.mark.parametrize("config,overrides,min_acc", [
    ("examples/moons.yaml", ["train.steps=600"], 0.9),
    ("examples/gaussians5.yaml", ["train.steps=300"], 0.9),
])
def test_other_examples_learn(tmp_path, config, overrides, min_acc):
    summary, _ = _train(config, tmp_path / "run", *overrides)
    assert summary["final"]["val_acc"]["median"] >= min_acc
