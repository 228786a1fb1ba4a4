"""Whole-lab timing: `trainlab lab all --quick` and (unless --quick-only) `trainlab lab all` on defaults.

Prints the total and a per-study breakdown against the targets (quick < 2 min, default < 20 min
on 2 cores), read from the index summary.json each run writes, with each study's own time
breakdown (its summary's ``timing``) and the machine's load average before and after it (a shared
machine's load stretches every wall time: report it next to them). The same run also measures the
matmul peak (best of 5 runs of a 4096x4096 fp32 torch.mm) so the machine's speed is on record.

``--studies a,b,c`` times those studies only, one `trainlab lab NAME` each, and their sum against
``--budget-quick`` / ``--budget-default`` (e.g. the six studies of issue 13: 40 s and 300 s).
Usage: python benchmarks/lab.py [--quick-only] [--studies NAMES] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peak import machine_line


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def run(out: Path, quick: bool, which: str = "all") -> dict:
    cmd = [sys.executable, "-m", "trainlab.cli", "lab", which, "--quiet", "--force", "--out", str(out)]
    if quick:
        cmd.append("--quick")
    load_before = _load()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
    if which == "all":
        studies = json.loads((out / "summary.json").read_text())["studies"]
        folders = {s["name"]: out / s["name"] for s in studies}
    else:
        s = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
        studies = [{"name": which, "status": "ok" if r.returncode == 0 else "failed", "seconds": s.get("seconds", wall)}]
        folders = {which: out}
    for st in studies:
        p = folders[st["name"]] / "summary.json"
        st["timing"] = json.loads(p.read_text()).get("timing", {}) if p.is_file() else {}
    return {"wall": wall, "rc": r.returncode, "studies": studies, "load": f"{load_before} -> {_load()}"}


def _breakdown(timing: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in timing.items())


def report(name: str, res: dict, target: float) -> None:
    print(f"\n{name}: {res['wall']:.1f} s wall (target < {target:g} s), exit {res['rc']}, load {res['load']}")
    for s in res["studies"]:
        print(f"  {s['name']:11s} {s['status']:8s} {s['seconds']:7.1f} s  ({_breakdown(s['timing'])})"
              + (f"  load {s['load']}" if "load" in s else ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick-only", action="store_true")
    ap.add_argument("--studies", default=None, help="comma-separated study names, each run on its own")
    ap.add_argument("--budget-quick", type=float, default=120.0)
    ap.add_argument("--budget-default", type=float, default=1200.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="trainlab-bench-lab-"))
    print(machine_line() + f"; load {_load()} (1, 5, 15 min)")
    modes = [("quick", True, args.budget_quick)] + ([] if args.quick_only else [("default", False, args.budget_default)])
    for name, quick, target in modes:
        if args.studies is None:
            report(f"lab all ({name})", run(root / name, quick), target)
            continue
        parts = []
        for study in args.studies.split(","):
            res = run(root / name / study, quick, study)
            res["studies"][0]["load"] = res["load"]
            parts.append(res)
        total = {"wall": sum(p["wall"] for p in parts), "rc": max(p["rc"] for p in parts),
                 "studies": [p["studies"][0] for p in parts], "load": f"{parts[0]['load'].split(' ')[0]} -> {_load()}"}
        report(f"{args.studies} ({name}, each on its own; sum of study times "
               f"{sum(s['seconds'] for s in total['studies']):.1f} s)", total, target)
    print(f"\nfolders: {root}")


if __name__ == "__main__":
    main()
