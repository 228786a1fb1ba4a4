"""`trainlab doctor --verify` on the broken corpus: is each program's bug found before training, and
does the fix of its root cause cure it when tried on a copy?

The corpus programs are training loops, not doctor set-ups, so each is *captured*: its ``run()``
starts as usual, and when it calls ``watch(model, optimizer, ...)`` a stand-in records a deep copy
of the model and the optimizer as they are before training; the first ``--batches`` steps then
record each batch's inputs (a forward pre-hook on the model) and, through a ``TorchFunctionMode``,
the loss function the program applies (``F.cross_entropy``, ``F.mse_loss``, ... with its keyword
arguments, and the reshape between the model's output and the loss's input, e.g. a ``squeeze``);
then the run stops. The doctor sees exactly the program's model, optimizer, batches and loss.

Bugs that live in the training loop itself (a missing ``zero_grad``, a batch overwritten inside the
loop, a scheduler stepped per batch, evaluation in training mode) are outside such a set-up: for
them the doctor's findings say nothing, as expected; ``watch`` catches them during training.

The healthy programs are captured the same way: any doctor warning or error on them is a false
alarm of the doctor (their 100-step probe judges only the start of training).

Usage: python examples/doctor_corpus.py [--only NAME,...] [--batches 100] [--json FILE]
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

if (_EXAMPLES := str(Path(__file__).resolve().parent)) not in sys.path:
    sys.path.insert(0, _EXAMPLES)
from _corpus import load_program, program_paths  # noqa: E402

from trainlab.diagnose.doctor import run_doctor  # noqa: E402

LOSSES = (F.cross_entropy, F.nll_loss, F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss,
          F.binary_cross_entropy, F.binary_cross_entropy_with_logits)
LOOP_BUGS = {"missing_zero_grad", "repeated_batch_xor", "schedule_per_batch", "dropout_on_at_eval",
             "overfit_tiny_data"}  # the bug is in the loop or in the size of the data, not the set-up


class Captured(Exception):
    """Enough steps were recorded."""


class _Losses(TorchFunctionMode):
    """Records the last loss function call: (function, input, target, keyword arguments)."""

    def __init__(self) -> None:
        super().__init__()
        self.last: tuple | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in LOSSES:
            self.last = (func, args[0], args[1], {k: v for k, v in kwargs.items() if k != "target"})
        return func(*args, **kwargs)


class _Stand_in:
    """What the captured program gets instead of a watcher."""

    def __init__(self, capture: "Capture", model: torch.nn.Module) -> None:
        self.capture, self.model = capture, model
        self.outputs: list = []
        self.inputs: list = []
        model.register_forward_pre_hook(lambda m, a: self.inputs.append(a[0]))
        model.register_forward_hook(lambda m, a, out: self.outputs.append(out))

    def step(self, loss: torch.Tensor) -> None:
        c = self.capture
        if c.losses.last is None or not self.inputs:
            raise RuntimeError("no loss function or model call seen in this step")
        func, inp, target, kwargs = c.losses.last
        out = self.outputs[-1]
        if inp is not out and (not isinstance(out, torch.Tensor) or inp.numel() != out.numel()):
            raise RuntimeError("the loss is not applied to the model's output (or a reshape of it)")
        c.glue = None if inp is out else tuple(inp.shape[1:])
        c.loss = (func, kwargs)
        c.batches.append((self.inputs[-1].detach().clone(), target.detach().clone()))
        self.inputs, self.outputs = [], []
        if len(c.batches) >= c.wanted:
            raise Captured

    def record_val(self, *a: object, **k: object) -> None:
        pass

    findings: list = []

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Stand_in":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class Capture:
    def __init__(self, wanted: int) -> None:
        self.wanted, self.batches, self.losses = wanted, [], _Losses()
        self.model = self.optimizer = self.n_classes = self.loss = self.glue = None

    def watch(self, model, optimizer=None, n_classes=None, n_samples=None, **kw):
        self.model, self.optimizer = copy.deepcopy((model, optimizer))  # before any training step
        self.n_classes = n_classes
        return _Stand_in(self, model)

    def loss_fn(self):
        func, kwargs = self.loss
        glue = self.glue

        def loss_fn(out, y):
            return func(out if glue is None else out.reshape(-1, *glue), y, **kwargs)
        return loss_fn


def capture(module, seed: int, batches: int) -> Capture:
    cap = Capture(batches)
    module.watch = cap.watch
    try:
        with cap.losses:
            module.run(seed=seed)
    except Captured:
        pass
    if len(cap.batches) < batches:
        raise RuntimeError(f"the program stopped after {len(cap.batches)} steps")
    if cap.optimizer is None:
        raise RuntimeError("watch() was given no optimizer (the doctor needs one)")
    return cap


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--batches", type=int, default=100, help="steps captured (the doctor's probe length)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    only = {n for n in args.only.split(",") if n}
    rows, out = [], []
    healthy_rows, healthy = [], []
    for name, path in sorted(program_paths().items(), key=lambda kv: (kv[1].parent.name, kv[0])):
        if only and name not in only:
            continue
        if path.parent.name == "healthy":
            module = load_program(path)
            try:
                cap = capture(module, args.seed, args.batches)
            except Exception as e:  # noqa: BLE001 - reported per program
                healthy_rows.append(f"| `{name}` | not captured: {e} |")
                continue
            report = run_doctor(cap.model, cap.optimizer, cap.batches, cap.loss_fn(), n_classes=cap.n_classes,
                                steps=args.batches, seed=args.seed)
            alarms = sorted({f.code for f in report.findings if f.severity != "info"})
            healthy.append({"program": name, "alarms": alarms})
            healthy_rows.append(f"| `{name}` | {', '.join(f'`{c}`' for c in alarms) or '-'} |")
            print(f"ran {name}", file=sys.stderr)
            continue
        module = load_program(path)
        t0 = time.perf_counter()
        try:
            cap = capture(module, args.seed, args.batches)
        except Exception as e:  # noqa: BLE001 - reported per program
            rows.append(f"| `{name}` | {', '.join(module.EXPECTED)} | not captured: {e} | | | |")
            continue
        report = run_doctor(cap.model, cap.optimizer, cap.batches, cap.loss_fn(), n_classes=cap.n_classes,
                            steps=args.batches, seed=args.seed, verify=True)
        found = {f.code for f in report.findings if f.severity != "info"}
        hit = bool(found & set(module.EXPECTED))
        fixes = report.verification.results
        roots = ", ".join(f"`{g.code}`" for g in report.root_causes) or "-"
        tried = "; ".join(f"`{r.code}`: {r.fix} -> **{r.verdict}**" for r in fixes) or "-"
        kind = "loop bug" if name in LOOP_BUGS else "set-up bug"
        rows.append(f"| `{name}` | {kind} | {', '.join(f'`{c}`' for c in module.EXPECTED)} | "
                    f"{'yes' if hit else 'no'} | {roots} | {tried} |")
        out.append({"program": name, "kind": kind, "expected": list(module.EXPECTED), "found": sorted(found),
                    "detected": hit, "seconds": time.perf_counter() - t0,
                    "root_causes": [g.code for g in report.root_causes],
                    "fixes": [r.to_dict() for r in fixes]})
        print(f"ran {name} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    print("| program | kind | expected | doctor finds it | root causes (warning+) | fix tried on a copy -> verdict |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    verdicts = [r["verdict"] for o in out for r in o["fixes"]]
    setup = [o for o in out if o["kind"] == "set-up bug"]
    print(f"\nset-up bugs found by the doctor: {sum(o['detected'] for o in setup)}/{len(setup)}; "
          f"loop bugs found: {sum(o['detected'] for o in out if o['kind'] == 'loop bug')}/"
          f"{sum(o['kind'] == 'loop bug' for o in out)}; verdicts over all root causes: "
          + ", ".join(f"{v} {verdicts.count(v)}" for v in ("fixed", "improved", "not fixed", "not applicable")))
    if healthy_rows:
        print("\n| healthy program | doctor warnings or errors |\n|---|---|")
        print("\n".join(healthy_rows))
        print(f"\nhealthy programs with a doctor warning or error: {sum(bool(h['alarms']) for h in healthy)}/"
              f"{len(healthy)}")
    if args.json:
        args.json.write_text(json.dumps({"broken": out, "healthy": healthy}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
