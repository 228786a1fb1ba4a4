"""Configs: defaults, overrides, and every bad-config case gives its message and exit code 2."""
from __future__ import annotations

import subprocess
import sys

import pytest

from trainlab.config import build_config, load_config
from trainlab.errors import UsageError
from trainlab.members import expand_members


def test_defaults_and_overrides():
    cfg = build_config({}, ["optim.lr=0.05", "model.init.std=0.3", "model.hidden=[8, 4]"])
    assert cfg.optim.lr == 0.05 and cfg.model.init.std == 0.3 and cfg.model.hidden == [8, 4]
    assert cfg.model.init.scale() == 0.3


def test_population_grid_and_zip_members():
    cfg = build_config({"population": {"seeds": 3, "grid": {"model.init.std": [0.1, 1.0], "optim.lr": [0.1, 0.2]}}})
    members = expand_members(cfg)
    assert len(members) == 12 and [m.id for m in members] == list(range(12))
    assert members[0].values == {"model.init.std": 0.1, "optim.lr": 0.1} and members[0].seed == 0
    assert members[4].values == {"model.init.std": 0.1, "optim.lr": 0.2} and members[4].seed == 1
    z = build_config({"population": {"seeds": 2, "zip": {"optim.lr": [0.1, 0.2], "optim.momentum": [0.0, 0.9]}}})
    assert [m.values for m in expand_members(z)][::2] == [{"optim.lr": 0.1, "optim.momentum": 0.0},
                                                         {"optim.lr": 0.2, "optim.momentum": 0.9}]


# (overrides, words the one-line message must contain)
BAD = [
    (["optim.lrr=0.1"], ["unknown config key 'optim.lrr'", "did you mean 'optim.lr'"]),
    (["modle.hidden=[3]"], ["unknown config key 'modle'", "did you mean 'model'"]),
    (["optim.lr=fast"], ["optim.lr", "fast"]),
    (["optim.lr=0"], ["optim.lr", "greater than 0"]),
    (["optim.lr=-1"], ["optim.lr", "greater than 0"]),
    (["model.init.std=-0.1"], ["model.init.std", ">= 0"]),
    (["model.dropout.hidden=1.0"], ["model.dropout.hidden", "less than 1"]),
    (["model.dropout.input=-0.2"], ["model.dropout.input", "greater than or equal to 0"]),
    (["model.hidden=[6, 0]"], ["model.hidden", "width must be >= 1"]),
    (["model.activation=relux"], ["unknown activation 'relux'", "did you mean 'relu'"]),
    (["model.init.scheme=xavier"], ["unknown init scheme 'xavier'", "xavier_normal"]),
    (["optim.name=adamm"], ["unknown optimizer 'adamm'", "did you mean 'adam'"]),
    (["train.steps=0"], ["train.steps", "greater than 0"]),
    (["population.grid.model.hidden=[[3], [4]]"], ["cannot vary per member", "structure"]),
    (["population.grid.optim.lr=[0.1, -1]"], ["optim.lr=-1", "greater than 0"]),
    (["population.seeds=0"], ["population.seeds", "greater than 0"]),
]


@pytest.mark.parametrize("overrides,words", BAD)
def test_bad_config_message(overrides, words):
    with pytest.raises(UsageError) as e:
        build_config({}, overrides)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("optim: {lr: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_config(p)
    p.write_text("- a list\n")
    with pytest.raises(UsageError, match="mapping"):
        load_config(p)
    with pytest.raises(UsageError, match="not found"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("args,words", [
    (["train", "examples/circles.yaml", "optim.lrr=0.1"], ["did you mean 'optim.lr'"]),
    (["train", "examples/circles.yaml", "model.dropout.hidden=1.5"], ["model.dropout.hidden"]),
    (["train", "examples/circles.yaml", "model.hidden=[0]"], ["width"]),
    (["train", "examples/circles.yaml", "--device", "tpu"], ["--device"]),
    (["train", "nope.yaml"], ["not found"]),
    (["train", "examples/circles.yaml", "noequals"], ["key=value"]),
])
def test_cli_bad_config_exit_2(args, words):
    r = subprocess.run([sys.executable, "-m", "trainlab.cli", *args, "--out", "/tmp/trainlab-never"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
