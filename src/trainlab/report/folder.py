"""A run folder as figures and sentences read it: its summary and its stored files, nothing live.

While a run finishes, its summary (and, for ``train``, its metrics) are still in memory
(``RunData(folder, summary, files)``); later the same figures and words come from the folder alone
(``RunData.load(folder)``). Either way they are what is on disk, or will be.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from trainlab.runs.io import read_json


class RunData:
    """Read-only access to a run folder: ``summary``, ``npz(name)``, ``json(name)``, ``has(what)``.

    ``has`` takes a file name, or ``file:key`` for an array of an ``.npz`` file or a key of a JSON
    file (``summary.json:he_claim``, ``metrics.npz:val_loss``): what a figure ``requires``.
    """

    def __init__(self, folder: Path, summary: Optional[dict] = None, files: Optional[dict[str, Any]] = None):
        self.folder = Path(folder)
        self.summary: dict = summary if summary is not None else read_json(self.folder / "summary.json")
        self._cache: dict[str, Any] = dict(files or {})  # name -> contents, for files not written yet

    @classmethod
    def load(cls, folder: Path) -> "RunData":
        return cls(folder)

    def has(self, what: str) -> bool:
        name, _, key = what.partition(":")
        if name == "summary.json" and key:
            return key in self.summary
        if not (name in self._cache or (self.folder / name).is_file()):
            return False
        if not key:
            return True
        data = self.npz(name) if name.endswith(".npz") else self.json(name)
        return isinstance(data, dict) and key in data

    def path(self, name: str) -> Path:
        return self.folder / name

    def npz(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of ``name`` (loaded once, without pickle)."""
        if name not in self._cache:
            with np.load(self.folder / name, allow_pickle=False) as z:
                self._cache[name] = {k: z[k] for k in z.files}
        return self._cache[name]

    def json(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = read_json(self.folder / name)
        return self._cache[name]
