"""Named pause points for fault-injection tests (interrupt and kill at a chosen moment).

``pause_point(name)`` does nothing unless the environment variable ``TRAINLAB_PAUSE_AT`` names
this point. Then it prints ``trainlab: paused at NAME`` to stderr and waits until the file named
by ``TRAINLAB_PAUSE_FILE`` exists (or 120 s pass), so a test can send SIGINT or SIGKILL at exactly
that moment, or release the process by creating the file. Points: ``training`` (``fit``, after
the evaluation at step 0), ``writing`` (a finished folder, just before it is put in place),
``sweep_committed`` (a sweep chunk was just committed), ``sweep_stage`` (a sweep stage starts).
``NAME#N`` pauses at the N-th time the process reaches NAME (``training#3``: the third ``fit``).
"""
from __future__ import annotations

import os
import sys
import time

ENV_POINT = "TRAINLAB_PAUSE_AT"
ENV_FILE = "TRAINLAB_PAUSE_FILE"
MAX_WAIT_S = 120.0


_reached: dict[str, int] = {}


def pause_point(name: str) -> None:
    want = os.environ.get(ENV_POINT)
    if not want or want.split("#")[0] != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if "#" in want and want.split("#", 1)[1].strip() != str(_reached[name]):
        return
    sys.stderr.write(f"trainlab: paused at {name}\n")
    sys.stderr.flush()
    release = os.environ.get(ENV_FILE)
    t_end = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < t_end and not (release and os.path.exists(release)):
        time.sleep(0.02)
