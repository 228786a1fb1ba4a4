"""doctor --verify, the set-up fixes, root causes first, and doctor's gradient and regularization
checks: each fires on a deliberately broken set-up and stays silent on a healthy one; verdicts flip
when the numbers do; --verify end to end from the CLI; the user's objects are never touched."""
from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainlab.diagnose.causes import CAUSE_ORDER, EFFECTS, root_causes
from trainlab.diagnose.doctor import run_doctor
from trainlab.diagnose.findings import CODES, make_finding
from trainlab.diagnose.fixes import FIXES
from trainlab.diagnose.numeric import Penalized, gradient_check, gradient_findings, regularization_check, regularization_findings
from trainlab.diagnose.setup_fixes import NotApplicable, Setup
from trainlab.diagnose.verify import LOSS_BETTER, LOSS_NO_WORSE, VERDICTS, verdict


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def xor_batches(n: int = 512, scale: float = 1.0, offset: float = 0.0) -> list:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long()
    x = x * scale + offset
    return [(x[i:i + 64], y[i:i + 64]) for i in range(0, n, 64)]


def mlp(*tail: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2), *tail)


def doctor(model: nn.Module, batches: list, loss_fn=None, lr: float = 1e-2, **kw):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return run_doctor(model, opt, batches, loss_fn, steps=60, overfit_steps=60, **kw)


# ----- root causes first ---------------------------------------------------------------------------
def test_cause_table_points_forward_and_covers_codes() -> None:
    rank = {c: i for i, c in enumerate(CAUSE_ORDER)}
    assert set(CAUSE_ORDER) == set(CODES)
    for cause, effects in EFFECTS.items():
        assert all(rank[e] > rank[cause] for e in effects), cause  # acyclic: causes come first


def test_one_cause_folds_its_effects() -> None:
    findings = [make_finding(c, 5, c, layer=layer) for c, layer in (
        ("unnormalized_inputs", "0"), ("loss_at_init", None), ("exploding_gradients", "0"),
        ("exploding_gradients", "2"), ("dead_units", "1"), ("loss_oscillation", None), ("grad_accumulation", "0"))]
    findings.append(make_finding("lr_too_high", 5, "ratio", layer="0", severity="info"))
    groups = root_causes(findings)
    assert [g.code for g in groups] == ["grad_accumulation", "unnormalized_inputs"]  # the error first
    stale, inputs = groups
    # an effect goes to the cause that explains it first in CAUSE_ORDER
    assert sorted(f.code for f in stale.effects) == ["exploding_gradients", "exploding_gradients", "loss_oscillation"]
    assert sorted(f.code for f in inputs.effects) == ["dead_units", "loss_at_init"]
    assert inputs.fix == CODES["unnormalized_inputs"].fix and inputs.inferred
    alone = root_causes([f for f in findings if f.code != "grad_accumulation"])
    assert [g.code for g in alone] == ["unnormalized_inputs"] and len(alone[0].effects) == 5
    assert all(f.code != "lr_too_high" for g in groups for f in g.findings + g.effects)  # info: a note


# ----- verdicts ------------------------------------------------------------------------------------
@pytest.mark.parametrize("gone,before,after,expected", [
    (True, 1.0, 1.0, "fixed"), (True, 1.0, 1.0 + LOSS_NO_WORSE * 0.9, "fixed"),
    (True, 1.0, 1.0 + LOSS_NO_WORSE * 1.1, "not fixed"),
    (False, 1.0, 1.0 - LOSS_BETTER * 1.1, "improved"), (False, 1.0, 1.0 - LOSS_BETTER * 0.9, "not fixed"),
    (True, math.nan, 0.5, "fixed"), (False, math.inf, 0.5, "improved"), (True, 0.5, math.nan, "not fixed"),
])
def test_verdict_rules_flip_with_the_numbers(gone: bool, before: float, after: float, expected: str) -> None:
    assert verdict(gone, before, after) == expected and expected in VERDICTS


def test_by_symptom_only_ignores_the_loss() -> None:
    assert verdict(True, -0.9, 0.4, by_symptom_only=True) == "fixed"
    assert verdict(False, 0.9, 0.1, by_symptom_only=True) == "not fixed"


# ----- verify on set-ups ----------------------------------------------------------------------------
def snapshot(model: nn.Module, opt: torch.optim.Optimizer, batches: list) -> dict:
    return {"state": copy.deepcopy(model.state_dict()), "grad": [None if p.grad is None else p.grad.clone()
                                                                 for p in model.parameters()],
            "req": [p.requires_grad for p in model.parameters()], "opt": copy.deepcopy(opt.state_dict()),
            "modules": [type(m).__name__ for m in model.modules()],
            "batches": [(x.clone(), y.clone()) for x, y in batches], "rng": torch.get_rng_state()}


def same(a: dict, b: dict) -> bool:
    return (all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
            and all((x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
                    for x, y in zip(a["grad"], b["grad"]))
            and a["req"] == b["req"] and a["modules"] == b["modules"] and str(a["opt"]) == str(b["opt"])
            and all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a["batches"], b["batches"]))
            and torch.equal(a["rng"], b["rng"]))


VERIFY_CASES = [  # name, model, batches, loss, root cause, expected verdicts allowed
    ("raw inputs", lambda: mlp(), lambda: xor_batches(scale=100.0, offset=50.0), None, "unnormalized_inputs",
     {"fixed"}),
    ("softmax into CE", lambda: mlp(nn.Softmax(1)), xor_batches, None, "probabilities_into_ce", {"fixed"}),
    ("softmax into NLL", lambda: mlp(nn.Softmax(1)), xor_batches, F.nll_loss, "probabilities_into_loss", {"fixed"}),
]


@pytest.mark.parametrize("name,make,data,loss_fn,code,verdicts", VERIFY_CASES, ids=[c[0] for c in VERIFY_CASES])
def test_verify_fixes_the_root_cause_and_leaves_the_user_alone(name, make, data, loss_fn, code, verdicts) -> None:
    model, batches = make(), data()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(batches[0][0]).sum().backward()  # the user's .grad holds something: it must stay as it was
    before = snapshot(model, opt, batches)
    report = run_doctor(model, opt, batches, loss_fn, steps=60, overfit_steps=60, verify=True)
    assert same(before, snapshot(model, opt, batches))
    result = next(r for r in report.verification.results if r.code == code)
    assert result.verdict in verdicts, result
    assert result.after is not None and result.after["symptom"] is None
    d = report.to_dict()["verification"]["fixes"]
    entry = next(e for e in d if e["code"] == code)
    assert {"finding", "fix", "before", "after", "verdict"} <= set(entry)
    assert entry["before"]["symptom"] == "warning" and entry["after"]["symptom"] is None


def test_a_fix_that_cannot_apply_says_why() -> None:
    setup = Setup(mlp(), torch.optim.SGD(mlp().parameters(), lr=0.1), xor_batches(), F.cross_entropy, 2)
    with pytest.raises(NotApplicable, match="already"):
        FIXES["unnormalized_inputs"].setup.apply(setup)
    with pytest.raises(NotApplicable, match="not a module"):
        FIXES["probabilities_into_ce"].setup.apply(setup)


@pytest.mark.parametrize("code,factor", [("lr_too_high", 0.1), ("lr_too_low", 10.0)])
def test_lr_fixes_scale_every_group(code: str, factor: float) -> None:
    model = mlp()
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.1}, {"params": model[2].parameters()}], lr=0.2)
    out = FIXES[code].setup.apply(Setup(model, opt, xor_batches(), F.cross_entropy))
    assert [g["lr"] for g in out.optimizer.param_groups] == pytest.approx([0.1 * factor, 0.2 * factor])


def test_reinit_matches_each_layers_activation() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 256), nn.Tanh(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 5.0)
    out = FIXES["dead_units"].setup.apply(Setup(model, torch.optim.SGD(model.parameters(), 0.1), xor_batches(), F.cross_entropy))
    stds = [float(m.weight.std()) for m in out.model if isinstance(m, nn.Linear)]
    xavier = lambda fi, fo: math.sqrt(2 / (fi + fo))  # noqa: E731
    assert stds[0] == pytest.approx(xavier(8, 256), rel=0.1)  # before tanh: Xavier
    assert stds[1] == pytest.approx(math.sqrt(2 / 256), rel=0.1)  # before ReLU: He
    assert stds[2] == pytest.approx(xavier(256, 2), rel=0.15)  # output layer: Xavier


def test_optimize_missing_adds_a_plain_list_of_layers() -> None:
    class ListNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = [nn.Linear(8, 16)]
            self.out = nn.Linear(16, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(F.relu(self.hidden[0](x)))

    model = ListNet()
    setup = Setup(model, torch.optim.SGD(model.parameters(), 0.1), xor_batches(), F.cross_entropy)
    out = FIXES["params_not_updating"].setup.apply(setup)
    held = {id(p) for g in out.optimizer.param_groups for p in g["params"]}
    assert id(model.hidden[0].weight) in held and id(model.hidden[0].bias) in held


# ----- doctor's gradient check and regularization check ---------------------------------------------
class WrongSquare(torch.autograd.Function):
    """x**2 whose backward is wrong by a factor 3/2 (a typical hand-written backward bug)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return 3 * x * g  # should be 2 * x * g


class Squared(nn.Module):
    def __init__(self, wrong: bool) -> None:
        super().__init__()
        self.wrong = wrong

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return WrongSquare.apply(x) if self.wrong else x * x


@pytest.mark.parametrize("wrong,severity", [(True, "error"), (False, None)])
def test_gradient_check_catches_a_wrong_backward(wrong: bool, severity: str | None) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), Squared(wrong), nn.Linear(16, 2), nn.Dropout(0.3))
    x, y = xor_batches()[0]
    result = gradient_check(model, F.cross_entropy, x, y)
    found = gradient_findings(result)
    assert (found[0].severity if found else None) == severity
    assert result.coordinates > 0 and (result.max_rel_error > 0.1 if wrong else result.max_rel_error < 1e-6)


def test_gradient_check_catches_weights_read_through_data() -> None:
    class DataLinear(nn.Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.linear(x, self.weight.data, self.bias)

    torch.manual_seed(0)
    model = nn.Sequential(DataLinear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    x, y = xor_batches()[0]
    assert gradient_findings(gradient_check(model, F.cross_entropy, x, y))[0].layer == "0.weight"


def l2(model: nn.Module) -> torch.Tensor:
    return sum((p * p).sum() for p in model.parameters())


@pytest.mark.parametrize("penalty,raised", [(l2, True), (lambda m: torch.zeros(()), False)])
def test_regularization_check(penalty, raised: bool) -> None:
    model = mlp()
    x, y = xor_batches()[0]
    loss = Penalized(F.cross_entropy, model, penalty, 1e-3)
    result = regularization_check(model, loss, x, y)
    assert result is not None and result.raised is raised
    codes = [f.severity for f in regularization_findings(result, None)]
    assert codes == ([] if raised else ["warning"])
    assert loss.strength == 1e-3 and loss.model is model  # the user's loss is untouched


def test_weight_decay_is_an_info_note_and_plain_losses_are_not_checked() -> None:
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x, y = xor_batches()[0]
    assert regularization_check(model, F.cross_entropy, x, y) is None
    notes = regularization_findings(None, opt)
    assert [(f.code, f.severity) for f in notes] == [("regularization_check", "info")]
    assert "never shows" in notes[0].message


def test_doctor_reports_the_penalty_of_a_penalized_loss() -> None:
    model = mlp()
    report = doctor(model, xor_batches(), Penalized(F.cross_entropy, model, l2, 1e-3))
    assert report.regularization is not None and report.regularization.raised
    assert report.gradient is not None and report.gradient.max_rel_error < 1e-5


# ----- --verify end to end from the CLI ------------------------------------------------------------
TARGET = """
import torch
from torch import nn

def raw():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long()
    x = x * 100 + 50
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    return model, torch.optim.Adam(model.parameters(), lr=1e-2), [(x[i:i + 64], y[i:i + 64]) for i in range(0, 512, 64)]
"""


def test_verify_end_to_end_from_the_cli(tmp_path: Path) -> None:
    target = tmp_path / "user.py"
    target.write_text(TARGET)
    out = tmp_path / "doctor.json"
    r = subprocess.run([sys.executable, "-m", "trainlab.cli", "doctor", "--python", f"{target}:raw", "--verify",
                        "--steps", "40", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    assert "--verify" in r.stdout and "root cause" in r.stdout
    d = json.loads(out.read_text())
    fixes = {e["code"]: e for e in d["verification"]["fixes"]}
    assert fixes["unnormalized_inputs"]["verdict"] == "fixed"
    assert fixes["unnormalized_inputs"]["fix"]["name"] == "standardize the inputs"
    assert d["root_causes"][0]["code"] == "unnormalized_inputs" and d["root_causes"][0]["effects"]
    bad = subprocess.run([sys.executable, "-m", "trainlab.cli", "doctor", "--verify"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
