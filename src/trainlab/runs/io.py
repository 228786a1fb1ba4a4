"""Atomic file and folder writes that never lose what was already on disk.

- Every file is written to a temporary name in the same folder and renamed into place.
- A folder is filled under a temporary sibling name and renamed into place when complete.
- A folder trainlab made holds a small marker file (``MARKER``) that lists the entries it wrote.
  When a finished folder is written into an existing one, only the entries trainlab made are
  replaced or removed; anything else (a user's notes, a thesis) is left alone, and an entry of the
  user's that has the name of a new one is moved aside, never deleted.
- A folder built while an interrupt (Ctrl-C) happened is not committed: cut-short results never
  look finished (``trainlab.interrupts``).
- Files and folders get the modes the umask gives (0644 / 0755 under the usual umask 022).

JSON is written with ``allow_nan=False``: non-finite numbers must be turned into null first.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from trainlab import faults, interrupts
from trainlab.stats import json_clean

MARKER = ".trainlab"  # JSON: {"made_by": "trainlab", "kind": ..., "entries": [...], "updated": ...}
ALWAYS_OURS = ("report.html", "answers.html")  # in a trainlab folder, written after the folder is installed (trainlab report)
ASIDE_SUFFIX = ".before-trainlab"  # a user's entry in the way of a new one is renamed to NAME + this

_UMASK: int | None = None


def umask() -> int:
    """The process umask (read once: reading it means setting it)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


def file_mode() -> int:
    return 0o666 & ~umask()


def dir_mode() -> int:
    return 0o777 & ~umask()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, obj: Any) -> None:
    """JSON with non-finite floats turned into null (``json_clean``) and ``allow_nan=False``."""
    text = json.dumps(json_clean(obj), indent=2, allow_nan=False, sort_keys=False)
    write_text_atomic(path, text + "\n")


def read_json(path: Path) -> Any:
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


# --- the marker: which entries of a folder trainlab made -------------------------------------------

def read_marker(folder: Path) -> dict | None:
    """The folder's marker, or None when trainlab did not make the folder (or the marker is unreadable)."""
    try:
        m = read_json(Path(folder) / MARKER)
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("made_by") != "trainlab" or not isinstance(m.get("entries"), list):
        return None
    return m


def _write_marker(folder: Path, kind: str, entries: set[str]) -> None:
    write_json_atomic(Path(folder) / MARKER, {"made_by": "trainlab", "kind": kind,
                                              "entries": sorted(e for e in entries if e != MARKER),
                                              "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def mark_made(folder: Path, kind: str, *names: str) -> None:
    """Record that trainlab wrote ``names`` into ``folder`` (creating the marker if needed)."""
    folder = Path(folder)
    old = read_marker(folder)
    entries = set(old["entries"]) if old else set()
    _write_marker(folder, (old or {}).get("kind", kind), entries | set(names))


def make_dir(folder: Path, kind: str) -> Path:
    """Create ``folder`` (and parents) if needed, marking it as made by trainlab when it is new or empty."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        from trainlab.errors import UsageError

        raise UsageError(f"{folder} is an existing file, not a folder")
    new = not folder.exists() or not any(folder.iterdir())
    folder.mkdir(parents=True, exist_ok=True)
    if new:
        _write_marker(folder, kind, set())
    return folder


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _move_aside(path: Path) -> Path:
    aside = path.with_name(path.name + ASIDE_SUFFIX)
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}{ASIDE_SUFFIX}.{n}")
        n += 1
    os.replace(path, aside)
    return aside


def install_dir(tmp: Path, final: Path, kind: str) -> list[Path]:
    """Put the finished folder ``tmp`` at ``final``; returns user entries that were moved aside.

    ``final`` absent: one rename. ``final`` present: its ``summary.json`` (completion) goes first,
    then entries trainlab made earlier that the new folder lacks, then each new entry replaces its
    namesake (trainlab's own is removed, a user's is renamed to NAME.before-trainlab), and
    ``summary.json`` is put in place last.
    """
    tmp, final = Path(tmp), Path(final)
    entries = {p.name for p in tmp.iterdir()} - {MARKER}
    if not final.exists():
        _write_marker(tmp, kind, entries)
        os.replace(tmp, final)
        return []
    old = read_marker(final)
    ours = set(old["entries"]) | set(ALWAYS_OURS) if old else set()
    moved = []
    order = sorted(entries - {"summary.json"}) + (["summary.json"] if "summary.json" in entries else [])
    if "summary.json" in ours and (final / "summary.json").exists():
        (final / "summary.json").unlink()
    for name in sorted(ours - entries):
        _remove(final / name)
    for name in ALWAYS_OURS:  # written after installing (the report): a user's file of that name goes aside now
        if name not in entries and name not in ours and (final / name).exists():
            moved.append(_move_aside(final / name))
    for name in order:
        dest = final / name
        if dest.exists() or dest.is_symlink():
            if name in ours:
                _remove(dest)
            else:
                moved.append(_move_aside(dest))
        os.replace(tmp / name, dest)
    _write_marker(final, (old or {}).get("kind", kind), entries)
    shutil.rmtree(tmp, ignore_errors=True)
    return moved


@contextlib.contextmanager
def atomic_dir(final: Path, kind: str = "study", allow_interrupted: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; when the block ends normally it is installed at ``final``.

    On an exception the temporary folder is removed and ``final`` is left as it was. If an
    interrupt was counted while the block ran (``fit`` returned early), the folder is not
    installed and ``KeyboardInterrupt`` is raised, unless ``allow_interrupted`` (``train`` saves
    its partial run, marked interrupted).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    seen = interrupts.count()
    try:
        os.chmod(tmp, dir_mode())
        yield tmp
        faults.pause_point("writing")
        if interrupts.count() != seen and not allow_interrupted:
            raise KeyboardInterrupt
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        install_dir(tmp, final, kind)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
