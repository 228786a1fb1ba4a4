"""Findings: what a health check reports, and the fixed vocabulary of finding codes.

A ``Finding`` is one diagnosed problem: a code from ``CODES``, a severity, the step and layer
where it was seen, a message a person understands, and a fix to try. ``CODES`` is the single
documented table of codes: each row carries its default severity, its threshold, where that
threshold comes from, and the fix. The rules in ``checks.py``, the docs table in
``docs/diagnostics.md`` and the CLI all read this one table, so adding a code is one row here
plus one rule function there.

Findings are deduplicated by ``FindingLog``: one finding per (code, layer), updated with the
latest step and value and a count of how many measured steps it fired on, never one per step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from trainlab.stats import finite_or_none

SEVERITIES = ("info", "warning", "error")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class CodeSpec:
    """One row of the finding vocabulary.

    ``threshold`` is the main number of the rule; ``extra`` holds any further numbers the rule
    uses (named so the docs can print them); ``rule`` says in words when the code fires.
    """

    severity: str
    threshold: float | None
    rule: str
    source: str
    fix: str
    extra: Mapping[str, float] = field(default_factory=dict)


CODES: dict[str, CodeSpec] = {
    "nonfinite_loss": CodeSpec(
        "error", None, "the loss is NaN or +-inf on any step",
        "IEEE 754; Karpathy 2019 recipe (a NaN never recovers)",
        "lower the learning rate, check the data for NaN/inf, guard log(0) and division in custom "
        "losses, clip gradients (torch.nn.utils.clip_grad_norm_)"),
    "loss_at_init": CodeSpec(
        "warning", 0.5, "|first loss - ln C| > max(0.5, 0.25 * ln C) with C = n_classes",
        "Karpathy 2019 recipe ('verify loss @ init' = -log(1/C)); CS231n babysitting",
        "initialize the last layer small (e.g. Xavier/He, or scale it down), normalize the "
        "inputs, and check n_classes and the loss function", {"rel": 0.25}),
    "unnormalized_inputs": CodeSpec(
        "warning", 2.0, "first layer input |mean| > 2, or rms > 5, or rms < 0.01",
        "LeCun et al. 1998 'Efficient BackProp' sec. 4.3; CS231n data preprocessing "
        "(zero mean, unit variance)",
        "standardize the inputs: x = (x - mean) / std with mean and std from the training set "
        "(for images: divide by 255, then subtract the per-channel mean)",
        {"rms_high": 5.0, "rms_low": 0.01}),
    "exploding_gradients": CodeSpec(
        "warning", 1e3, "a layer's weight-gradient norm > 1e3, or is inf, or the ratio "
        "first-layer / last-layer gradient norm > 1e3 (networks of 3+ layers)",
        "Pascanu et al. 2013 (gradient clipping; typical clip norms 1-10); Glorot & Bengio 2010",
        "use Xavier/He init instead of a fixed large sigma, normalize the inputs, lower the "
        "learning rate, clip gradients, or add normalization layers",
        {"depth_ratio": 1e3}),
    "vanishing_gradients": CodeSpec(
        "warning", 1e-4, "ratio first-layer / last-layer weight-gradient norm < 1e-4 "
        "(networks of 3+ layers), or every layer's gradient norm < 1e-8 on the last 3 measured "
        "steps while the loss is still above half its initial value",
        "Hochreiter 1991; Glorot & Bengio 2010 (gradients shrink with depth under sigmoid and "
        "small init)",
        "use ReLU-family activations and He init (Xavier for tanh), add BatchNorm or residual "
        "connections, or use fewer layers", {"abs_norm": 1e-8}),
    "dead_units": CodeSpec(
        "warning", 0.75, "> 75% of a ReLU layer's units are never active (output 0) on every one "
        "of at least 128 samples seen (conv: per channel; models with functional F.relu only: "
        "input features of the 2nd+ weight layers that are exactly 0)",
        "CS231n ('as much as 40% of your network can be dead' with a high learning rate); "
        "Karpathy 2016 'Yes you should understand backprop'",
        "initialize biases at 0 (or 0.01), use He init, lower the learning rate, or use "
        "LeakyReLU/ELU", {"min_samples": 128}),
    "saturated_units": CodeSpec(
        "warning", 0.5, "> 50% of a tanh/sigmoid layer's units are saturated (|tanh| > 0.99, "
        "sigmoid < 0.01 or > 0.99) on more than half of the samples; the output layer is exempt",
        "LeCun et al. 1998 'Efficient BackProp' sec. 4.4; Glorot & Bengio 2010",
        "use Xavier init (or a smaller init scale), normalize the inputs, or use ReLU-family "
        "activations", {"unit_rate": 0.5, "min_samples": 64}),
    "symmetric_init": CodeSpec(
        "error", 1e-6, "all units of a hidden layer have identical weights and bias: "
        "||W - mean row|| / ||W|| < 1e-6 over the rows of [W | b], e.g. after a zero or "
        "constant init",
        "Goodfellow et al. 2016 'Deep Learning' sec. 8.4 (break symmetry); CS231n "
        "('pitfall: all zero initialization')",
        "initialize weights randomly (nn.init.xavier_normal_ / kaiming_normal_), never with "
        "zeros or a constant; zero init is only safe for the last layer"),
    "lr_too_high": CodeSpec(
        "warning", 0.3, "median update/weight ratio ||dW|| / ||W|| of a layer over the last 5 "
        "measured steps > 0.3 (300x CS231n's ~1e-3), or the loss (median of the last 10 steps) "
        "rose above 1.5x its starting level",
        "CS231n: update/weight ~1e-3 ('much higher: learning rate too high'); Karpathy 2019",
        "lower the learning rate by 3-10x (run `trainlab lr-find`), or add warm-up",
        {"loss_rise": 1.5, "window": 5}),
    "lr_too_low": CodeSpec(
        "warning", 1e-5, "every layer's median update/weight ratio < 1e-5 (100x below CS231n's "
        "~1e-3) while the loss changed by less than 1% over the last 20 steps",
        "CS231n: update/weight ~1e-3 ('much lower: learning rate too low')",
        "raise the learning rate by 10-100x (run `trainlab lr-find`)", {"flat": 0.01}),
    "loss_plateau": CodeSpec(
        "warning", 0.01, "over the last 50 steps the loss (median of each half) changed by "
        "less than 1% and is still above 80% of the chance level ln C (without n_classes: of "
        "its starting level)",
        "CS231n/Karpathy babysitting: 'loss does not change much: learning rate too small or "
        "regularization too strong'",
        "raise the learning rate, lower regularization, check that labels match inputs, and "
        "check capacity (a linear model cannot fit circles)", {"window": 50, "still_high": 0.8}),
    "loss_oscillation": CodeSpec(
        "warning", 0.6, "over the last 50 steps the loss difference changes sign on > 30% of "
        "steps (not a trend) and its mean |step-to-step change| > 0.6x the loss level (at least 0.2x the "
        "chance level ln C, or of the starting loss without n_classes)",
        "CS231n/Karpathy babysitting: 'loss oscillates a lot: increase the mini-batch size'",
        "increase the batch size, lower the learning rate, or use momentum/Adam",
        {"window": 50, "sign_rate": 0.3}),
    "overfitting": CodeSpec(
        "warning", 0.1, "validation loss rose > 10% above its best (Prechelt's generalization "
        "loss GL > 10) while the training loss kept falling (the gap widens), after >= 3 "
        "evaluations",
        "Prechelt 1998 'Early stopping - but when?' (GL_alpha criterion)",
        "add data or augmentation, regularize (weight decay, dropout), use a smaller model, or "
        "stop early at the best validation loss", {"min_evals": 3}),
    "probabilities_into_ce": CodeSpec(
        "warning", 1e-4, "the model's outputs are >= 0 and sum to 1 (within 1e-4) along the last "
        "dim, i.e. they are already probabilities",
        "PyTorch docs: CrossEntropyLoss expects unnormalized logits (it applies log_softmax)",
        "remove the final Softmax and feed logits to CrossEntropyLoss (or use log_softmax with "
        "NLLLoss)"),
    "grad_accumulation": CodeSpec(
        "error", 1e-3, "a layer's .grad holds more than this step's backward passes put there: "
        "the part not explained by a scaled copy of this step's fresh gradient exceeds 1e-3 of "
        "its norm, or .grad is > 1.001x the fresh gradient (on a fixed strided sample of up to "
        "16k elements)",
        "PyTorch autograd semantics: .grad accumulates until zero_grad()",
        "call optimizer.zero_grad() (or model.zero_grad()) once per step, before backward()"),
    "init_scale": CodeSpec(
        "warning", 10.0, "doctor: a layer's activation std at init is > 10x or < 0.1x what both "
        "Xavier and He init would give on the same batch",
        "Glorot & Bengio 2010; He et al. 2015 (variance-preserving init)",
        "use nn.init.xavier_normal_ (tanh/sigmoid) or kaiming_normal_ (ReLU) instead of the "
        "current init"),
    "cannot_overfit": CodeSpec(
        "warning", 1.0, "doctor: the model does not reach 100% training accuracy (regression: "
        "1% of the initial loss) on ~32 samples within the step budget",
        "Karpathy 2019 recipe ('overfit one batch'); seed 002 slides",
        "check the labels, the loss, the learning rate and the model's capacity; a bug "
        "usually hides here"),
    "checks_skipped": CodeSpec(
        "info", None, "a check could not run (optimizer omitted, n_classes not given, ...)",
        "trainlab", "pass the missing argument to watch()/run_doctor() to enable the check"),
}


@dataclass
class Finding:
    """One diagnosed problem. ``value``/``threshold`` are the numbers the rule compared."""

    code: str
    severity: str
    step: int
    layer: str | None
    message: str
    fix: str
    value: float | None = None
    threshold: float | None = None
    count: int = 1
    first_step: int | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}; valid: {sorted(CODES)}")
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.first_step is None:
            self.first_step = self.step

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite numbers become None)."""
        d = asdict(self)
        d["value"] = finite_or_none(self.value)
        d["threshold"] = finite_or_none(self.threshold)
        return d

    def __str__(self) -> str:
        where = f" [{self.layer}]" if self.layer else ""
        return f"{self.severity.upper()} {self.code}{where} @ step {self.step}: {self.message}"


def make_finding(code: str, step: int, message: str, layer: str | None = None,
                 value: float | None = None, threshold: float | None = None,
                 severity: str | None = None) -> Finding:
    """A Finding whose severity, fix and default threshold come from ``CODES``."""
    spec = CODES[code]
    return Finding(code=code, severity=severity or spec.severity, step=int(step), layer=layer,
                   message=message, fix=spec.fix,
                   value=None if value is None else float(value),
                   threshold=spec.threshold if threshold is None else float(threshold))


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error."""
    return _RANK[severity]


class FindingLog:
    """Deduplicated findings: one per (code, layer), updated with the latest step and value."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str | None], Finding] = {}

    def add(self, finding: Finding) -> Finding:
        """Merge one finding; returns the stored (possibly updated) finding."""
        key = (finding.code, finding.layer)
        old = self._by_key.get(key)
        if old is None:
            self._by_key[key] = finding
            return finding
        old.count += finding.count
        old.step = finding.step
        old.value = finding.value
        old.threshold = finding.threshold
        old.message = finding.message
        if severity_rank(finding.severity) > severity_rank(old.severity):
            old.severity = finding.severity
        return old

    def extend(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            self.add(f)

    def findings(self) -> list[Finding]:
        """All findings, most severe first, then by the step first seen."""
        return sorted(self._by_key.values(),
                      key=lambda f: (-severity_rank(f.severity), f.first_step or 0, f.code))

    def __len__(self) -> int:
        return len(self._by_key)


def codes_of(findings: Iterable[Finding], min_severity: str = "info") -> set[str]:
    """The set of codes at or above ``min_severity``."""
    floor = severity_rank(min_severity)
    return {f.code for f in findings if severity_rank(f.severity) >= floor}


def codes_markdown() -> str:
    """The finding vocabulary as a markdown table (docs/diagnostics.md embeds it verbatim)."""
    rows = ["| code | severity | fires when (threshold) | source of the threshold | fix |",
            "|---|---|---|---|---|"]
    for code, spec in CODES.items():
        cells = (f"`{code}`", spec.severity, spec.rule, spec.source, spec.fix)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
