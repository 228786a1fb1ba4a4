"""Health rules on hand-made numbers: each rule fires on broken numbers, stays silent on healthy
ones. Table-driven: one row per (rule, evidence, expected)."""
from __future__ import annotations

import math

import pytest

from trainlab.diagnose.checks import RULES, Evidence, ValPoint, run_rules
from trainlab.diagnose.findings import CODES, Finding, FindingLog, codes_of, make_finding

LN2 = math.log(2)


def flat(level: float, n: int = 200) -> list[float]:
    return [level] * n


def decaying(start: float = LN2, end: float = 0.05, n: int = 200) -> list[float]:
    return [start * (end / start) ** (i / (n - 1)) for i in range(n)]


def noisy(levels: list[float], amp: float) -> list[float]:
    # deterministic +-amp zig-zag around the levels
    return [x + (amp if i % 2 else -amp) * x for i, x in enumerate(levels)]


HEALTHY = dict(step=200, first_losses=decaying()[:20], recent_losses=decaying(), n_classes=2,
               layer_order=["a", "b", "c"], grad_norms={"a": 0.3, "b": 0.2, "c": 0.5},
               max_grad_history=[0.5, 0.4, 0.5],
               update_ratios={"a": [1e-3] * 5, "b": [2e-3] * 5, "c": [1e-3] * 5},
               input_layer="a", input_mean=0.01, input_rms=1.0,
               dead_fraction={"relu1": 0.1}, saturated_fraction={"tanh1": 0.05},
               row_spread={"a": 0.9, "b": 0.95}, output_sum_error=3.2, output_min=-4.0,
               stale_grad={"a": (1e-7, 1.0), "b": (0.0, 1.0)},
               val_history=[ValPoint(20, 0.6, 0.62), ValPoint(40, 0.4, 0.43), ValPoint(60, 0.3, 0.33)])


def ev(**changes: object) -> Evidence:
    return Evidence(**{**HEALTHY, **changes})


BROKEN = [
    ("nonfinite_loss", dict(recent_losses=decaying()[:-1] + [math.nan])),
    ("nonfinite_loss", dict(recent_losses=decaying()[:-1] + [math.inf])),
    ("loss_at_init", dict(first_losses=[5.0] + decaying()[1:20])),
    ("loss_at_init", dict(first_losses=[0.01] + decaying()[1:20])),
    ("unnormalized_inputs", dict(input_mean=10.0, input_rms=10.05)),
    ("unnormalized_inputs", dict(input_mean=0.4, input_rms=150.0)),
    ("unnormalized_inputs", dict(input_mean=0.0, input_rms=0.001)),
    ("exploding_gradients", dict(grad_norms={"a": 5e3, "b": 1.0, "c": 1.0})),
    ("exploding_gradients", dict(grad_norms={"a": math.inf, "b": 1.0, "c": 1.0})),
    ("exploding_gradients", dict(grad_norms={"a": 500.0, "b": 1.0, "c": 0.1})),
    ("vanishing_gradients", dict(grad_norms={"a": 1e-9, "b": 1e-3, "c": 0.5})),
    ("vanishing_gradients", dict(max_grad_history=[0.0, 0.0, 1e-9], recent_losses=flat(LN2))),
    ("dead_units", dict(dead_fraction={"relu1": 0.9})),
    ("saturated_units", dict(saturated_fraction={"tanh1": 0.8})),
    ("symmetric_init", dict(row_spread={"a": 0.0, "b": 0.9})),
    ("lr_too_high", dict(update_ratios={"a": [0.5] * 5, "b": [1e-3] * 5})),
    ("lr_too_high", dict(first_losses=flat(0.7, 20), recent_losses=decaying(0.7, 0.3, 150) + flat(1.5, 50))),
    ("lr_too_low", dict(update_ratios={"a": [1e-7] * 5, "b": [1e-8] * 5}, recent_losses=flat(0.69))),
    ("loss_plateau", dict(recent_losses=flat(0.69))),
    ("loss_oscillation", dict(recent_losses=noisy(flat(0.5), 0.8))),
    ("overfitting", dict(val_history=[ValPoint(20, 0.6, 0.62), ValPoint(40, 0.4, 0.5),
                                      ValPoint(60, 0.2, 0.6), ValPoint(80, 0.1, 0.8)])),
    ("probabilities_into_ce", dict(output_sum_error=1e-7, output_min=0.0)),
    ("grad_accumulation", dict(stale_grad={"a": (0.4, 3.0)})),
    ("grad_accumulation", dict(stale_grad={"a": (1e-6, 5.0)})),  # parallel grads summed
]


@pytest.mark.parametrize("code,changes", BROKEN, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BROKEN)])
def test_rule_fires_on_broken_numbers(code: str, changes: dict) -> None:
    assert code in codes_of(run_rules(ev(**changes)))


def test_healthy_numbers_raise_nothing() -> None:
    assert run_rules(ev()) == []


ALMOST = [  # just inside the healthy side of each threshold: the rules must stay silent
    dict(first_losses=[LN2 + 0.45] + decaying()[1:20]),
    dict(input_mean=1.9, input_rms=4.9),
    dict(grad_norms={"a": 900.0, "b": 1.0, "c": 1.0}),
    dict(dead_fraction={"relu1": 0.7}),
    dict(saturated_fraction={"tanh1": 0.45}),
    dict(update_ratios={"a": [0.2] * 5}),
    dict(update_ratios={"a": [0.9, 0.9, 1e-3, 1e-3, 1e-3]}),  # early spikes; median is healthy
    dict(recent_losses=noisy(decaying(), 0.25)),  # minibatch noise
    dict(val_history=[ValPoint(20, 0.6, 0.62), ValPoint(40, 0.4, 0.5), ValPoint(60, 0.2, 0.53)]),
    dict(stale_grad={"a": (1e-5, 0.5)}),  # gradient clipping scales .grad down
    dict(grad_norms={"a": 0.5, "b": 0.2}, layer_order=["a", "b"]),  # depth ratio needs 3 layers
]


@pytest.mark.parametrize("changes", ALMOST)
def test_rules_silent_just_inside_thresholds(changes: dict) -> None:
    assert run_rules(ev(**changes)) == []


def test_missing_numbers_skip_rules() -> None:
    assert run_rules(Evidence(step=1)) == []


def test_loss_at_init_needs_n_classes() -> None:
    changes = dict(first_losses=[50.0] + decaying()[1:20])
    assert "loss_at_init" in codes_of(run_rules(ev(**changes)))
    assert "loss_at_init" not in codes_of(run_rules(ev(n_classes=None, **changes)))


def test_every_rule_code_is_documented() -> None:
    for rule in RULES:
        spec = CODES[rule.code]
        assert spec.source and spec.fix and spec.rule
        assert spec.severity in ("info", "warning", "error")
    doctor_only = {"checks_skipped", "init_scale", "cannot_overfit", "gradient_mismatch", "regularization_check"}
    assert {r.code for r in RULES} | doctor_only == set(CODES)


def test_finding_log_deduplicates_per_code_and_layer() -> None:
    log = FindingLog()
    for step in (1, 2, 3):
        log.add(make_finding("dead_units", step, f"m{step}", layer="relu1", value=0.1 * step))
    log.add(make_finding("dead_units", 4, "other", layer="relu2", value=0.9))
    out = log.findings()
    assert len(out) == 2
    first = next(f for f in out if f.layer == "relu1")
    assert (first.count, first.step, first.first_step, first.message) == (3, 3, 1, "m3")
    assert first.value == pytest.approx(0.3)


def test_findings_sort_errors_first_and_reject_unknown_codes() -> None:
    log = FindingLog()
    log.add(make_finding("loss_plateau", 5, "x"))
    log.add(make_finding("nonfinite_loss", 9, "y"))
    assert [f.severity for f in log.findings()] == ["error", "warning"]
    with pytest.raises(ValueError):
        Finding("no_such_code", "warning", 1, None, "m", "f")
    assert make_finding("nonfinite_loss", 1, "m", value=math.nan).to_dict()["value"] is None


def test_docs_embed_the_code_table_verbatim() -> None:
    """docs/diagnostics.md shows CODES as they are: regenerate it with findings.codes_markdown()."""
    from pathlib import Path

    from trainlab.diagnose.findings import codes_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "diagnostics.md").read_text()
    embedded = doc.split("<!-- codes:start -->\n", 1)[1].split("\n<!-- codes:end -->", 1)[0]
    assert embedded == codes_markdown()
