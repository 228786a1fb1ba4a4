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
    ``severity`` is the default (the highest the code reaches); ``levels`` says in words when a
    finding of the code is raised at a lower severity (its boundaries are numbers in ``extra``).
    """

    severity: str
    threshold: float | None
    rule: str
    source: str
    fix: str
    extra: Mapping[str, float] = field(default_factory=dict)
    levels: str = ""


CODES: dict[str, CodeSpec] = {
    "nonfinite_loss": CodeSpec(
        "error", None, "the loss is NaN or +-inf on any step",
        "IEEE 754; Karpathy 2019 recipe (a NaN never recovers)",
        "lower the learning rate, check the data for NaN/inf, guard log(0) and division in custom "
        "losses, clip gradients (torch.nn.utils.clip_grad_norm_)"),
    "loss_at_init": CodeSpec(
        "warning", 0.5, "|first loss - ln C| > max(0.5, 0.25 * ln C) with C = n_classes",
        "Karpathy 2019 recipe ('verify loss @ init' = -log(1/C)); CS231n babysitting. Severity "
        "boundary 5x ln C: issue 14's fixed programs train well at 1.35x-3.4x ln C (seeds 0-2), "
        "the dropout study's lab init costs val error at 8x ln 10 and the seed-000 sigma-10 init "
        "starts at 67-700x",
        "initialize the last layer small (e.g. Xavier/He, or scale it down), normalize the "
        "inputs, and check n_classes and the loss function", {"rel": 0.25, "warn_ratio": 5.0},
        levels="info; warning when the first loss is above 5x ln C"),
    "unnormalized_inputs": CodeSpec(
        "warning", 2.0, "first layer input |mean| > 2, or rms > 5, or rms < 0.1",
        "LeCun et al. 1998 'Efficient BackProp' sec. 4.3; CS231n data preprocessing "
        "(zero mean, unit variance). Severity boundaries |mean| 5, rms 10 and 0.01: inputs "
        "with mean 2 train to criterion (issue 14); offset 10 (seed 000), pixels in 0..255 "
        "(rms ~100) and pixels scaled by 1/255 twice (rms ~0.001) do not",
        "standardize the inputs: x = (x - mean) / std with mean and std from the training set "
        "(for images: divide by 255, then subtract the per-channel mean)",
        {"rms_high": 5.0, "rms_low": 0.1, "warn_mean": 5.0, "warn_rms_high": 10.0, "warn_rms_low": 0.01},
        levels="info; warning when |mean| > 5, rms > 10 or rms < 0.01"),
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
        "rose above 1.5x its first value",
        "CS231n: update/weight ~1e-3 ('much higher: learning rate too high'); Karpathy 2019. "
        "The ratio is a prior, not evidence: a 1-5-1 sigmoid net at full-batch SGD lr 0.5 "
        "runs at ~0.3 and converges (issue 14)",
        "lower the learning rate by 3-10x (run `trainlab lr-find`), or add warm-up",
        {"loss_rise": 1.5, "window": 5},
        levels="info from the update ratio alone; warning with evidence from the loss (the rise, "
               "jumps as large as loss_oscillation's, or a non-finite loss)"),
    "lr_too_low": CodeSpec(
        "warning", 1e-5, "every layer's median update/weight ratio < 1e-5 (100x below CS231n's "
        "~1e-3) while the loss changed by less than 1% over the last 20 steps",
        "CS231n: update/weight ~1e-3 ('much lower: learning rate too low')",
        "raise the learning rate by 10-100x (run `trainlab lr-find`)", {"flat": 0.01},
        levels="warning while it lasts; info with resolved_at once the update ratio is back above "
               "1e-5 (a warm-up from ~0)"),
    "loss_plateau": CodeSpec(
        "warning", 0.01, "over the last 50 steps the loss (median of each half) changed by "
        "less than 1%, is still above 90% of the level of a model that learned nothing (ln C; "
        "without n_classes: its starting level), and, where the outputs are class scores, the "
        "predictions carry less than 5% of ln C of information about the input",
        "CS231n/Karpathy babysitting: 'loss does not change much: learning rate too small or "
        "regularization too strong'. 90%: converged runs with 30% label noise sit at 87-89% of "
        "ln 2 (their Bayes loss is 88%); a regression still learning sits at 81-84% of its start",
        "raise the learning rate, lower regularization, check that labels match inputs, and "
        "check capacity (a linear model cannot fit circles)",
        {"window": 50, "still_high": 0.9, "info_floor": 0.05},
        levels="warning while it lasts; info with resolved_at once the loss is below 90% of that "
               "level (or the predictions carry information)"),
    "loss_oscillation": CodeSpec(
        "warning", 1.0, "over the last 50 steps the loss difference changes sign on > 30% of "
        "steps (not a trend) and its mean |step-to-step change| > 1.0x the loss level (at least "
        "0.2x the chance level ln C, or of the starting loss without n_classes)",
        "CS231n/Karpathy babysitting: 'loss oscillates a lot: increase the mini-batch size'. "
        "1.0x: mini-batch noise of healthy dev runs reaches 0.7x",
        "increase the batch size, lower the learning rate, or use momentum/Adam",
        {"window": 50, "sign_rate": 0.3, "calm": 0.7},
        levels="warning while it lasts; info with resolved_at once it ends (jumps below 0.7x the "
               "threshold, or a trend)"),
    "overfitting": CodeSpec(
        "warning", 0.1, "validation loss rose > 10% above its best (Prechelt's generalization "
        "loss GL > 10) on the last 2 evaluations, by more than 0.05x the chance level (ln C, or "
        "the starting loss), while the training loss kept falling (the gap widens) and, when "
        "val accuracy is recorded, it fell > 0.02 below its best (or the val loss is above the chance "
        "level); after >= 3 evaluations",
        "Prechelt 1998 'Early stopping - but when?' (GL_alpha criterion). The absolute and "
        "accuracy conditions: issue 14's false alarms rose 10-35% at val losses of 0.001-0.1 "
        "with val accuracy steady",
        "add data or augmentation, regularize (weight decay, dropout), use a smaller model, or "
        "stop early at the best validation loss",
        {"min_evals": 3, "abs_rise": 0.05, "acc_drop": 0.02, "sustained": 2},
        levels="warning while it lasts; info with resolved_at once val loss comes back"),
    "probabilities_into_ce": CodeSpec(
        "warning", 1e-4, "the loss's autograd graph shows CrossEntropyLoss (log_softmax + NLL) "
        "applied to a Softmax output; without a loss graph, the model's outputs are >= 0 and "
        "sum to 1 (within 1e-4) along the last dim, i.e. they are already probabilities",
        "PyTorch docs: CrossEntropyLoss expects unnormalized logits (it applies log_softmax)",
        "remove the final Softmax and feed logits to CrossEntropyLoss (or use log_softmax with "
        "NLLLoss)"),
    "probabilities_into_loss": CodeSpec(
        "warning", None, "the loss's autograd graph shows NLLLoss applied to a Softmax output "
        "(probabilities, not log-probabilities), or BCEWithLogitsLoss or CrossEntropyLoss applied "
        "to a Sigmoid output",
        "PyTorch docs: NLLLoss expects log-probabilities; BCEWithLogitsLoss and CrossEntropyLoss "
        "expect logits (they apply the sigmoid / log_softmax themselves)",
        "feed the loss what it expects: log_softmax before NLLLoss, raw logits to "
        "BCEWithLogitsLoss and CrossEntropyLoss (drop the final Sigmoid/Softmax)"),
    "relu_on_output": CodeSpec(
        "warning", 0.25, "the loss's autograd graph shows a ReLU producing the logits of "
        "CrossEntropy/NLL or BCEWithLogits; without a loss graph, class-score outputs (n_classes "
        "given) are never negative and > 25% of them are exactly 0",
        "AUTOTRAINER (Zhang et al., ICSE 2021) 'improper activation'; a logit clipped at 0 "
        "cannot go below 0 and gets no gradient there",
        "remove the activation after the last layer: the loss takes raw logits"),
    "collapsed_predictions": CodeSpec(
        "warning", 0.02, "the model gives every input the same prediction: the outputs are "
        "identical across the batch on 3 measured steps; or, after 100 steps, class scores carry "
        "< 2% of ln C of information about the input (batches of 8+) (I(x; y_hat) = H(mean p) - mean H(p)) while "
        "the loss is within 10% of ln C; or the loss broadcast the output against a target of "
        "another shape (MSE/L1/Huber compare every output with every target)",
        "information theory: I(x; y_hat) = 0 exactly when predictions do not depend on the input; "
        "PyTorch's 'Using a target size that is different to the input size' warning; "
        "FARM#229, udacity/sdc-issue-reports#1326, StackOverflow 31880720",
        "check that labels still match their inputs (shuffle them together), that output and "
        "target shapes match (out.squeeze(-1) or y.view(-1, 1)), and that a softmax has more than "
        "one unit (one unit: use a sigmoid)",
        {"min_step": 100, "const_steps": 3, "near": 0.9, "min_batch": 8},
        levels="warning while it lasts; info with resolved_at once predictions differ again"),
    "params_not_updating": CodeSpec(
        "warning", 3.0, "parameters the model needs never change: tensors the output depends on "
        "that are not in the optimizer and did not change between measured steps >= 10 steps "
        "apart; a weight layer that runs, requires grad, yet gets no gradient on 3 measured "
        "steps (the output does not depend on it through autograd); or a frozen weight layer "
        "(requires_grad=False) whose weights still look like a fresh random init (spread within "
        "10% of PyTorch's default, Xavier, He or LeCun init, bounded like its uniform version or "
        "Gaussian-shaped)",
        "PyTorch semantics: nn.Module registers only Module/Parameter attributes (a plain list "
        "hides them), an optimizer updates only the parameters it was given, .data is outside "
        "autograd; pytorch#715, vision#2164, d2l-en#2600, practical-pytorch#9",
        "register sub-layers with nn.ModuleList/nn.Sequential, build the optimizer from "
        "model.parameters() after the final model exists, use self.weight (not .data) in "
        "forward, and unfreeze layers that were not loaded from a pretrained checkpoint",
        {"min_span": 10, "init_tol": 0.1, "kurtosis_tol": 0.5}),
    "batchnorm_batch1": CodeSpec(
        "warning", 0.5, "a BatchNorm layer in training mode gets batches of one sample on more "
        "than half of the measured steps (2-D/3-D BatchNorm normalizes each image by itself)",
        "Ioffe & Szegedy 2015 (batch statistics need several samples); pytorch-3dunet#53",
        "use batches of 16 or more, or a normalization that does not depend on the batch "
        "(GroupNorm, LayerNorm, InstanceNorm)"),
    "eval_in_train_mode": CodeSpec(
        "warning", 1.0, "validation recorded with record_val() followed forward passes under "
        "torch.no_grad() in training mode, with active Dropout or BatchNorm",
        "PyTorch docs: model.eval() switches Dropout and BatchNorm to inference; torch.no_grad() "
        "does not; udacity/deep-learning-v2-pytorch#3",
        "call model.eval() before evaluating (and model.train() before training again)",
        levels="info when no record_val() confirms the no-grad passes were an evaluation"),
    "unshuffled_data": CodeSpec(
        "warning", 5.0, "consecutive batches differ far more than random batches would: the "
        "variance of the first layer's batch-mean inputs over the last 10 measured steps is > 5x "
        "the sampling variance (within-batch variance / batch size, about 1x for shuffled data)",
        "sampling theory (for a random batch Var(batch mean) = within variance / B; 5x has "
        "p < 1e-5 for 10 batches even with one feature); Bottou 2012 'SGD tricks' (shuffle the "
        "examples); NormFace#4",
        "shuffle the training set every epoch (DataLoader(shuffle=True), or a new torch.randperm "
        "per epoch)", {"batches": 10}),
    "repeated_batch": CodeSpec(
        "warning", 5.0, "the first layer's input is identical on every measured step (at least "
        "5, spanning >= 10 steps) while n_samples says an epoch holds more than 2 batches",
        "seed 001: the blog's driver overwrites every mini-batch with the same four XOR points",
        "feed the mini-batch you drew: a variable reassigned inside the loop (x = torch.tensor(...)) "
        "replaces the data", {"min_span": 10, "epoch_batches": 2.0},
        levels="info without n_samples (full-batch training repeats its inputs too)"),
    "schedule_per_batch": CodeSpec(
        "warning", 0.01, "the learning rate fell below 1/100 of its peak within 2 epochs "
        "(n_samples / batch size steps each) and stayed there at least as long as it took to fall",
        "PyTorch docs: StepLR, MultiStepLR and ExponentialLR count scheduler.step() calls, meant "
        "once per epoch; ivadomed#55",
        "call scheduler.step() once per epoch, after the epoch's batches (or express step_size "
        "and milestones in batches)", {"epochs": 2.0},
        levels="info without n_samples"),
    "grad_accumulation": CodeSpec(
        "error", 1e-3, "a layer's .grad holds more than this step's backward passes put there: "
        "the part not explained by a scaled copy of this step's fresh gradient exceeds 1e-3 of "
        "its norm, or .grad is > 1.001x the fresh gradient (on a fixed strided sample of up to "
        "16k elements)",
        "PyTorch autograd semantics: .grad accumulates until zero_grad()",
        "call optimizer.zero_grad() (or model.zero_grad()) once per step, before backward()"),
    "init_scale": CodeSpec(
        "warning", 10.0, "doctor: a layer's activation std at init is > 10x or < 0.1x what both "
        "Xavier and He init would give on the same batch (the output layer: only > 10x)",
        "Glorot & Bengio 2010; He et al. 2015 (variance-preserving init); Karpathy 2019 (init the "
        "last layer small: small logits at init are advice, not a fault)",
        "use nn.init.xavier_normal_ (tanh/sigmoid) or kaiming_normal_ (ReLU) instead of the "
        "current init"),
    "cannot_overfit": CodeSpec(
        "warning", 1.0, "doctor: the model does not reach 100% training accuracy (class indices, or "
        "0/1 targets of a one-output model; regression: 1% of the initial loss) on ~32 samples within "
        "the step budget",
        "Karpathy 2019 recipe ('overfit one batch'); seed 002 slides. Boundaries 90% accuracy and "
        "10% of the initial loss: healthy programs of the corpus stop at 94-97% (label noise, a "
        "warm-up's small first lr) or 3-4% of the initial loss (regression, per-pixel BCE)",
        "check the labels, the loss, the learning rate and the model's capacity; a bug "
        "usually hides here", {"info_acc": 0.9, "info_loss": 0.1},
        levels="info when nearly there (>= 90% accuracy, or <= 10% of the initial loss); then the "
               "probe's loss_plateau, collapsed_predictions and lr_too_low are info too (a slow start)"),
    "gradient_mismatch": CodeSpec(
        "error", 1e-2, "doctor: on a tiny batch in float64, the autograd gradient of a parameter "
        "tensor differs from central finite differences (eps 1e-6, up to 16 coordinates per "
        "tensor, batch of 4) by a relative error > 1e-2; > 1e-4 is a warning. Coordinates where the "
        "differences at eps and 2 eps disagree (a kink, e.g. ReLU at 0) and tensors whose gradient is below "
        "1e5x the differences' rounding noise (|loss| * 2.2e-16 / eps) are not compared",
        "CS231n gradient checks (relative error > 1e-4 is suspicious, > 1e-2 is usually a bug); "
        "torch.autograd.gradcheck; seed 002's checklist",
        "a custom autograd.Function's backward, or an operation with no true gradient (.data, "
        "argmax, in-place tricks), is wrong: test it with torch.autograd.gradcheck",
        {"warn": 1e-4, "eps": 1e-6, "coords": 16, "batch": 4, "resolve": 1e5},
        levels="warning when the relative error is between 1e-4 and 1e-2 (a kink such as ReLU at 0 "
               "can cause a few)"),
    "regularization_check": CodeSpec(
        "warning", 10.0, "doctor: with a penalty strength (a config's regularize.l1/l2, or a loss "
        "function with a numeric `strength`), the loss at init at 10x the strength is not above "
        "the loss at the given strength (and at 0)",
        "seed 002's checklist ('increase the regularization strength: the loss should go up'); "
        "CS231n sanity checks",
        "check that the penalty is added to the loss you back-propagate (not only logged), that it "
        "is computed on the model's current parameters, and its sign",
        levels="info for torch's optimizer weight_decay, which never shows in the loss"),
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
    resolved_at: int | None = None  # a state that ended (a plateau): the step it was seen over

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
        ended = f" (ended by step {self.resolved_at})" if self.resolved_at is not None else ""
        return f"{self.severity.upper()} {self.code}{where} @ step {self.step}: {self.message}{ended}"


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
        if old.resolved_at is not None:  # the state came back: it is open again, at its own severity
            old.resolved_at, old.severity = None, finding.severity
        elif severity_rank(finding.severity) > severity_rank(old.severity):
            old.severity = finding.severity
        return old

    def resolve(self, code: str, step: int) -> None:
        """A state rule judged ``code`` over: its open findings become ``info`` with
        ``resolved_at``; they open again (at their own severity) if the rule fires later."""
        for (c, _), f in self._by_key.items():
            if c == code and f.resolved_at is None and f.severity != "info":
                f.resolved_at, f.severity = int(step), "info"

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
        severity = f"{spec.severity} ({spec.levels})" if spec.levels else spec.severity
        cells = (f"`{code}`", severity, spec.rule, spec.source, spec.fix)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
