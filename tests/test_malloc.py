"""keep_freed_memory: applied on Linux/glibc (the CLI calls it), and harmless to call twice."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from trainlab.malloc import keep_freed_memory


@pytest.mark.allow_skip_in_ci
@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_applied_on_glibc_in_a_fresh_process():
    code = "from trainlab.malloc import keep_freed_memory as k; print(k(), k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def test_returns_a_bool():
    assert isinstance(keep_freed_memory(), bool)


def test_reexec_is_a_no_op_where_it_must_be(monkeypatch):
    from trainlab.malloc import ENV, reexec_with_env

    reexec_with_env(["report", "x"])  # short commands never restart
    reexec_with_env([])
    monkeypatch.setenv("TRAINLAB_NO_REEXEC", "1")
    reexec_with_env(["lab"])  # opted out
    monkeypatch.delenv("TRAINLAB_NO_REEXEC")
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    reexec_with_env(["lab"])  # already restarted once: the variables mark it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the restart is Linux-only")
def test_a_failed_restart_leaves_ctrl_c_working(monkeypatch):
    """SIGINT is blocked across the exec; when the exec fails the process runs on, so it must be
    unblocked again (else Ctrl-C would be lost for the rest of the run)."""
    import os
    import signal

    from trainlab import malloc

    def fail(*args):
        raise OSError("exec failed")

    monkeypatch.delenv("TRAINLAB_NO_REEXEC", raising=False)
    for key in malloc.ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(os, "execve", fail)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    malloc.reexec_with_env(["train"])
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
