"""Run the evaluation corpus and report how trainlab.watch does on it, per dev/test split.

Every program in examples/healthy and examples/broken (the corpus protocol, examples/README.md)
runs for ``--seeds`` seeds at its own default number of steps. For each run this checks the
program's health criterion and reads the watcher's findings after ``close()``:

- a *detection*: a broken run with a finding at warning or above whose code is one of the
  program's EXPECTED codes;
- a *false alarm*: a healthy run with any finding at warning or above.

Per part it prints recall (detections / broken runs), precision (detections / (detections + false
alarms)), the false-alarm rate (healthy runs with an alarm / healthy runs) and the criteria, once
for the whole part and once without the evidence suite (the 27 programs that predate the corpus
and shaped today's rules). The per-program table gives, per program, the seeds detected or
alarmed, the first step (seed 0), the other warnings, the criterion on how many seeds, and the
mean and max seconds per seed.

Usage: python examples/corpus_eval.py [--seeds 3] [--split dev|test|all] [--only NAME,...]
                                     [--json results.json]
Tune detection rules on ``--split dev`` only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

if (_EXAMPLES := str(Path(__file__).resolve().parent)) not in sys.path:
    sys.path.insert(0, _EXAMPLES)
from _corpus import criterion_holds, load_program, load_split, program_paths  # noqa: E402


@dataclass
class ProgramResult:
    name: str
    part: str
    label: str
    stratum: str
    evidence: bool
    expected: list[str]
    criterion: list | None
    seeds: int = 0
    hits: int = 0  # broken: seeds detected with an expected code; healthy: seeds with an alarm
    criterion_held: int = 0
    first_step: int | None = None
    other_codes: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    metrics_seed0: dict[str, float] = field(default_factory=dict)


def run_program(name: str, path: Path, entry, seeds: int) -> ProgramResult:
    module = load_program(path)
    res = ProgramResult(name, entry.part, entry.label, entry.stratum, entry.evidence,
                        list(module.EXPECTED), list(module.CRITERION) if module.CRITERION else None)
    expected = set(module.EXPECTED)
    others: set[str] = set()
    for seed in range(seeds):
        t0 = time.perf_counter()
        outcome = module.run(seed=seed)
        res.seconds.append(time.perf_counter() - t0)
        alarms = [f for f in outcome.findings if f.severity != "info"]
        match = [f for f in alarms if f.code in expected]
        if entry.label == "broken":
            res.hits += bool(match)
            others |= {f.code for f in alarms} - expected
        else:
            res.hits += bool(alarms)
            others |= {f.code for f in alarms}
        res.criterion_held += bool(criterion_holds(module.CRITERION, outcome.metrics))
        if seed == 0:
            shown = match if entry.label == "broken" else alarms
            res.first_step = min((f.first_step or 0 for f in shown), default=None)
            res.metrics_seed0 = {k: float(v) for k, v in outcome.metrics.items()}
        res.seeds += 1
    res.other_codes = sorted(others)
    return res


def summarize(results: list[ProgramResult]) -> dict[str, float | int]:
    broken = [r for r in results if r.label == "broken"]
    healthy = [r for r in results if r.label == "healthy"]
    tp = sum(r.hits for r in broken)
    n_broken = sum(r.seeds for r in broken)
    fa = sum(r.hits for r in healthy)
    n_healthy = sum(r.seeds for r in healthy)
    return {
        "broken_programs": len(broken), "healthy_programs": len(healthy),
        "broken_runs": n_broken, "healthy_runs": n_healthy,
        "detections": tp, "false_alarms": fa,
        "recall": tp / n_broken if n_broken else float("nan"),
        "precision": tp / (tp + fa) if tp + fa else float("nan"),
        "false_alarm_rate": fa / n_healthy if n_healthy else float("nan"),
        "healthy_criterion_held": sum(r.criterion_held for r in healthy),
        "broken_criterion_failed": sum(r.seeds - r.criterion_held for r in broken if r.criterion),
        "broken_runs_with_criterion": sum(r.seeds for r in broken if r.criterion),
    }


def summary_line(title: str, s: dict[str, float | int]) -> str:
    return (f"{title}: recall {s['detections']}/{s['broken_runs']} = {s['recall']:.2f}, "
            f"precision {s['detections']}/{s['detections'] + s['false_alarms']} = {s['precision']:.2f}, "
            f"false alarms on {s['false_alarms']}/{s['healthy_runs']} healthy runs "
            f"({s['false_alarm_rate']:.2f}); healthy criteria held {s['healthy_criterion_held']}/"
            f"{s['healthy_runs']}, broken criteria failed {s['broken_criterion_failed']}/"
            f"{s['broken_runs_with_criterion']} ({s['broken_programs']} broken, "
            f"{s['healthy_programs']} healthy programs)")


def print_table(results: list[ProgramResult]) -> None:
    print("| part | label | program | stratum | expected | detected / alarmed | first step (seed 0) "
          "| other warnings | criterion held | s/seed (mean, max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        exp = " or ".join(f"`{c}`" for c in r.expected) or "-"
        if r.label == "broken":
            hit = f"{r.hits}/{r.seeds}" + ("" if r.hits else " NO")
        else:
            hit = f"{r.hits}/{r.seeds}" + (" ALARM" if r.hits else "")
        crit = f"{r.criterion_held}/{r.seeds}" if r.criterion else "n/a"
        star = "*" if r.evidence else ""
        print(f"| {r.part} | {r.label} | `{r.name}`{star} | {r.stratum} | {exp} | {hit} "
              f"| {r.first_step if r.first_step is not None else '-'} | {', '.join(r.other_codes) or '-'} "
              f"| {crit} | {sum(r.seconds) / len(r.seconds):.2f}, {max(r.seconds):.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--split", choices=("dev", "test", "all"), default="all")
    ap.add_argument("--only", default="", help="comma-separated program names")
    ap.add_argument("--json", type=Path, help="also write every number to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(1)

    split = load_split()
    paths = program_paths()
    missing = sorted(set(paths) - set(split)) + sorted(set(split) - set(paths))
    if missing:
        print(f"programs not both in corpus_split.yaml and on disk: {missing}", file=sys.stderr)
        return 2
    only = {n for n in args.only.split(",") if n}
    names = [n for n in sorted(split, key=lambda n: (split[n].part, split[n].label, split[n].stratum, n))
             if (args.split == "all" or split[n].part == args.split) and (not only or n in only)]

    t0 = time.perf_counter()
    results = []
    for name in names:
        results.append(run_program(name, paths[name], split[name], args.seeds))
        print(f"ran {name} ({sum(results[-1].seconds):.1f} s)", file=sys.stderr, flush=True)
    total = time.perf_counter() - t0

    print_table(results)
    print("\n(* = evidence suite: predates the corpus; today's rules were built with it in view)\n")
    report: dict[str, dict] = {}
    for part in ("dev", "test"):
        sel = [r for r in results if r.part == part]
        if not sel:
            continue
        report[part] = summarize(sel)
        print(summary_line(f"{part}", report[part]))
        new = [r for r in sel if not r.evidence]
        if new and len(new) < len(sel):
            report[f"{part}_without_evidence_suite"] = summarize(new)
            print(summary_line(f"{part} without the evidence suite", report[f"{part}_without_evidence_suite"]))
    per_seed = sum(sum(r.seconds) for r in results) / max(1, args.seeds)
    slowest = max(results, key=lambda r: max(r.seconds), default=None)
    print(f"\n{len(results)} programs x {args.seeds} seeds in {total:.0f} s; corpus time per seed "
          f"{per_seed:.1f} s; slowest single run {max(slowest.seconds):.2f} s (`{slowest.name}`)"
          if slowest else "no programs selected")
    if args.json:
        args.json.write_text(json.dumps({"seeds": args.seeds, "split": args.split, "summary": report,
                                         "seconds_total": total, "seconds_per_seed": per_seed,
                                         "programs": [asdict(r) for r in results]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
