"""Speed of `trainlab lab shallow`: the whole study as populations vs the naive one-model-at-a-time loop.

The study (default or --quick) runs end to end, figures and JSON included, and its wall time is
printed with each population's share. The naive loop is what seeds 000/001 write: one nn.Sequential
and one torch.optim optimizer per model, one model after another, doing the same work per model as
the study (the same steps; train loss and val loss on the curve points every 20 steps; the final
evaluation on all validation points; for the report variant, AdamW with its checkpoints on the
test set). A few naive models of each kind are timed and scaled to the study's member counts.
Both are measured in the same run, on the same threads. The machine may be shared: the script
prints the load average next to the times.

Usage: python benchmarks/lab_shallow.py [--quick] [--naive 3] [--threads 1] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from peak import machine_line
from trainlab.data.toy import make_toy
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.shallow import STUDY
from trainlab.experiments.shallow.populations import VARIANT_N_TEST, VARIANT_N_VAL, plan
from trainlab.experiments.shallow.settings import ShallowSettings
from trainlab.experiments.study import run_study

DEFAULTS = ShallowSettings()
LAB_LR, LAB_STEPS, EVAL_EVERY, VARIANT_LR = DEFAULTS.lr, DEFAULTS.steps, DEFAULTS.eval_every, DEFAULTS.variant_lr
N_TRAIN, N_VAL, N_CURVE = DEFAULTS.n_train, DEFAULTS.n_val, DEFAULTS.n_curve


def _net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.5)
            nn.init.zeros_(m.bias)
    return model


@torch.no_grad()
def _eval(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    out = model(x)
    return float(F.cross_entropy(out, y)), float((out.argmax(1) == y).float().mean())


def naive_model(kind: str, steps: int, eval_every: int, seed: int, data) -> float:
    """Seconds to train and evaluate one model the naive way; ``kind`` is "sgd" (lab) or "adamw" (variant)."""
    (xt, yt), (xv, yv), (xc, yc), (xs, ys) = data
    model = _net(seed)
    opt = (torch.optim.SGD(model.parameters(), lr=LAB_LR) if kind == "sgd"
           else torch.optim.AdamW(model.parameters(), lr=VARIANT_LR))
    t0 = time.perf_counter()
    for step in range(steps + 1):
        if step % eval_every == 0:
            _eval(model, xt, yt)
            _eval(model, xc, yc)  # the val curve points (lab) or the val set (variant)
            if kind == "adamw":
                _eval(model, xs, ys)  # the test set at each checkpoint
        if step == steps:
            break
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
    if kind == "sgd":
        _eval(model, xv, yv)  # final metrics on the whole validation set
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="time the quick study instead of the default")
    ap.add_argument("--naive", type=int, default=3, help="naive models timed per kind")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the study's default, 1)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    st = ShallowSettings.resolve(args.quick)
    threads = args.threads or 1
    torch.set_num_threads(threads)
    print(machine_line())

    out = args.out or Path(tempfile.mkdtemp(prefix="lab_shallow_")) / "shallow"
    t0 = time.perf_counter()
    s = run_study(STUDY, out, StudyOptions(quick=args.quick, quiet=True, threads=threads, device="cpu"))
    t_study = time.perf_counter() - t0
    pops = s["provenance"]["populations"]
    print(f"study ({'quick' if args.quick else 'default'}): {t_study:.1f} s wall, "
          f"{sum(p['members'] for p in pops)} members; load {os.getloadavg()[0]:.1f}")
    for p in pops:
        print(f"  {p['name']:<13} {p['members']:>4} members x {p['steps']:>5} steps  {p['seconds']:6.1f} s")

    ds = make_toy("circles", N_TRAIN, N_VAL, VARIANT_N_TEST, seed=0)
    data = ((ds.train.x, ds.train.y), (ds.val.x, ds.val.y), (ds.val.x[:N_CURVE], ds.val.y[:N_CURVE]),
            (ds.test.x, ds.test.y))
    vdata = (data[0], data[1], (ds.val.x[:VARIANT_N_VAL], ds.val.y[:VARIANT_N_VAL]), data[3])
    naive_model("sgd", 50, EVAL_EVERY, 0, data)  # warm-up
    per = {
        "sgd": min(naive_model("sgd", LAB_STEPS, EVAL_EVERY, i, data) for i in range(args.naive)),
        "adamw": min(naive_model("adamw", st.variant_steps, st.variant_eval_every, i, vdata) for i in range(args.naive)),
    }
    counts = {"sgd": 0, "adamw": 0}
    for p in plan(st):
        counts[p.cfg.optim.name] += len(p.members)
    naive_total = sum(per[k] * counts[k] for k in per)
    for k in per:
        print(f"naive {k:<5}: {per[k]:.3f} s/model (best of {args.naive}) x {counts[k]} models = {per[k] * counts[k]:.0f} s")
    print(f"naive estimate: {naive_total:.0f} s ({naive_total / 60:.1f} min) vs study {t_study:.1f} s: "
          f"{naive_total / t_study:.0f}x faster (target: the default study under 60 s)")


if __name__ == "__main__":
    main()
