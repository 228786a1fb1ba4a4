"""``Evidence``: everything measured up to one step, as plain numbers; what every rule reads.

``watch`` (through its measurements) and ``doctor`` fill it; the rules in ``checks.py`` and
``checks_wiring.py`` judge it. A field left at its default means "not measured", and a rule whose
numbers are missing does not judge. Per-layer dicts are keyed by module name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median
from typing import Sequence


@dataclass
class ValPoint:
    """One evaluation: the step, the training loss around it, and the validation numbers."""

    step: int
    train_loss: float
    val_loss: float
    val_acc: float | None = None


@dataclass
class Evidence:
    """Everything measured up to one step.

    ``first_losses`` holds the losses of steps 1, 2, ...; ``recent_losses`` the last losses
    ending at ``step``. ``layer_order`` lists the weight layers first (input side) to last.
    """

    step: int
    first_losses: Sequence[float] = ()
    recent_losses: Sequence[float] = ()
    n_classes: int | None = None
    n_samples: int | None = None  # the training-set size, when the user gave it
    has_optimizer: bool = True
    layer_order: Sequence[str] = ()
    grad_norms: dict[str, float] = field(default_factory=dict)
    max_grad_history: Sequence[float] = ()  # largest layer gradient norm per measured step
    update_ratios: dict[str, Sequence[float]] = field(default_factory=dict)
    input_layer: str | None = None
    input_mean: float | None = None
    input_rms: float | None = None
    dead_fraction: dict[str, float] = field(default_factory=dict)
    saturated_fraction: dict[str, float] = field(default_factory=dict)
    row_spread: dict[str, float] = field(default_factory=dict)
    output_sum_error: float | None = None
    output_min: float | None = None
    stale_grad: dict[str, tuple[float, float]] = field(default_factory=dict)
    val_history: Sequence[ValPoint] = ()
    # --- the model's outputs across the samples of a batch (OutputStats)
    output_width: int | None = None  # size of the last output dim
    output_zero_fraction: float | None = None  # share of outputs exactly 0
    output_info: float | None = None  # I(x; y_hat) in nats, class scores only
    output_entropy: float | None = None  # H(mean p) in nats, class scores only
    constant_output_steps: int = 0  # measured steps in a row whose outputs were identical across the batch
    # --- how the program is wired (measure_wiring.py)
    loss_patterns: Sequence[str] | None = None  # None: no loss graph seen; see graph.LOSS_PATTERNS
    broadcast: str | None = None  # "(32, 1) vs (32,)" when a regression loss broadcast its input
    unupdated_params: dict[str, int] = field(default_factory=dict)  # name -> elements
    no_grad_layers: dict[str, int] = field(default_factory=dict)  # layer -> measured steps without gradient
    frozen_init_layers: dict[str, str] = field(default_factory=dict)  # layer -> the init it still looks like
    batchnorm_batch1: dict[str, tuple[int, int]] = field(default_factory=dict)  # layer -> (at batch 1, seen)
    train_mode_evals: int = 0  # no-grad forward passes in training mode (dropout/BatchNorm active)
    val_in_train_mode: int = 0  # record_val() calls that followed such passes
    batch_size: int | None = None
    batch_mean_ratio: float | None = None  # Var(batch means) / (within variance / B)
    repeated_inputs: tuple[int, int] = (0, 0)  # (measured steps in a row with identical inputs, their span)
    lr_history: Sequence[tuple[int, float]] = ()  # (step, lr of the first param group) on measured steps

    # ----- levels the rules share --------------------------------------------------------------
    def start_level(self) -> float | None:
        """Median of the first 5 losses (the level training started from)."""
        first = finite(self.first_losses[:5])
        return median(first) if first else None

    def first_loss(self) -> float | None:
        """The loss of step 1, before any update (None when missing or not finite)."""
        if not self.first_losses or not math.isfinite(self.first_losses[0]):
            return None
        return float(self.first_losses[0])

    def reference_level(self) -> float | None:
        """The loss of a model that learned nothing: ln C when known, else the starting loss."""
        if self.n_classes and self.n_classes >= 2:
            return math.log(self.n_classes)
        return self.start_level()

    def class_scores(self) -> bool:
        """The outputs are scores over ``n_classes`` classes (the information measure applies)."""
        return bool(self.n_classes and self.n_classes >= 2 and self.output_width == self.n_classes)


def finite(xs: Sequence[float]) -> list[float]:
    """The finite values of ``xs`` as floats."""
    return [float(x) for x in xs if math.isfinite(x)]
