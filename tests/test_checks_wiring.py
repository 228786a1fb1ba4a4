"""Issue 14's rules on hand-made numbers: the wiring rules (checks_wiring.py) and the new severity
and state behaviour of the older rules. Each fires on broken numbers, stays silent on healthy ones,
and its severity or state flips where its boundary in CODES says. Table-driven."""
from __future__ import annotations

import math

import pytest

from trainlab.diagnose.checks import Evidence, ValPoint, evaluate_rules, run_rules
from trainlab.diagnose.findings import CODES, FindingLog, make_finding

LN2, LN10 = math.log(2), math.log(10)


def decaying(start: float = LN2, end: float = 0.05, n: int = 200) -> list[float]:
    return [start * (end / start) ** (i / (n - 1)) for i in range(n)]


HEALTHY = dict(step=200, first_losses=decaying()[:20], recent_losses=decaying(), n_classes=2, n_samples=4000,
               output_width=2, output_min=-3.0, output_sum_error=2.0, output_zero_fraction=0.0,
               output_info=0.4, output_entropy=0.69, loss_patterns=[], batch_size=64,
               batch_mean_ratio=1.1, repeated_inputs=(1, 0), lr_history=[(s, 0.1) for s in range(1, 201, 10)],
               batchnorm_batch1={"bn": (0, 20)})


def ev(**changes: object) -> Evidence:
    return Evidence(**{**HEALTHY, **changes})


def found(e: Evidence, min_severity: str = "warning") -> dict[str, str]:
    rank = {"info": 0, "warning": 1, "error": 2}
    return {f.code: f.severity for f in run_rules(e) if rank[f.severity] >= rank[min_severity]}


def test_healthy_numbers_raise_nothing() -> None:
    assert run_rules(ev()) == []


BROKEN = [  # code, evidence changes
    ("params_not_updating", dict(unupdated_params={"unregistered #1 (64, 2)": 128})),
    ("params_not_updating", dict(no_grad_layers={"0": 3})),
    ("params_not_updating", dict(frozen_init_layers={"2": "PyTorch default"})),
    ("probabilities_into_loss", dict(loss_patterns=["softmax->nll"])),
    ("probabilities_into_loss", dict(loss_patterns=["sigmoid->bce_with_logits"])),
    ("probabilities_into_ce", dict(loss_patterns=["softmax->cross_entropy"])),
    ("relu_on_output", dict(loss_patterns=["relu->cross_entropy"])),
    ("relu_on_output", dict(loss_patterns=None, output_min=0.0, output_zero_fraction=0.4)),
    ("collapsed_predictions", dict(broadcast="(32, 1)")),
    ("collapsed_predictions", dict(constant_output_steps=3)),
    ("collapsed_predictions", dict(output_info=0.001, recent_losses=[LN2] * 200)),
    ("batchnorm_batch1", dict(batchnorm_batch1={"bn": (20, 20)})),
    ("eval_in_train_mode", dict(train_mode_evals=4, val_in_train_mode=2)),
    ("unshuffled_data", dict(batch_mean_ratio=18.0)),
    ("repeated_batch", dict(repeated_inputs=(20, 199), batch_size=4)),
    ("schedule_per_batch", dict(lr_history=[(s, 0.1 * 0.5 ** (s // 10)) for s in range(1, 201, 10)])),
]


@pytest.mark.parametrize("code,changes", BROKEN, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BROKEN)])
def test_rule_fires_on_broken_numbers(code: str, changes: dict) -> None:
    assert found(ev(**changes)).get(code) == "warning"


ALMOST = [  # just on the healthy side: silent at warning level
    dict(no_grad_layers={"0": 2}),  # needs 3 measured steps
    dict(loss_patterns=["log->nll"]),  # log(softmax) into NLL is correct (if unstable)
    dict(loss_patterns=None, output_min=0.0, output_zero_fraction=0.2),
    dict(constant_output_steps=2),
    dict(output_info=0.001, recent_losses=decaying()),  # the loss left the floor: the model learns
    dict(output_info=0.001, recent_losses=[LN2] * 200, step=90),  # before min_step
    dict(batchnorm_batch1={"bn": (10, 20)}),
    dict(train_mode_evals=4, val_in_train_mode=0),  # only info without record_val
    dict(batch_mean_ratio=4.9),
    dict(repeated_inputs=(20, 199), batch_size=2000),  # full batch: n_samples <= 2 batches
    dict(repeated_inputs=(4, 199), batch_size=4),
    # a one-cycle/cosine schedule ends near 0 at the end of the run: never low for long
    dict(lr_history=[(s, 0.1 * (1 + math.cos(math.pi * s / 200)) / 2 + 1e-6) for s in range(1, 201, 10)]),
    # a step schedule: 100x down only after many epochs
    dict(lr_history=[(s, 0.1 * 0.1 ** (s // 80)) for s in range(1, 201, 10)], n_samples=64 * 30),
]


@pytest.mark.parametrize("changes", ALMOST)
def test_rules_silent_at_warning_level_just_inside(changes: dict) -> None:
    assert found(ev(**changes)) == {}


@pytest.mark.parametrize("code,changes", [
    ("repeated_batch", dict(repeated_inputs=(20, 199), batch_size=4, n_samples=None)),
    ("schedule_per_batch", dict(lr_history=[(s, 0.1 * 0.5 ** (s // 10)) for s in range(1, 201, 10)], n_samples=None)),
    ("eval_in_train_mode", dict(train_mode_evals=4, val_in_train_mode=0)),
])
def test_without_the_evidence_that_confirms_it_a_rule_is_info(code: str, changes: dict) -> None:
    assert found(ev(**changes), "info").get(code) == "info"


# ----- severity follows size, with the boundaries in CODES ----------------------------------------
def _first(loss: float, c: int = 10) -> Evidence:
    return ev(n_classes=c, first_losses=[loss] + decaying()[1:20])


@pytest.mark.parametrize("first,severity", [
    (LN10, None), (1.35 * LN10, "info"), (3.4 * LN10, "info"),
    (CODES["loss_at_init"].extra["warn_ratio"] * LN10 * 1.01, "warning"), (8 * LN10, "warning"),
    (0.3, "info"),  # below ln C (output bias at the class prior): a note
])
def test_loss_at_init_severity_by_size(first: float, severity: str | None) -> None:
    assert found(_first(first), "info").get("loss_at_init") == severity


@pytest.mark.parametrize("mean,rms,severity", [
    (0.0, 1.0, None), (2.01, 2.1, "info"), (5.5, 5.6, "warning"), (0.0, 6.0, "info"), (0.0, 120.0, "warning"),
    (0.0, 0.05, "info"), (0.0, 0.001, "warning"),
])
def test_unnormalized_inputs_severity_by_size(mean: float, rms: float, severity: str | None) -> None:
    assert found(ev(input_mean=mean, input_rms=rms), "info").get("unnormalized_inputs") == severity


def test_lr_too_high_from_the_update_ratio_alone_is_info() -> None:
    ratio_only = ev(update_ratios={"a": [0.5] * 5})
    assert found(ratio_only, "info")["lr_too_high"] == "info"
    risen = ev(update_ratios={"a": [0.5] * 5}, first_losses=[0.7] * 20, recent_losses=decaying(0.7, 0.3, 150) + [1.5] * 50)
    assert found(risen)["lr_too_high"] == "warning"
    jumpy = [0.3 if i % 2 else 1.2 for i in range(200)]  # mean jump 1.2x its level
    assert found(ev(update_ratios={"a": [0.5] * 5}, recent_losses=jumpy), "info")["lr_too_high"] == "warning"


# ----- the false-alarm classes of issue 14 ---------------------------------------------------------
@pytest.mark.parametrize("name,hist", [
    ("tiny losses wobble", [ValPoint(25 * i, 1e-3 * 0.9 ** i, v, 1.0) for i, v in
                            enumerate([0.01, 0.002, 0.001, 0.0012, 0.0013, 0.00125], 1)]),
    ("val acc steady at 0.96", [ValPoint(25 * i, 0.12 - 0.005 * i, v, a) for i, (v, a) in
                                enumerate([(0.2, 0.95), (0.09, 0.965), (0.1, 0.96), (0.105, 0.962)], 1)]),
    ("val loss still falling", [ValPoint(25 * i, t, v) for i, (t, v) in
                                enumerate([(0.08, 0.09), (0.02, 0.04), (0.005, 0.02), (0.001, 0.01)], 1)]),
])
def test_overfitting_silent_on_issue_14s_false_alarms(name: str, hist: list) -> None:
    assert "overfitting" not in found(ev(val_history=hist))


def test_overfitting_fires_when_val_loss_clearly_rises() -> None:
    hist = [ValPoint(20, 0.6, 0.62, 0.7), ValPoint(40, 0.3, 0.6, 0.72), ValPoint(60, 0.1, 0.9, 0.68),
            ValPoint(80, 0.01, 1.4, 0.66)]
    assert found(ev(val_history=hist))["overfitting"] == "warning"
    steady_acc = [ValPoint(p.step, p.train_loss, min(p.val_loss, 0.68), 0.7) for p in hist]  # below ln 2
    assert "overfitting" not in found(ev(val_history=steady_acc))


def test_plateau_near_means_near() -> None:
    flat = lambda level: [level] * 200  # noqa: E731
    assert found(ev(recent_losses=flat(0.69), output_info=None))["loss_plateau"] == "warning"
    assert "loss_plateau" not in found(ev(recent_losses=flat(0.88 * LN2), output_info=None))  # 12% below
    informative = ev(recent_losses=flat(0.69), output_info=0.2)  # predictions depend on the input
    assert "loss_plateau" not in found(informative)


def test_a_plateau_that_ends_is_info_with_resolved_at() -> None:
    log = FindingLog()
    for step, losses in ((150, [0.69] * 200), (300, [0.69] * 100 + decaying(0.69, 0.05, 100))):
        found_, cleared = evaluate_rules(ev(step=step, recent_losses=losses, output_info=None))
        log.extend(found_)
        for code in cleared:
            log.resolve(code, step)
    plateau = next(f for f in log.findings() if f.code == "loss_plateau")
    assert plateau.severity == "info" and plateau.resolved_at == 300
    log.add(make_finding("loss_plateau", 400, "again"))  # comes back: open, a warning again
    plateau = next(f for f in log.findings() if f.code == "loss_plateau")
    assert plateau.severity == "warning" and plateau.resolved_at is None


def test_a_state_rule_that_cannot_judge_clears_nothing() -> None:
    _, cleared = evaluate_rules(Evidence(step=5))
    assert cleared == set()
