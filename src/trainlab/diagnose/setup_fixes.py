"""Set-up-level fixes: each changes a *copy* of a user's (model, optimizer, batches, loss_fn).

``doctor --verify`` (``verify.py``) deep-copies the set-up, applies a root cause's fix from the
fix table (``fixes.FIXES[code].setup``) to the copy, and re-runs the checks. A ``SetupFix`` has a
name, a description and ``apply(setup) -> setup``; it may change the copy in place and returns it
(or a new ``Setup``), and raises ``NotApplicable`` with the reason when it cannot apply (a Softmax
called inside ``forward()`` cannot be removed from outside).

The fixes: re-initialize weights to match each layer's activation (He for the ReLU family,
Xavier for tanh/sigmoid and the output layer, LeCun for SELU), standardize the inputs with the
first batches' statistics, scale the learning rate, drop (or correct) the output activation a loss
does not expect, give the optimizer the parameters it misses, reshape the output to the target's
shape, shuffle samples across batches, and merge batches of one for BatchNorm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import torch
from torch import nn

from trainlab.diagnose import graph
from trainlab.diagnose.findings import CODES
from trainlab.diagnose.watch_stats import fresh_init_match


class NotApplicable(ValueError):
    """This fix does not apply to this set-up (or config); the message says why."""


@dataclass
class Setup:
    """What the doctor checks: the model, its optimizer, a list of (inputs, targets) batches, the
    loss function, and the number of classes (None for regression)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    batches: list
    loss_fn: Callable[[Any, Any], torch.Tensor]
    n_classes: int | None = None


@dataclass(frozen=True)
class SetupFix:
    """A fix applied to a copy of a set-up."""

    name: str
    description: str
    apply: Callable[[Setup], Setup]


def _trace_forward(setup: Setup) -> tuple[list[tuple[str, nn.Module]], Any]:
    """The leaf modules in call order on the first batch (no grad), and the model's output."""
    calls: list[tuple[str, nn.Module]] = []
    hooks = []
    for name, m in setup.model.named_modules():
        if not list(m.children()):
            hooks.append(m.register_forward_hook(lambda mod, i, o, name=name: calls.append((name, mod))))
    try:
        with torch.no_grad():
            out = setup.model(setup.batches[0][0])
    finally:
        for h in hooks:
            h.remove()
    return calls, out


RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Softplus, nn.CELU)
SATURATING = (nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Softsign)


def _init_for(act: nn.Module | None, last: bool) -> str:
    if isinstance(act, nn.SELU):
        return "lecun_normal"
    if isinstance(act, RELU_FAMILY):
        return "kaiming_normal"
    if isinstance(act, SATURATING) or last or act is not None:
        return "xavier_normal"
    return "kaiming_normal"  # a hidden layer with no activation module: functional F.relu, most likely


def _apply_init(w: torch.Tensor, scheme: str) -> None:
    if scheme == "kaiming_normal":
        nn.init.kaiming_normal_(w, nonlinearity="relu")
    elif scheme == "lecun_normal":
        fan_in = nn.init._calculate_fan_in_and_fan_out(w)[0]
        nn.init.normal_(w, 0.0, 1.0 / math.sqrt(fan_in))
    else:
        nn.init.xavier_normal_(w)


def reinit_matching(setup: Setup) -> Setup:
    """Re-initialize every Linear/Conv layer for the activation that follows it; biases zero."""
    calls, _ = _trace_forward(setup)
    layers = [i for i, (_, m) in enumerate(calls) if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))]
    if not layers:
        raise NotApplicable("no nn.Linear or convolution layer to re-initialize")
    done: set[int] = set()
    with torch.no_grad():
        for k, i in enumerate(layers):
            m = calls[i][1]
            if id(m) in done:
                continue
            done.add(id(m))
            end = layers[k + 1] if k + 1 < len(layers) else len(calls)
            act = next((a for _, a in calls[i + 1:end] if isinstance(a, RELU_FAMILY + SATURATING + (nn.SELU,))), None)
            _apply_init(m.weight, _init_for(act, last=k == len(layers) - 1))
            if isinstance(getattr(m, "bias", None), torch.Tensor):
                m.bias.zero_()
    return setup


STANDARDIZE_BATCHES = 8  # batches whose inputs give the mean and std
STD_FLOOR = 0.1  # of the features' rms std: the smallest std a feature is divided by


def standardize_inputs(setup: Setup) -> Setup:
    """x -> (x - mean) / std per feature (per channel for images), from the first batches."""
    xs = [b[0] for b in setup.batches[:STANDARDIZE_BATCHES]]
    if not all(isinstance(x, torch.Tensor) and x.is_floating_point() for x in xs):
        raise NotApplicable("the inputs are not floating-point tensors")
    x = torch.cat(xs).double()
    dims = [0] + list(range(2, x.ndim)) if x.ndim > 2 else [0]
    mean, std = x.mean(dims, keepdim=True), x.std(dims, keepdim=True)
    if float(x.mean().abs()) < 0.1 and 0.8 < float(x.pow(2).mean().sqrt()) < 1.25:
        raise NotApplicable("the inputs are already about zero-mean and unit-scale")
    # a (near-)constant feature is scaled like a typical one, not blown up by its tiny std
    floor = STD_FLOOR * float(std.pow(2).mean().sqrt())
    std = std.clamp_min(floor) if floor > 0 else torch.ones_like(std)
    mean, std = mean[0], std[0]
    batches = [((b[0] - mean.to(b[0].dtype)) / std.to(b[0].dtype), *b[1:]) for b in setup.batches]
    return replace(setup, batches=batches)


def scale_lr(factor: float) -> Callable[[Setup], Setup]:
    def apply(setup: Setup) -> Setup:
        for g in setup.optimizer.param_groups:
            lr = g["lr"]
            g["lr"] = lr * factor
            if "initial_lr" in g:
                g["initial_lr"] = g["initial_lr"] * factor
        return setup
    return apply


def _loss_patterns(setup: Setup) -> set[str]:
    x, y = setup.batches[0][0], setup.batches[0][1]
    loss = setup.loss_fn(setup.model(x), y)
    found, _ = graph.loss_patterns(loss)
    return found


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def fix_output_activation(setup: Setup) -> Setup:
    """The last module before the loss, when the loss does not expect its output: a Softmax before
    CrossEntropyLoss or a Sigmoid before a logits loss is dropped, a Softmax before NLLLoss becomes
    LogSoftmax, a ReLU on the logits is dropped, a Softmax over one unit becomes a Sigmoid."""
    calls, out = _trace_forward(setup)
    if not calls or not isinstance(out, torch.Tensor):
        raise NotApplicable("the model's output is not a tensor")
    name, last = calls[-1]
    patterns = _loss_patterns(setup)
    if isinstance(last, nn.Softmax) and out.ndim >= 1 and out.shape[-1] == 1:
        new: nn.Module = nn.Sigmoid()
    elif isinstance(last, nn.Softmax) and "softmax->nll" in patterns:
        new = nn.LogSoftmax(dim=last.dim)
    elif isinstance(last, (nn.Softmax, nn.Sigmoid, nn.ReLU)) and patterns:
        new = nn.Identity()
    elif isinstance(last, (nn.Softmax, nn.Sigmoid, nn.ReLU)):
        raise NotApplicable(f"the model ends in {type(last).__name__}, but the loss does not show a "
                            f"logits loss after it")
    else:
        raise NotApplicable("the output activation is not a module (applied inside forward()?): "
                            "remove it there")
    _set_module(setup.model, name, new)
    return setup


def optimize_missing(setup: Setup) -> Setup:
    """Give the optimizer every parameter the output depends on that it lacks, and unfreeze
    layers still holding a fresh random init."""
    held = {id(p) for g in setup.optimizer.param_groups for p in g["params"]}
    missing: dict[int, torch.Tensor] = {}
    for m in setup.model.modules():
        w = getattr(m, "weight", None)
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)) and not w.requires_grad \
                and fresh_init_match(w, CODES["params_not_updating"].extra):
            for p in m.parameters(recurse=False):
                p.requires_grad_(True)
                missing[id(p)] = p
    x = setup.batches[0][0]
    leaves, _ = graph.leaves(graph.roots_of(setup.model(x)))
    missing |= {i: p for i, p in leaves.items() if p.requires_grad and isinstance(p, nn.Parameter)}
    missing = {i: p for i, p in missing.items() if i not in held}
    if not missing:
        raise NotApplicable("the optimizer holds every parameter the output depends on (.data or "
                            ".detach() in forward() must be fixed in the code)")
    setup.optimizer.add_param_group({"params": list(missing.values())})
    return setup


def reshape_output(setup: Setup) -> Setup:
    """Reshape the output to the target's shape before the loss (a (N, 1) output against (N,))."""
    x, y = setup.batches[0][0], setup.batches[0][1]
    with torch.no_grad():
        out = setup.model(x)
    if not (isinstance(out, torch.Tensor) and isinstance(y, torch.Tensor)) or out.shape == y.shape \
            or out.numel() != y.numel():
        raise NotApplicable("the output already has the target's shape (or another number of values)")
    if not any(p.startswith("broadcast->") for p in _loss_patterns(setup)):
        raise NotApplicable("the loss does not broadcast the output against the target")
    loss_fn = setup.loss_fn

    def reshaped(o: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return loss_fn(o.reshape(t.shape) if o.numel() == t.numel() else o, t)
    return replace(setup, loss_fn=reshaped)


def _pooled(setup: Setup) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    if len(setup.batches) < 2 or not all(isinstance(b[0], torch.Tensor) and isinstance(b[1], torch.Tensor)
                                         for b in setup.batches):
        raise NotApplicable("needs two or more batches of tensors")
    return (torch.cat([b[0] for b in setup.batches]), torch.cat([b[1] for b in setup.batches]),
            [len(b[0]) for b in setup.batches])


def shuffle_batches(setup: Setup) -> Setup:
    """Deal the samples of all batches out again in a random order (fixed generator), same sizes."""
    x, y, sizes = _pooled(setup)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return replace(setup, batches=[(x[s:s + n], y[s:s + n]) for s, n in zip(starts, sizes)])


MERGED_BATCH = 16  # samples per batch after merging batches of one (BatchNorm)


def merge_batches(setup: Setup) -> Setup:
    """Concatenate consecutive batches up to MERGED_BATCH samples each."""
    x, y, sizes = _pooled(setup)
    if min(sizes) >= MERGED_BATCH:
        raise NotApplicable(f"batches already hold {min(sizes)} or more samples")
    n = len(x) // MERGED_BATCH * MERGED_BATCH
    if n == 0:
        raise NotApplicable(f"fewer than {MERGED_BATCH} samples in all batches together")
    return replace(setup, batches=[(x[i:i + MERGED_BATCH], y[i:i + MERGED_BATCH]) for i in range(0, n, MERGED_BATCH)])


REINIT = SetupFix("re-initialize to match the activation",
                  "He (kaiming_normal) before ReLU-family activations, Xavier (xavier_normal) before "
                  "tanh/sigmoid and on the output layer, LeCun before SELU; biases zero", reinit_matching)
STANDARDIZE = SetupFix("standardize the inputs", "x -> (x - mean) / std per feature (per channel for "
                       f"images), with mean and std from the first {STANDARDIZE_BATCHES} batches",
                       standardize_inputs)
LR_DOWN = SetupFix("learning rate x0.1", "divide every parameter group's lr by 10", scale_lr(0.1))
LR_UP = SetupFix("learning rate x10", "multiply every parameter group's lr by 10", scale_lr(10.0))
OUTPUT_ACTIVATION = SetupFix("fix the output activation for the loss",
                             "drop a trailing Softmax/Sigmoid/ReLU before a logits loss (a Softmax "
                             "before NLLLoss becomes LogSoftmax, one over a single unit a Sigmoid)",
                             fix_output_activation)
OPTIMIZE_MISSING = SetupFix("optimize the missing parameters",
                            "add the parameters the output depends on that the optimizer lacks, and "
                            "unfreeze layers still at a fresh random init", optimize_missing)
RESHAPE_OUTPUT = SetupFix("reshape the output to the target", "loss(out.reshape(target.shape), target)",
                          reshape_output)
SHUFFLE = SetupFix("shuffle the batches", "deal all samples out again in a random order, same batch sizes",
                   shuffle_batches)
MERGE = SetupFix("batches of 16", f"merge consecutive batches into batches of {MERGED_BATCH}", merge_batches)


def either(first: SetupFix, second: SetupFix) -> SetupFix:
    """``first``, or ``second`` where ``first`` does not apply."""
    def apply(setup: Setup) -> Setup:
        try:
            return first.apply(setup)
        except NotApplicable:
            return second.apply(setup)
    return SetupFix(f"{first.name}, else {second.name}", f"{first.description}; else {second.description}", apply)
