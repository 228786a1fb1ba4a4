"""Whole-lab timing: `trainlab lab all --quick` and (unless --quick-only) `trainlab lab all` on defaults.

Prints the total and a per-study breakdown against the targets (quick < 2 min, default < 20 min
on 2 cores), read from the index summary.json each run writes. The same run also measures the
matmul peak (best of 5 runs of a 4096x4096 fp32 torch.mm) so the machine's speed is on record.
Usage: python benchmarks/lab.py [--quick-only] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peak import machine_line


def run(out: Path, quick: bool) -> dict:
    cmd = [sys.executable, "-m", "trainlab.cli", "lab", "all", "--quiet", "--force", "--out", str(out)]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
    index = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "rc": r.returncode, "studies": index["studies"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick-only", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="trainlab-bench-lab-"))
    print(machine_line())
    modes = [("quick", True, 120)] + ([] if args.quick_only else [("default", False, 1200)])
    for name, quick, target in modes:
        res = run(root / name, quick)
        print(f"\nlab all ({name}): {res['wall']:.1f} s wall (target < {target} s) exit {res['rc']}")
        for s in res["studies"]:
            print(f"  {s['name']:10s} {s['status']:8s} {s['seconds']:8.1f} s  {s.get('headline', '')}")
    print(f"\nfolders: {root}")


if __name__ == "__main__":
    main()
