"""Output folders: checked before any work starts, locked while written, cleaned after a crash.

``claim_out(path, kind, force)`` is what every command that writes a folder (``train``, ``lab``,
``lr-find``) enters before training:

- ``path`` must not be an existing file, and its parent must be writable;
- an existing folder that trainlab did not make (no marker, not empty) is refused unless
  ``force``; even then only trainlab's own entries are ever replaced (``runs.io.install_dir``);
- an existing trainlab folder of another kind (a lab folder given to ``train``) is refused unless
  ``force``;
- a lock file next to the folder (``.NAME.lock``, holding the writer's PID) makes a second
  concurrent writer fail with "in use by PID ..."; the operating system releases the lock when
  the process dies, even by SIGKILL;
- temporary files and folders that a killed run left behind are removed, with a message.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from trainlab.errors import UsageError
from trainlab.runs.io import MARKER, read_json, read_marker

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: no locking
    fcntl = None  # type: ignore[assignment]

_NAME_OK = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(name: str, default: str = "run") -> str:
    """One path component from a user's name: no separators, no leading dots (``../x`` -> ``x``)."""
    cleaned = _NAME_OK.sub("-", str(name)).strip(".-")
    return cleaned or default


@dataclass
class Claim:
    """What ``claim_out`` found at the output path."""

    path: Path
    state: str  # "new" (absent), "empty", "ours" (a trainlab folder), "foreign" (someone else's, --force given)
    kind: str | None  # the marker's kind when ours
    finished: bool  # ours and holding a summary.json that is not marked interrupted
    cleaned: list[str]


def _orphans(path: Path) -> list[Path]:
    """Temporary leftovers of a killed writer: ``.NAME.*.partial`` and ``.NAME.old-*`` folders and
    ``.NAME.*.tmp`` files beside ``path``; inside a trainlab folder (and its trainlab subfolders),
    the same patterns for its entries."""
    found: list[Path] = []

    def scan(folder: Path, name: str | None) -> None:
        if not folder.is_dir():
            return
        for p in folder.iterdir():
            n = p.name
            if not n.startswith("."):
                continue
            if name is not None and not n.startswith(f".{name}."):
                continue
            if n.endswith(".partial") or n.endswith(".tmp") or ".old-" in n or n.endswith(".lock.tmp"):
                found.append(p)

    scan(path.parent, path.name)
    if path.is_dir() and read_marker(path) is not None:
        scan(path, None)
        for sub in path.iterdir():
            if sub.is_dir() and not sub.name.startswith(".") and read_marker(sub) is not None:
                scan(sub, None)
    return found


def _finished(path: Path) -> bool:
    try:
        s = read_json(path / "summary.json")
    except (OSError, ValueError):
        return False
    return isinstance(s, dict) and s.get("status", "ok") != "interrupted"


def classify(path: Path) -> tuple[str, str | None, bool]:
    """(state, kind, finished) of an output path, without changing anything."""
    if not path.exists():
        return "new", None, False
    entries = [p for p in path.iterdir()]
    marker = read_marker(path)
    if marker is not None:
        return "ours", marker.get("kind"), _finished(path)
    if not entries:
        return "empty", None, False
    return "foreign", None, False


def _check_writable(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"output {path} is an existing file; give a folder path that does not exist (or a "
                         f"trainlab run folder)")
    anc = path if path.exists() else path.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise UsageError(f"output {path}: {anc} is a file, not a folder")
    try:  # a real write, not os.access: root passes access checks on read-only mounts and /proc
        fd, probe = tempfile.mkstemp(prefix=".trainlab-probe-", dir=anc)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"output {path}: cannot write in {anc} ({e.strerror})") from None


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on ``.NAME.lock`` beside ``path``, released on exit or death."""
    if fcntl is None:
        yield
        return
    lock = path.parent / f".{path.name}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise UsageError(f"output {path}: cannot create the lock file {lock}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise UsageError(f"output {path} is in use by PID {pid} (another trainlab command is writing "
                             f"there); wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(lock)
    finally:
        os.close(fd)


@contextlib.contextmanager
def claim_out(path: Path, kind: str, force: bool = False, console: Any = None) -> Iterator[Claim]:
    """Check, lock and clean the output path; refuse a folder trainlab did not make unless ``force``.

    Raises ``UsageError`` (exit 2) before any work when the path cannot be used.
    """
    path = Path(path)
    _check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path):
        state, found_kind, finished = classify(path)
        if state == "foreign" and not force:
            n = sum(1 for _ in path.iterdir())
            raise UsageError(f"output folder {path} exists and was not made by trainlab ({n} entr{'y' if n == 1 else 'ies'}); choose a "
                             f"new folder, or pass --force to write into it (only trainlab's own files are "
                             f"ever replaced)")
        if state == "ours" and found_kind not in (None, kind) and not force:
            raise UsageError(f"output folder {path} holds a trainlab {found_kind} folder, not a {kind} folder; "
                             f"choose another --out, or pass --force")
        cleaned = []
        for p in _orphans(path):
            if p.name.endswith(".lock"):
                continue
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            cleaned.append(str(p))
        if cleaned and console is not None:
            console.print(f"removed {len(cleaned)} temporary leftover(s) of an interrupted run: "
                          + ", ".join(cleaned), highlight=False, markup=False)
        yield Claim(path, state, found_kind, finished, cleaned)


__all__ = ["Claim", "MARKER", "claim_out", "classify", "safe_name"]
