"""Reading a step's autograd graph: which parameters the model's output depends on, and what
the loss was applied to.

After ``loss.backward()`` the graph's saved tensors are freed, but its nodes (``grad_fn`` and
their ``next_functions``) stay readable as long as the loss or output tensor is alive, and each
leaf's ``AccumulateGrad`` node holds the parameter (``.variable``). These walks are plain Python
over those nodes: no tensor is read or written, nothing runs on the device.

``loss_patterns`` names the mistakes a loss's input chain shows (``LOSS_PATTERNS``), e.g.
``"softmax->cross_entropy"`` for probabilities fed to CrossEntropyLoss, ``"relu->nll"`` for a
ReLU producing log-probabilities, ``"broadcast->mse"`` for an output broadcast against a target
of another shape inside ``F.mse_loss``.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch

MAX_NODES = 20_000  # a walk stops here (a long unrolled RNN); the caller treats it as incomplete
LOSS_SEARCH = 64  # nodes searched from the loss for the loss function's own node

# autograd node (class name without the trailing number) -> the loss it belongs to
LOSS_NODES: dict[str, str] = {
    "NllLossBackward": "nll", "NllLoss2DBackward": "nll", "NllLossNdBackward": "nll",
    "BinaryCrossEntropyWithLogitsBackward": "bce_with_logits",
    "MseLossBackward": "mse", "SmoothL1LossBackward": "smooth_l1", "HuberLossBackward": "huber",
}
# nodes that only reshape or copy: looked through when finding what produced a loss's input
TRANSPARENT = frozenset({
    "ViewBackward", "ReshapeAliasBackward", "UnsafeViewBackward", "SqueezeBackward", "UnsqueezeBackward",
    "PermuteBackward", "TransposeBackward", "TBackward", "CloneBackward", "ToCopyBackward",
    "SelectBackward", "SliceBackward", "IndexBackward", "ContiguousBackward", "AliasBackward",
})
ACTIVATIONS = {"SoftmaxBackward": "softmax", "SigmoidBackward": "sigmoid", "ReluBackward": "relu",
               "HardtanhBackward": "relu", "LogSoftmaxBackward": "log_softmax", "LogBackward": "log",
               "ExpandBackward": "broadcast"}
LOSS_PATTERNS = ("softmax->cross_entropy", "softmax->nll", "sigmoid->cross_entropy", "sigmoid->bce_with_logits",
                 "relu->cross_entropy", "relu->nll", "relu->bce_with_logits", "broadcast->mse",
                 "broadcast->l1", "broadcast->smooth_l1", "broadcast->huber")


def kind(node: Any) -> str:
    """The node's class name without its version number ("NllLossBackward0" -> "NllLossBackward")."""
    return type(node).__name__.rstrip("0123456789")


def roots_of(output: Any) -> list[Any]:
    """The ``grad_fn`` of every tensor in a model output (a tensor, or a tuple/list/dict of them)."""
    if isinstance(output, torch.Tensor):
        return [output.grad_fn] if output.grad_fn is not None else []
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (tuple, list)):
        return [r for o in output for r in roots_of(o)]
    return []


def leaves(roots: Iterable[Any], limit: int = MAX_NODES) -> tuple[dict[int, torch.Tensor], bool]:
    """({id: tensor} of the leaf tensors reachable from ``roots``, walk complete?)."""
    found: dict[int, torch.Tensor] = {}
    seen: set[int] = set()
    stack = [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) > limit:
            return found, False
        var = getattr(node, "variable", None)
        if isinstance(var, torch.Tensor):
            found[id(var)] = var
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return found, True


def _producer(node: Any) -> Any:
    """The first node feeding ``node``'s first input, looking through reshapes and copies."""
    while True:
        nxt = [n for n, _ in node.next_functions[:1] if n is not None]
        if not nxt:
            return None
        node = nxt[0]
        if kind(node) not in TRANSPARENT:
            return node


def _after(node: Any) -> str | None:
    """The activation name of ``node`` (None for anything else)."""
    return ACTIVATIONS.get(kind(node)) if node is not None else None


def loss_patterns(loss: torch.Tensor | None, limit: int = LOSS_SEARCH) -> tuple[set[str], str | None]:
    """(the ``LOSS_PATTERNS`` found in the loss's graph, the broadcast input shape or None)."""
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        return set(), None
    found: set[str] = set()
    shape = None
    seen: set[int] = set()
    queue = [loss.grad_fn]
    while queue and len(seen) < limit:
        node = queue.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        k = kind(node)
        loss_kind = LOSS_NODES.get(k)
        if loss_kind is None and k == "AbsBackward":  # F.l1_loss: abs(sub(expand(input), target))
            sub = _producer(node)
            loss_kind = "l1" if sub is not None and kind(sub) == "SubBackward" else None
            node = sub if loss_kind else node
        if loss_kind is not None:
            p = _producer(node)
            act = _after(p)
            if loss_kind == "nll" and act == "log_softmax":  # F.cross_entropy = log_softmax + nll
                loss_kind, act = "cross_entropy", _after(_producer(p))
            if act in ("softmax", "sigmoid", "relu", "broadcast"):
                pattern = f"{act}->{loss_kind}"
                if pattern in LOSS_PATTERNS:
                    found.add(pattern)
                    if act == "broadcast":
                        shape = str(tuple(getattr(p, "_saved_self_sym_sizes", ()) or ()))
        queue.extend(n for n, _ in node.next_functions if n is not None and not hasattr(n, "variable"))
    return found, shape
