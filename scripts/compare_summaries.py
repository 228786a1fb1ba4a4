"""Compare the summary.json files of two lab folders: every number within a relative tolerance.

Refactors must not move results. This walks ``OLD/**/summary.json`` and the same paths under NEW,
and compares them key by key: strings, booleans, nulls and integers exactly, other numbers within
``--rtol`` (relative, with ``--atol`` for values near 0). Timing and provenance are skipped (keys
named ``seconds``, ``timing``, ``provenance``, ``time``), and so are strings that quote a time.

A key only NEW has is a difference too, unless ``--allow-added``: then it is listed as an addition
(a new field, which bumps the schema's version) and not counted. A key only OLD has is always a
difference: a field that moved or went away.

Usage: python scripts/compare_summaries.py OLD_DIR NEW_DIR [--rtol 1e-6] [--atol 1e-12] [--show 20]
       [--allow-added]
Prints each difference as ``file: path: old -> new (relative delta)``; exit status 0 when none.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Iterator

SKIP_KEYS = {"seconds", "timing", "provenance", "time"}
TIME_TEXT = re.compile(r"\d+(\.\d+)? ?(s|min|ms)\b")  # "6.5 s" inside a headline or table cell
ADDED = "<added>"  # the old side of a key only NEW has


def _differences(old: Any, new: Any, path: str, rtol: float, atol: float) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in SKIP_KEYS:
                continue
            if key not in old:
                yield f"{path}.{key}", ADDED, new[key]
            elif key not in new:
                yield f"{path}.{key}", old[key], "<missing>"
            else:
                yield from _differences(old[key], new[key], f"{path}.{key}", rtol, atol)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            yield f"{path}[len]", len(old), len(new)
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _differences(a, b, f"{path}[{i}]", rtol, atol)
    elif isinstance(old, bool) or isinstance(new, bool) or old is None or new is None:
        if old != new:
            yield path, old, new
    elif isinstance(old, int) and isinstance(new, int):
        if old != new:
            yield path, old, new
    elif isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if not (math.isclose(old, new, rel_tol=rtol, abs_tol=atol) or (math.isnan(old) and math.isnan(new))):
            yield path, old, new
    elif isinstance(old, str) and isinstance(new, str):
        if old != new and TIME_TEXT.sub("<t>", old) != TIME_TEXT.sub("<t>", new):
            yield path, old, new
    elif old != new:
        yield path, old, new


def relative(old: Any, new: Any) -> str:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool) and old:
        return f" ({(new - old) / abs(old):+.3g} relative)"
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-12)
    ap.add_argument("--show", type=int, default=20, help="differences printed per file")
    ap.add_argument("--allow-added", action="store_true", help="list keys only NEW has, without counting them")
    args = ap.parse_args()
    files = sorted(p.relative_to(args.old) for p in args.old.rglob("summary.json"))
    if not files:
        print(f"no summary.json under {args.old}")
        return 2
    total = 0
    for rel in files:
        if not (args.new / rel).exists():
            print(f"{rel}: missing in {args.new}")
            total += 1
            continue
        old, new = (json.loads((root / rel).read_text()) for root in (args.old, args.new))
        diffs = list(_differences(old, new, "", args.rtol, args.atol))
        added = [path for path, a, _ in diffs if a is ADDED] if args.allow_added else []
        diffs = [d for d in diffs if not (args.allow_added and d[1] is ADDED)]
        total += len(diffs)
        print(f"{rel}: {len(diffs)} differences" + (f"; added: {', '.join(added)}" if added else ""))
        for path, a, b in diffs[:args.show]:
            print(f"  {path}: {a!r} -> {b!r}{relative(a, b)}")
        if len(diffs) > args.show:
            print(f"  ... and {len(diffs) - args.show} more")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
