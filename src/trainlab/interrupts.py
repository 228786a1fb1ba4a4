"""Interrupts (Ctrl-C, SIGINT): remembered, so that cut-short work is never recorded as finished.

``fit`` catches ``KeyboardInterrupt`` and returns the history it has, marked interrupted (the
library's contract). Code above it must not then save that history as a finished result. This
module keeps a process-wide count of interrupts:

- ``mark()`` counts one (``fit`` calls it; so does the CLI's SIGINT handler);
- ``count()`` lets a writer compare before and after: ``runs.atomic_dir`` refuses to commit a
  folder built while an interrupt happened, and ``lab`` records such a study as ``interrupted``;
- ``install()`` (the CLI) sets a SIGINT handler that marks and raises ``KeyboardInterrupt``; once
  installed, ``stop_if_interrupted()`` makes every later ``fit`` refuse to start, so one Ctrl-C
  stops a study that trains many populations instead of only its current one.
"""
from __future__ import annotations

import signal
from typing import Any

_count = 0
_installed = False


def mark() -> None:
    """Count one interrupt."""
    global _count
    _count += 1


def count() -> int:
    """Interrupts seen so far in this process."""
    return _count


def installed() -> bool:
    return _installed


def _handler(signum: int, frame: Any) -> None:
    mark()
    raise KeyboardInterrupt


def install() -> None:
    """SIGINT marks an interrupt, then raises KeyboardInterrupt as Python's default handler does."""
    global _installed
    signal.signal(signal.SIGINT, _handler)
    _installed = True


def stop_if_interrupted() -> None:
    """Under the CLI (``install()`` ran), raise KeyboardInterrupt when an interrupt already happened."""
    if _installed and _count:
        raise KeyboardInterrupt
