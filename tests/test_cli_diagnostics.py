"""`trainlab doctor` and `trainlab lr-find` from configs, end to end, with their exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from trainlab.config import build_config
from trainlab.torch_setup import TORCH_OPTIMIZERS, setup_from_config


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "trainlab.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("overrides,rc,codes", [
    ([], 0, set()),  # the lab's healthy set-up: no error
    (["data.scale=1e30"], 1, {"nonfinite_loss", "unnormalized_inputs"}),  # overflowing inputs: an error, exit 1
    (["model.init.std=10"], 0, {"loss_at_init"}),  # huge init: a warning
])
def test_doctor_from_config(tmp_path, overrides, rc, codes):
    r = _cli("doctor", "examples/circles.yaml", *overrides, "--steps", "30", "--json", str(tmp_path / "d.json"))
    assert r.returncode == rc, r.stdout + r.stderr
    found = {f["code"] for f in json.loads((tmp_path / "d.json").read_text())["findings"]}
    assert codes <= found, found
    if rc == 0 and not codes:
        assert not [f for f in json.loads((tmp_path / "d.json").read_text())["findings"] if f["severity"] == "error"]


def test_doctor_bad_config_exit_2():
    r = _cli("doctor", "examples/circles.yaml", "optim.lrr=1")
    assert r.returncode == 2 and "did you mean 'optim.lr'" in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_lr_find_from_config(tmp_path):
    r = _cli("lr-find", "examples/moons.yaml", "--out", str(tmp_path), "--steps", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((tmp_path / "lr_find.json").read_text())
    assert 1e-4 < res["suggestion"] < 10
    assert (tmp_path / "lr_find.png").stat().st_size > 5000


@pytest.mark.parametrize("name", list(TORCH_OPTIMIZERS))
def test_setup_from_config_builds_member_zero(name):
    cfg = build_config({}, [f"optim.name={name}", "optim.lr=0.01", "data.n_val=10", "model.init.std=0.5"])
    model, opt, batches, loss_fn = setup_from_config(cfg)
    assert isinstance(model, torch.nn.Sequential) and isinstance(opt, torch.optim.Optimizer)
    x, y = batches[0]
    assert torch.isfinite(loss_fn(model(x), y))
