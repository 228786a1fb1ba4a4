"""The README stays true to the code: every config key and CLI command is documented."""
from __future__ import annotations

from pathlib import Path

import pytest

from trainlab.cli import app
from trainlab.config import VALID_KEYS
from trainlab.members import MEMBER_KEYS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTIONS = {"data", "model", "optim", "regularize", "train", "population", "run", "model.init", "model.bias_init",
            "model.dropout", "optim.schedule"}


@pytest.mark.parametrize("key", [k for k in VALID_KEYS if k not in SECTIONS])
def test_config_key_documented(key):
    assert f"`{key}`" in README, key


@pytest.mark.parametrize("key", list(MEMBER_KEYS))
def test_member_key_documented(key):
    assert f"`{key}`" in README


def test_cli_commands_documented():
    for cmd in app.registered_commands:
        name = cmd.name or cmd.callback.__name__.replace("_", "-")
        assert f"trainlab {name}" in README, name
