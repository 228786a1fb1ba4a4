"""Run every broken script and every healthy control; print the scenario table as markdown.

For each broken script: the expected code(s), whether one was detected within the first
``--steps`` steps (and at which step, on seed 0), on how many of ``--seeds`` seeds, and the
other warnings/errors it raised. For each healthy control: the number of false positives
(warnings or errors) summed over the seeds. Every script follows the corpus protocol
(examples/README.md): ``run(steps, seed)`` returns an outcome whose ``.findings`` are read here.
Without ``--steps`` each script runs its own default number of steps (200 for the original 27).
For precision and recall per dev/test split, use examples/corpus_eval.py.
Usage: python examples/broken/run_all.py [--steps N] [--seeds 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from types import ModuleType

import torch

from trainlab.diagnose.findings import Finding

HERE = Path(__file__).resolve().parent
HEALTHY_DIR = HERE.parent / "healthy"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scripts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py")


def summary(module: ModuleType) -> str:
    doc = (module.__doc__ or "").strip().split("\n\n")[0]
    doc = " ".join(doc.split())
    for prefix in ("Broken: ", "Healthy control: ", "Healthy: "):
        doc = doc.removeprefix(prefix)
    return doc


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity != "info"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=None, help="default: each script's own")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()

    print(f"| scenario | script | expected code | detected (seed 0) | first step | seeds detected "
          f"| other findings (seed 0) |")
    print("|---|---|---|---|---|---|---|")
    n_detected = 0
    broken = scripts(HERE)
    for path in broken:
        module = load(path)
        expected = set(module.EXPECTED)
        hits = 0
        first_step, others = None, set()
        for seed in range(args.seeds):
            found = problems(module.run(steps=args.steps, seed=seed).findings)
            match = [f for f in found if f.code in expected]
            hits += bool(match)
            if seed == 0:
                first_step = min((f.first_step or 0 for f in match), default=None)
                others = {f.code for f in found} - expected
        n_detected += first_step is not None
        print(f"| {summary(module)} | `{path.name}` | {' or '.join(f'`{c}`' for c in module.EXPECTED)} "
              f"| {'yes' if first_step is not None else 'NO'} | {first_step if first_step is not None else '-'} "
              f"| {hits}/{args.seeds} | {', '.join(sorted(others)) or '-'} |")

    print(f"\n| healthy control | script | false positives (warnings/errors, {args.seeds} seeds) "
          f"| info findings (seed 0) |")
    print("|---|---|---|---|")
    total_fp = 0
    healthy = scripts(HEALTHY_DIR)
    for path in healthy:
        module = load(path)
        fps, infos = [], []
        for seed in range(args.seeds):
            findings = module.run(steps=args.steps, seed=seed).findings
            fps += [f"{f.code}" for f in problems(findings)]
            if seed == 0:
                infos = [f.code for f in findings if f.severity == "info"]
        total_fp += len(fps)
        print(f"| {summary(module)} | `{path.name}` | {len(fps)}{' (' + ', '.join(sorted(set(fps))) + ')' if fps else ''} "
              f"| {', '.join(infos) or '-'} |")
    steps = f"{args.steps} steps" if args.steps else "each script's default steps"
    print(f"\n{n_detected}/{len(broken)} broken scenarios detected on seed 0 within {steps}; "
          f"{total_fp} false positives over {len(healthy)} healthy controls x {args.seeds} seeds "
          f"({time.perf_counter() - t0:.0f} s).")


if __name__ == "__main__":
    main()
