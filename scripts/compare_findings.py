"""Rerun the migrated example programs and compare their findings with a recorded golden copy.

The golden file (made by ``record_findings.py`` before the corpus protocol existed) maps
``"<folder>/<program>/<seed>"`` to the sorted ``[code, severity, first_step]`` triples that
program's findings had at 200 steps. A migration to the corpus protocol must not change what a
program trains, so every triple must come back identical.

Usage: python scripts/compare_findings.py GOLDEN.json [--seeds 5] [--steps 200]
Exit status 0 when every recorded program/seed matches, 1 otherwise.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"ex_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def findings_of(result) -> list:
    """The findings of a run: an Outcome (``.findings``) or, before the protocol, a list."""
    return list(getattr(result, "findings", result))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("golden", type=Path)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    golden = json.loads(args.golden.read_text())
    programs = sorted({k.rsplit("/", 1)[0] for k in golden})
    n_same = n_diff = 0
    for name in programs:
        module = load(ROOT / "examples" / f"{name}.py")
        for seed in range(args.seeds):
            key = f"{name}/{seed}"
            if key not in golden:
                continue
            got = sorted([f.code, f.severity, f.first_step]
                         for f in findings_of(module.run(steps=args.steps, seed=seed)))
            if got == golden[key]:
                n_same += 1
            else:
                n_diff += 1
                print(f"DIFFERENT {key}:\n  golden {golden[key]}\n  now    {got}")
        print(f"checked {name}", flush=True)
    print(f"{n_same} identical, {n_diff} different, over {len(programs)} programs "
          f"x {args.seeds} seeds")
    return 1 if n_diff else 0


if __name__ == "__main__":
    sys.exit(main())
