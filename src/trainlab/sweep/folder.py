"""A sweep's folder: what was asked (``sweep.json``), what is done (``chunks/``), and resume.

- ``sweep.json`` holds the sweep's spec (base config, space, seeds, metric, mode). Re-running the
  same command into the same folder resumes; a different spec is refused (exit 2) unless ``force``,
  which starts over (only trainlab's own files are removed).
- ``chunks/<stage>-<index>-<key>.json``: each finished chunk's member rows, committed atomically
  (written to a temporary file and renamed) the moment the chunk finishes. A chunk whose file
  exists is never trained again; a temporary file left by a killed process is removed by
  ``claim_out`` on the next run.
- Optuna batches are committed the same way (``chunks/optuna-batch<n>.json``) before their trials
  are told, so a resumed study can tell what a killed one could not.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

from trainlab import faults
from trainlab.errors import UsageError
from trainlab.sweep import lib
from trainlab.sweep.plan import ChunkTask

SPEC_FILE = "sweep.json"
CHUNKS = "chunks"
KIND = "sweep"


class SweepFolder:
    """The output folder of one sweep, claimed (locked) by the caller."""

    def __init__(self, path: Path, spec: dict, force: bool = False, console: Any = None):
        self.path = Path(path)
        self.chunks = self.path / CHUNKS
        self.reused = 0  # chunks found committed
        self.trained = 0  # chunks trained and committed by this process
        lib.make_dir(self.path, KIND)
        old = self._read_spec()
        if old is not None and old != json.loads(json.dumps(spec, default=str)):
            if not force:
                diff = ", ".join(k for k in sorted(set(old) | set(spec)) if old.get(k) != spec.get(k)) or "spec"
                raise UsageError(f"output folder {self.path} holds a different sweep (differs in: {diff}); run the "
                                 f"same command to resume it, choose another --out, or pass --force to start over")
            self._reset(console)
        lib.make_dir(self.chunks, "sweep-chunks")
        lib.write_json_atomic(self.path / SPEC_FILE, spec)
        lib.mark_made(self.path, KIND, SPEC_FILE, CHUNKS)
        self.resumed = old is not None and old == json.loads(json.dumps(spec, default=str))

    def _read_spec(self) -> Optional[dict]:
        p = self.path / SPEC_FILE
        if not p.is_file():
            return None
        try:
            return lib.read_json(p)
        except (OSError, ValueError):
            return None

    def _reset(self, console: Any) -> None:
        """--force with a different spec: remove this folder's committed chunks, results and study."""
        marker = lib.read_marker(self.path) or {"entries": []}
        for name in marker["entries"]:
            p = self.path / name
            if name == SPEC_FILE or not (p.exists() or p.is_symlink()):
                continue
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        if console is not None:
            console.print(f"--force: started {self.path} over (the previous sweep's chunks and results removed)",
                          highlight=False, markup=False)

    # ---- chunks -----------------------------------------------------------------------------
    def has(self, task: ChunkTask) -> bool:
        return (self.chunks / task.file_name).is_file()

    def commit(self, task: ChunkTask, rows: list[dict]) -> None:
        """Write the chunk's rows atomically; the chunk is done from this moment on."""
        lib.write_json_atomic(self.chunks / task.file_name, {"key": task.key, "stage": task.stage,
                                                             "index": task.index, "rows": rows})
        self.trained += 1
        faults.pause_point("sweep_committed")

    def load(self, task: ChunkTask) -> list[dict]:
        d = lib.read_json(self.chunks / task.file_name)
        if d.get("key") != task.key:
            raise UsageError(f"{self.chunks / task.file_name} belongs to another chunk (key mismatch); remove it "
                             f"to train that chunk again")
        return d["rows"]

    def pending(self, tasks: list[ChunkTask]) -> list[ChunkTask]:
        done = [t for t in tasks if self.has(t)]
        self.reused += len(done)
        return [t for t in tasks if not self.has(t)]

    def committed_files(self) -> dict[str, tuple[int, int]]:
        """{file name: (inode, mtime_ns)} of the committed chunks: tests check none is rewritten."""
        if not self.chunks.is_dir():
            return {}
        return {p.name: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in sorted(self.chunks.glob("*.json"))}

    # ---- Optuna batches ---------------------------------------------------------------------
    def batch_file(self, n: int) -> Path:
        return self.chunks / f"optuna-batch{n:05d}.json"

    def commit_batch(self, n: int, doc: dict) -> None:
        lib.write_json_atomic(self.batch_file(n), doc)
        self.trained += 1
        faults.pause_point("sweep_committed")

    def batches(self) -> list[dict]:
        out = []
        for p in sorted(self.chunks.glob("optuna-batch*.json")):
            out.append(lib.read_json(p))
        return out

    # ---- results ----------------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> None:
        lib.write_text_atomic(self.path / name, text)
        lib.mark_made(self.path, KIND, name)

    def write_bytes(self, name: str, data: bytes) -> None:
        lib.write_bytes_atomic(self.path / name, data)
        lib.mark_made(self.path, KIND, name)

    def write_json(self, name: str, obj: Any) -> None:
        lib.write_json_atomic(self.path / name, obj)
        lib.mark_made(self.path, KIND, name)
