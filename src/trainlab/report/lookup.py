"""The summaries of a run folder, and paths into them, for the answers and the claim checker.

``Sources.load(folder)`` reads a ``lab all`` folder (every study sub-folder that finished) or a
single study's folder: ``sources.summaries`` maps a study name to its ``summary.json``. A path is a
tuple of keys and list indices starting with the study, as ``Evidence.where`` records it. Written
by hand (in code or in a claims YAML file) a path may also hold selectors:

- ``{"case": "raw"}`` picks the first list item whose ``case`` is ``"raw"``;
- ``-1`` is the last item of a list.

``find`` resolves such a path to its value and the concrete path (selectors replaced by indices),
so every number on the answers page says exactly where it came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from trainlab.report.html import inside, load_summary


class Missing(LookupError):
    """A path that the summaries do not hold; its message says which step failed."""


@dataclass
class Sources:
    """The studies of one run: name -> summary, and name -> folder (for figures)."""

    summaries: dict[str, dict] = field(default_factory=dict)
    folders: dict[str, Path] = field(default_factory=dict)
    root: Optional[Path] = None

    @classmethod
    def load(cls, folder: Path) -> "Sources":
        folder = Path(folder)
        s = load_summary(folder)
        out = cls(root=folder)
        if s.get("experiment") == "lab":
            for st in s.get("studies", []) if isinstance(s.get("studies"), list) else []:
                name = st.get("name") if isinstance(st, dict) else None
                sub = inside(folder, name) if isinstance(name, str) else None
                if sub is not None and st.get("status") in ("ok", "skipped") and (sub / "summary.json").is_file():
                    out.summaries[name] = load_summary(sub)
                    out.folders[name] = sub
        elif isinstance(s.get("experiment"), str):
            out.summaries[s["experiment"]] = s
            out.folders[s["experiment"]] = folder
        return out

    def has(self, study: str) -> bool:
        return study in self.summaries


def _step(node: Any, key: Any, done: list) -> tuple[Any, Any]:
    """One step of a path: (child, concrete key)."""
    if isinstance(key, dict):
        if not isinstance(node, list):
            raise Missing(f"{_show(done)} is not a list to select {key} from")
        for i, item in enumerate(node):
            if isinstance(item, dict) and all(item.get(k) == v for k, v in key.items()):
                return item, i
        raise Missing(f"no item of {_show(done)} has {key}")
    if isinstance(key, int) and not isinstance(key, bool):
        if not isinstance(node, list) or not -len(node) <= key < len(node):
            raise Missing(f"{_show(done)} has no item {key}")
        return node[key], key % len(node)
    if not isinstance(node, dict) or key not in node:
        raise Missing(f"{_show(done)} has no {key!r}")
    return node[key], key


def find(sources: Sources, study: str, *path: Any) -> tuple[Any, tuple]:
    """The value at ``path`` in ``study``'s summary and the concrete path ``(study, ...)``."""
    if study not in sources.summaries:
        raise Missing(f"this run has no {study} study")
    node, done = sources.summaries[study], [study]
    for key in path:
        node, concrete = _step(node, key, done)
        done.append(concrete)
    return node, tuple(done)


def get(sources: Sources, study: str, *path: Any, default: Any = None) -> Any:
    """The value at ``path``, or ``default`` when the summaries do not hold it."""
    try:
        return find(sources, study, *path)[0]
    except Missing:
        return default


def set_at(sources: Sources, where: Sequence[Any], value: Any) -> None:
    """Replace the value at a concrete path (the tests write fake statistics this way)."""
    node = sources.summaries[where[0]]
    for key in where[1:-1]:
        node = node[key]
    node[where[-1]] = value


def _show(done: list) -> str:
    return "/".join(str(d) for d in done)
