"""Shared test set-up: tests import helpers (browser.py) from this folder; plots never open windows."""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import os  # noqa: E402

import pytest  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true no test may skip for want of an optional part (Ray, Optuna, the web server,
    Chromium, the Debian datasets): `make test` installs them all, so a skip there is a failure.
    A test whose skip is about the platform, not a missing part, carries ``allow_skip_in_ci``."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("allow_skip_in_ci") is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every optional part must be installed: {reason}"


@pytest.fixture(scope="session")
def quick_lab(tmp_path_factory) -> Path:
    """One real `trainlab lab all --quick` folder, shared by every test of the session that reads one."""
    import subprocess

    out = tmp_path_factory.mktemp("lab") / "quick"
    r = subprocess.run([sys.executable, "-m", "trainlab.cli", "lab", "all", "--quick", "--quiet", "--out", str(out)],
                       capture_output=True, text=True, timeout=2400)  # every study on a shared 2-core machine
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture
def one_torch_thread():
    """Small models on 2 shared cores run fastest on one thread (no OpenMP spin-waits against other
    work); the setting is restored afterwards. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
