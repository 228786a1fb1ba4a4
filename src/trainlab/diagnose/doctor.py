"""``doctor``: pre-training checks for any PyTorch model (Karpathy's recipe, automated).

``run_doctor(model, optimizer, batches)`` runs, on deep copies (the user's model, optimizer and
RNG state are left exactly as they were):

1. **loss at init** against ln C, and **input statistics** (the rules of ``checks.py``);
2. **activation scale at init**: per weight layer, the output std of the model as given next
   to the same model re-initialized with Xavier and with He (normal) on the same batch;
3. **overfit one small batch**: can it reach 100% training accuracy on ~32 samples within the
   step budget (regression: 1% of the initial loss)? If not, something is broken;
4. **a short training probe** with ``watch`` attached;
5. **gradient check**: autograd against central finite differences in float64 on a tiny batch
   (``numeric.gradient_check``);
6. **regularization check**: where the loss has a penalty strength, raising it raises the loss at
   init (``numeric.regularization_check``; torch's ``weight_decay`` is an info note).

It returns a ``DoctorReport`` of numbers, findings and the findings grouped under their root
causes (``causes.root_causes``, inferred); ``verify.verify_fixes`` tests each root cause's fix.
Loading a user's file (``--python``) and printing the report are the CLI's side
(``trainlab.diag_cli``).
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.diagnose.causes import RootCause, root_causes
from trainlab.diagnose.checks import Evidence, check_loss_at_init, check_unnormalized_inputs
from trainlab.diagnose.findings import CODES, Finding, FindingLog, make_finding
from trainlab.diagnose.numeric import (GradCheck, RegularizationCheck, gradient_check, gradient_findings,
                                       regularization_check, regularization_findings)
from trainlab.diagnose.watch import watch
from trainlab.diagnose.watch_stats import is_weight_layer
from trainlab.errors import EXIT_FAILURE, EXIT_OK, UsageError
from trainlab.stats import json_clean

LossFn = Callable[[Any, Any], torch.Tensor]

# Probe findings that only say "nothing learned yet": a short probe cannot tell a slow start from a
# fault, so they are info when the model overfits a small batch (reached or nearly). Findings with a
# layer ("loss", "output", a module) rest on structural evidence and keep their severity.
SLOW_START = frozenset({"loss_plateau", "collapsed_predictions", "lr_too_low"})

# How the reference inits are applied to a deep copy: name -> weight initializer.
REFERENCE_INITS: dict[str, Callable[[torch.Tensor], Any]] = {
    "xavier": nn.init.xavier_normal_,
    "he": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}


@dataclass
class LayerScale:
    """Output std of one weight layer at init: as given, and under Xavier / He init."""

    name: str
    std: float
    xavier_std: float
    he_std: float


@dataclass
class OverfitResult:
    """The overfit-one-batch test: did the model memorize ``samples`` examples?"""

    samples: int
    steps: int
    reached: bool
    initial_loss: float
    final_loss: float
    final_acc: float | None = None


@dataclass
class DoctorReport:
    """Everything the doctor measured, and the deduplicated findings."""

    findings: list[Finding]
    init_loss: float | None = None
    expected_init_loss: float | None = None
    input_mean: float | None = None
    input_std: float | None = None
    layer_scales: list[LayerScale] = field(default_factory=list)
    overfit: OverfitResult | None = None
    probe_steps: int = 0
    n_classes: int | None = None
    probe_first_loss: float | None = None
    probe_final_loss: float | None = None  # median of the probe's last 10 losses
    n_samples: int | None = None  # samples in the batches given (watch's n_samples in the probe)
    gradient: GradCheck | None = None
    regularization: RegularizationCheck | None = None
    verification: Any = None  # verify.Verification, when --verify ran

    @property
    def exit_code(self) -> int:
        return exit_code(self.findings)

    @property
    def root_causes(self) -> list[RootCause]:
        """Warnings and errors grouped under their root causes (inferred from ``causes.EFFECTS``)."""
        return root_causes(self.findings)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("findings", "verification")}
        d["findings"] = [f.to_dict() for f in self.findings]
        d["root_causes"] = [g.to_dict() for g in self.root_causes]
        if self.verification is not None:
            d["verification"] = self.verification.to_dict()
        return json_clean(d)


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any finding is at error level, else 0 (the exit codes in the README, "Commands")."""
    return EXIT_FAILURE if any(f.severity == "error" for f in findings) else EXIT_OK


def default_loss_fn(targets: torch.Tensor) -> LossFn:
    """Cross-entropy for integer class targets, mean squared error otherwise."""
    if isinstance(targets, torch.Tensor) and not targets.is_floating_point():
        return F.cross_entropy
    return lambda out, y: F.mse_loss(out.reshape(y.shape) if out.numel() == y.numel() else out, y)


def _is_classification(out: Any, y: Any) -> bool:
    return (isinstance(out, torch.Tensor) and isinstance(y, torch.Tensor)
            and not y.is_floating_point() and out.ndim == y.ndim + 1 and out.shape[-1] >= 2)


def _first_batch(batches: Iterable[Any]) -> tuple[Any, Any]:
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise UsageError(f"each batch must be (inputs, targets), got {type(batch).__name__}")
        return batch[0], batch[1]
    raise UsageError("batches is empty: give at least one (inputs, targets) batch")


def _take_samples(batches: Iterable[Any], n: int) -> tuple[Any, Any]:
    """The first ``n`` (inputs, targets) of the batches, concatenated when batches are small."""
    xs, ys, have = [], [], 0
    for batch in batches:
        xs.append(batch[0][: n - have])
        ys.append(batch[1][: n - have])
        have += len(xs[-1])
        if have >= n or not isinstance(batch[0], torch.Tensor):
            break
    if len(xs) == 1:
        return xs[0], ys[0]
    return torch.cat(xs), torch.cat(ys)


def rng_devices(model: nn.Module) -> list[int]:
    """CUDA devices whose RNG the model's dropout would draw from (fork_rng saves them)."""
    return sorted({p.device.index or 0 for p in model.parameters() if p.is_cuda})


def _layer_stds(model: nn.Module, x: Any) -> dict[str, float]:
    """Output std of every leaf weight layer on one forward pass (no grad)."""
    stds: dict[str, torch.Tensor] = {}
    hooks = []
    for name, m in model.named_modules():
        if is_weight_layer(m):
            def hook(mod: nn.Module, inp: tuple, out: Any, name: str = name) -> None:
                if isinstance(out, torch.Tensor) and out.is_floating_point():
                    stds.setdefault(name, out.detach().float().std())
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return {n: float(v) for n, v in stds.items()}


def _reinit(model: nn.Module, init: Callable[[torch.Tensor], Any]) -> nn.Module:
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for m in clone.modules():
            if is_weight_layer(m):
                init(m.weight)
                if isinstance(getattr(m, "bias", None), nn.Parameter):
                    nn.init.zeros_(m.bias)
    return clone


def measure_layer_scales(model: nn.Module, x: Any) -> list[LayerScale]:
    """Per-layer output std at init, as given and under the reference inits, same batch."""
    given = _layer_stds(copy.deepcopy(model), x)
    refs = {k: _layer_stds(_reinit(model, init), x) for k, init in REFERENCE_INITS.items()}
    return [LayerScale(n, s, refs["xavier"].get(n, math.nan), refs["he"].get(n, math.nan))
            for n, s in given.items()]


def check_init_scale(scales: list[LayerScale]) -> list[Finding]:
    """The layer whose init scale is furthest outside [0.1x, 10x] of both reference inits. The
    output layer is only judged for being too large: small logits at init are the recipe's advice
    (a loss at init near ln C), not a fault."""
    k = CODES["init_scale"].threshold
    worst: tuple[float, Finding] | None = None
    for i, s in enumerate(scales):
        lo, hi = min(s.xavier_std, s.he_std), max(s.xavier_std, s.he_std)
        if not (math.isfinite(lo) and lo > 0):
            continue
        ratio = s.std / hi if s.std > hi else s.std / lo if s.std < lo else 1.0  # inside [lo, hi]: fine
        off = abs(math.log10(ratio)) if ratio > 0 else math.inf
        small_output = i == len(scales) - 1 and ratio < 1
        if (ratio > k or ratio < 1 / k) and not small_output and (worst is None or off > worst[0]):
            worst = (off, make_finding("init_scale", 0, f"output std at init {s.std:.3g}; "
                                       f"Xavier would give {s.xavier_std:.3g}, He "
                                       f"{s.he_std:.3g}", layer=s.name, value=ratio,
                                       threshold=k))
    return [worst[1]] if worst else []


def _accuracy(out: Any, y: Any) -> float | None:
    """Accuracy for class-index targets (argmax) and for one-output binary targets of 0/1 (the output
    read as a probability when it lies in [0, 1], else as a logit); None for regression."""
    if _is_classification(out, y):
        return float((out.argmax(-1) == y).float().mean())
    if (isinstance(out, torch.Tensor) and isinstance(y, torch.Tensor) and out.numel() == y.numel()
            and y.is_floating_point() and bool(((y == 0) | (y == 1)).all())):
        o = out.reshape(y.shape)
        cut = 0.5 if bool(((o >= 0) & (o <= 1)).all()) else 0.0
        return float(((o > cut).to(y.dtype) == y).float().mean())
    return None


def overfit_small_batch(model: nn.Module, optimizer: torch.optim.Optimizer, x: Any, y: Any,
                        loss_fn: LossFn, max_steps: int = 500, check_every: int = 10) -> OverfitResult:
    """Train (in place: pass copies) on one fixed batch; stop at 100% accuracy (classification)
    or 1% of the initial loss (regression). Accuracy is judged in eval mode (no dropout)."""
    initial = loss = math.nan
    acc: float | None = None
    for step in range(1, max_steps + 1):
        model.train()
        optimizer.zero_grad()
        out = model(x)
        batch_loss = loss_fn(out, y)
        if step == 1:
            initial = float(batch_loss.detach())
        batch_loss.backward()
        optimizer.step()
        if step % check_every == 0 or step == max_steps:
            model.eval()
            with torch.no_grad():
                out = model(x)
                loss = float(loss_fn(out, y))
                acc = _accuracy(out, y)
            reached = acc == 1.0 if acc is not None else loss < 0.01 * initial
            if reached or not math.isfinite(loss):
                return OverfitResult(len(x), step, bool(reached), initial, loss, acc)
    return OverfitResult(len(x), max_steps, False, initial, loss, acc)


def _probe(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[Any],
           loss_fn: LossFn, n_classes: int | None, steps: int,
           n_samples: int | None = None) -> tuple[list[Finding], int, list[float]]:
    done = 0
    losses: list[torch.Tensor] = []
    with watch(model, optimizer, n_classes=n_classes, n_samples=n_samples) as w:
        while done < steps:
            progressed = False
            for batch in batches:
                optimizer.zero_grad()
                loss = loss_fn(model(batch[0]), batch[1])
                loss.backward()
                w.step(loss)
                losses.append(loss.detach().float().mean())
                optimizer.step()
                done, progressed = done + 1, True
                if done >= steps:
                    break
            if not progressed or iter(batches) is batches:
                break
    return w.findings, done, torch.stack(losses).tolist() if losses else []


def _samples_in(batches: Iterable[Any]) -> int | None:
    """Samples in a finite list of batches (one epoch of the probe), else None. A batch that
    repeats an earlier one (the same full batch listed for every step) counts once."""
    if not isinstance(batches, (list, tuple)):
        return None
    seen: set = set()
    n = 0
    try:
        for b in batches:
            x = b[0]
            key: Any = id(x)
            if isinstance(x, torch.Tensor):
                flat = x.detach().reshape(-1)
                key = (tuple(x.shape), tuple(flat[::max(1, flat.numel() // 16)][:16].tolist()))
            if key not in seen:
                seen.add(key)
                n += len(x)
    except TypeError:
        return None
    return n


class _KeepGrads:
    """Restores the user's ``.grad`` tensors afterwards: a loss function that closes over the user's
    model (not a copy) would otherwise accumulate gradients into it."""

    def __init__(self, model: nn.Module) -> None:
        self.saved = [(p, None if p.grad is None else p.grad.clone()) for p in model.parameters()]

    def __enter__(self) -> "_KeepGrads":
        return self

    def __exit__(self, *exc: object) -> None:
        for p, g in self.saved:
            p.grad = g


def run_doctor(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[Any],
               loss_fn: LossFn | None = None, n_classes: int | None = None, steps: int = 100,
               overfit_steps: int = 500, overfit_samples: int = 32, seed: int = 0,
               gradcheck: bool = True, verify: bool = False) -> DoctorReport:
    """Run the pre-training checks on copies of (model, optimizer); see the module docstring.

    ``n_classes`` defaults to the model's output width when the targets are class indices.
    The user's model, optimizer, batches, RNG state and ``.grad`` tensors are left as they were.
    ``verify``: then try each root cause's fix on a copy and run the checks again, with the same
    seed and the same batches (the first ``steps`` batches, kept as a list): ``report.verification``.
    """
    if verify and not isinstance(batches, list):
        batches = list(itertools.islice(batches, max(steps, 1)))
    with _KeepGrads(model):
        report = _run_doctor(model, optimizer, batches, loss_fn, n_classes, steps, overfit_steps,
                             overfit_samples, seed, gradcheck)
        if verify:
            from trainlab.diagnose.setup_fixes import Setup
            from trainlab.diagnose.verify import verify_fixes

            setup = Setup(model, optimizer, batches, loss_fn or default_loss_fn(_first_batch(batches)[1]),
                          report.n_classes)

            def again(s: Setup) -> DoctorReport:
                return _run_doctor(s.model, s.optimizer, s.batches, s.loss_fn, s.n_classes, steps,
                                   overfit_steps, overfit_samples, seed, gradcheck=False)
            report.verification = verify_fixes(report, setup, again, seed, steps)
    return report


def _run_doctor(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[Any],
                loss_fn: LossFn | None, n_classes: int | None, steps: int, overfit_steps: int,
                overfit_samples: int, seed: int, gradcheck: bool) -> DoctorReport:
    if not isinstance(model, nn.Module):
        raise UsageError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise UsageError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if iter(batches) is batches:  # a one-shot iterator: keep what the checks will use
        batches = list(itertools.islice(batches, max(steps, 1)))
    x, y = _first_batch(batches)
    loss_fn = loss_fn or default_loss_fn(y)
    log = FindingLog()
    report = DoctorReport(findings=[])
    with torch.random.fork_rng(devices=rng_devices(model)):
        torch.manual_seed(seed)
        n_classes = _init_checks(model, loss_fn, x, y, n_classes, report, log)
        learns = _overfit_check(model, optimizer, loss_fn, batches, overfit_samples, overfit_steps, report, log)
        report.n_samples = _samples_in(batches)
        _probe_checks(model, optimizer, loss_fn, batches, n_classes, steps, learns, report, log)
        if gradcheck:
            report.gradient = gradient_check(model, loss_fn, x, y, seed)
            log.extend(gradient_findings(report.gradient))
        report.regularization = regularization_check(model, loss_fn, x, y, seed)
        log.extend(regularization_findings(report.regularization, optimizer))
    report.findings = log.findings()
    return report


def _init_checks(model: nn.Module, loss_fn: LossFn, x: Any, y: Any, n_classes: int | None,
                 report: DoctorReport, log: FindingLog) -> int | None:
    """The checks at initialization (loss at init, input scale, layer scales), on a copy of the
    model; returns the number of classes (inferred from the output when not given)."""
    with torch.no_grad():
        out = copy.deepcopy(model)(x)
        report.init_loss = float(loss_fn(out, y))
    if n_classes is None and _is_classification(out, y):
        n_classes = int(out.shape[-1])
    if n_classes:
        report.expected_init_loss = math.log(n_classes)
    report.n_classes = n_classes
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        xf = x.detach().float()
        report.input_mean, report.input_std = float(xf.mean()), float(xf.std())
        rms = float(xf.pow(2).mean().sqrt())
    else:
        rms = None
    ev = Evidence(step=0, first_losses=[report.init_loss], n_classes=n_classes,
                  input_mean=report.input_mean, input_rms=rms, input_layer="input")
    log.extend(check_loss_at_init(ev) + check_unnormalized_inputs(ev))
    report.layer_scales = measure_layer_scales(model, x)
    log.extend(check_init_scale(report.layer_scales))
    return n_classes


def _overfit_check(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, batches: Any,
                   overfit_samples: int, overfit_steps: int, report: DoctorReport, log: FindingLog) -> bool:
    """Overfit a small batch on copies; returns whether the model learns (reached, or nearly:
    then the miss is only info, not a sign of a bug)."""
    m_copy, o_copy, l_copy = copy.deepcopy((model, optimizer, loss_fn))  # one memo: o_copy steps m_copy
    xs, ys = _take_samples(batches, overfit_samples)
    report.overfit = overfit_small_batch(m_copy, o_copy, xs, ys, l_copy, overfit_steps)
    if report.overfit.reached:
        return True
    o, spec = report.overfit, CODES["cannot_overfit"]
    got = (f"accuracy {o.final_acc:.0%}" if o.final_acc is not None
           else f"loss {o.final_loss:.3g} (from {o.initial_loss:.3g})")
    learns = (o.final_acc >= spec.extra["info_acc"] if o.final_acc is not None
              else o.final_loss <= spec.extra["info_loss"] * o.initial_loss)
    log.add(make_finding("cannot_overfit", 0, f"after {o.steps} steps on {o.samples} samples: {got}"
                         + ("; nearly there, so not a sign of a bug" if learns else ""),
                         value=o.final_acc, severity="info" if learns else "warning"))
    return learns


def _probe_checks(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, batches: Any,
                  n_classes: int | None, steps: int, learns: bool, report: DoctorReport, log: FindingLog) -> None:
    """A short watched training run on copies; a slow start is only info when the model learns."""
    m_copy, o_copy, l_copy = copy.deepcopy((model, optimizer, loss_fn))  # one memo: a Penalized loss follows
    probe_findings, report.probe_steps, losses = _probe(m_copy, o_copy, batches, l_copy, n_classes, steps,
                                                        report.n_samples)
    if losses:
        report.probe_first_loss = losses[0]
        tail = sorted(losses[-10:])
        report.probe_final_loss = tail[len(tail) // 2]
    for f in probe_findings:
        if f.code == "loss_at_init":
            continue  # judged above
        if learns and f.code in SLOW_START and f.layer is None and f.severity == "warning":  # slow start
            f.severity = "info"
            f.message += (f" (at step {steps}; the model overfits a small batch, so a slow start is "
                          f"likely: watch the full run)")
        log.add(f)
