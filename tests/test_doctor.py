"""doctor: pre-training checks on copies, the --python target loader, printing, exit codes."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import pytest
import torch
from rich.console import Console
from torch import nn

from trainlab.diag_cli import load_python_target, print_findings, print_report
from trainlab.diagnose.doctor import exit_code, measure_layer_scales, run_doctor
from trainlab.diagnose.findings import codes_of, make_finding
from trainlab.errors import UsageError


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def circles(n: int = 512, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 2 - 1
    y = (x.norm(dim=1) < 0.6).long()
    return [(x[i:i + 64], y[i:i + 64]) for i in range(0, n, 64)]


def mlp(width: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, 2))


def init_all(model: nn.Module, fn: Callable[[torch.Tensor], object], bias: float | None = None) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Linear):
            fn(m.weight)
            if bias is not None:
                nn.init.constant_(m.bias, bias)
    return model


def doctor(model: nn.Module, batches: list | None = None, lr: float = 1e-2, **kw: object):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return run_doctor(model, opt, batches or circles(), steps=60, overfit_steps=200, **kw)


def test_healthy_model_passes_and_is_left_unchanged() -> None:
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    report = run_doctor(model, opt, circles(), steps=60, overfit_steps=200)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert not opt.state and torch.equal(torch.get_rng_state(), rng)
    assert report.overfit is not None and report.overfit.reached and report.overfit.final_acc == 1.0
    assert report.expected_init_loss == pytest.approx(math.log(2))  # n_classes from the output
    assert [f.code for f in report.findings if f.severity != "info"] == []
    assert report.exit_code == 0 and report.probe_steps == 60
    assert report.to_dict()["overfit"]["reached"] is True


BROKEN: list[tuple[str, Callable[[], nn.Module], dict, str]] = [
    ("sigma10", lambda: init_all(mlp(6), lambda w: nn.init.normal_(w, 0, 10.0)), {}, "loss_at_init"),
    ("sigma10-scale", lambda: init_all(mlp(6), lambda w: nn.init.normal_(w, 0, 10.0)), {}, "init_scale"),
    ("tiny-sigma", lambda: init_all(mlp(), lambda w: nn.init.normal_(w, 0, 1e-4), bias=0.0), {}, "init_scale"),
    ("zero-init", lambda: init_all(mlp(), nn.init.zeros_, bias=0.0), {}, "symmetric_init"),
    ("inputs*255", mlp, {"batches": [(x * 255, y) for x, y in circles()]}, "unnormalized_inputs"),
    ("lr-too-small", mlp, {"lr": 1e-7}, "cannot_overfit"),
]


@pytest.mark.parametrize("name,make,kw,code", BROKEN, ids=[b[0] for b in BROKEN])
def test_doctor_finds_broken_setups(name: str, make: Callable[[], nn.Module], kw: dict, code: str) -> None:
    torch.manual_seed(0)
    report = doctor(make(), **kw)
    assert code in codes_of(report.findings), [str(f) for f in report.findings]


def test_symmetric_init_is_an_error_and_exit_code_1() -> None:
    torch.manual_seed(0)
    report = doctor(init_all(mlp(), nn.init.zeros_, bias=0.0))
    assert report.exit_code == 1


@pytest.mark.parametrize("init,ref", [(lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), "he"),
                                      (nn.init.xavier_normal_, "xavier")])
def test_layer_scales_match_the_reference_init_they_were_made_with(init: Callable, ref: str) -> None:
    torch.manual_seed(0)
    model = init_all(nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                   nn.Linear(256, 256)), init, bias=0.0)
    scales = measure_layer_scales(model, torch.randn(512, 64))
    assert len(scales) == 3
    for s in scales:
        expected = s.he_std if ref == "he" else s.xavier_std
        assert s.std == pytest.approx(expected, rel=0.15), s
    # theory: He keeps the pre-activation variance of a ReLU net at ~2 * fan_in * Var(w) * E[x^2]/2 = 1
    assert scales[-1].he_std == pytest.approx(scales[0].he_std, rel=0.25)


def test_one_shot_iterator_batches_are_accepted() -> None:
    torch.manual_seed(0)
    model = mlp()
    report = run_doctor(model, torch.optim.Adam(model.parameters(), 1e-2), iter(circles()), steps=20,
                        overfit_steps=50)
    assert report.probe_steps == 20  # materialized, then cycled like a list
    assert report.overfit is not None and report.overfit.samples == 32


GOOD_TARGET = """
import torch
from torch import nn

def make():
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    x = torch.randn(64, 2)
    return model, torch.optim.SGD(model.parameters(), lr=0.1), [(x, (x[:, 0] > 0).long())]

def make4():
    return make() + (nn.functional.cross_entropy,)

def broken():
    raise RuntimeError("boom")

def wrong():
    return 42

def wrong_opt():
    model, _, batches = make()
    return model, "sgd", batches
"""


@pytest.fixture
def target_file(tmp_path: Path) -> Path:
    path = tmp_path / "user_setup.py"
    path.write_text(GOOD_TARGET)
    return path


def test_load_python_target_returns_the_parts(target_file: Path) -> None:
    model, opt, batches, loss_fn = load_python_target(f"{target_file}:make")
    assert isinstance(model, nn.Module) and isinstance(opt, torch.optim.SGD) and loss_fn is None
    assert load_python_target(f"{target_file}:make4")[3] is nn.functional.cross_entropy


@pytest.mark.parametrize("suffix,message", [
    ("", "FILE.py:FUNCTION"),
    (":nope", "no function 'nope'"),
    (":broken", "RuntimeError: boom"),
    (":wrong", "must return (model, optimizer, batches"),
    (":wrong_opt", "torch.optim.Optimizer"),
])
def test_load_python_target_usage_errors(target_file: Path, suffix: str, message: str) -> None:
    with pytest.raises(UsageError, match=None) as err:
        load_python_target(f"{target_file}{suffix}")
    assert message in str(err.value)


def test_load_python_target_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no Python file"):
        load_python_target(f"{tmp_path / 'missing.py'}:make")


@pytest.mark.parametrize("severities,code", [((), 0), (("info",), 0), (("warning", "info"), 0),
                                             (("warning", "error"), 1)])
def test_exit_code(severities: tuple[str, ...], code: int) -> None:
    findings = [make_finding("loss_plateau", 1, "m", layer=str(i), severity=s) for i, s in enumerate(severities)]
    assert exit_code(findings) == code


def test_print_findings_shows_fixes_and_collapses_repeats() -> None:
    console = Console(record=True, width=200)
    findings = [make_finding("dead_units", 3, "80% dead", layer=f"layer{i}", value=0.8) for i in range(5)]
    print_findings(findings, console)
    text = console.export_text()
    assert "dead_units" in text and "LeakyReLU" in text and "2 more layers" in text
    assert "layer4" not in text


def test_print_report_runs() -> None:
    console = Console(record=True, width=200)
    print_report(doctor(mlp()), console)
    text = console.export_text()
    assert "loss at init" in text and "overfit 32 samples: yes" in text


def test_doctor_main_exit_codes_and_json(target_file: Path, tmp_path: Path) -> None:
    from trainlab.diag_cli import doctor_main

    console = Console(record=True, width=200)
    assert doctor_main(python=f"{target_file}:make", steps=10, overfit_steps=50, console=console,
                       json_out=tmp_path / "doctor.json") in (0, 1)
    import json
    assert "findings" in json.loads((tmp_path / "doctor.json").read_text())
    torch.manual_seed(0)
    zero = init_all(mlp(), nn.init.zeros_, bias=0.0)
    built = (zero, torch.optim.Adam(zero.parameters(), 1e-2), circles())
    assert doctor_main(built=built, steps=20, overfit_steps=20, console=console) == 1
    assert doctor_main(python=f"{target_file}:nope", console=console) == 2
    assert doctor_main(console=console) == 2
    assert doctor_main(target="cfg.yaml", console=console) == 2  # no builder passed
    assert doctor_main(target="cfg.yaml", build=lambda path: built, steps=5, overfit_steps=5,
                       console=console) == 1
    assert "error:" in console.export_text()


def test_lr_find_main_writes_plot_and_json(target_file: Path, tmp_path: Path) -> None:
    from trainlab.diag_cli import lr_find_main

    console = Console(record=True, width=200)
    assert lr_find_main(python=f"{target_file}:make", out=tmp_path, steps=50, console=console) == 0
    assert (tmp_path / "lr_find.png").stat().st_size > 0 and (tmp_path / "lr_find.json").exists()
    assert "suggested lr" in console.export_text()
    assert lr_find_main(python=f"{target_file}:make", lr_min=1.0, lr_max=0.1, console=console) == 2


def test_overfit_samples_are_gathered_across_small_batches() -> None:
    torch.manual_seed(0)
    model = mlp()
    small = [(x[:8], y[:8]) for x, y in circles()]
    report = run_doctor(model, torch.optim.Adam(model.parameters(), 1e-2), small, steps=10,
                        overfit_steps=20)
    assert report.overfit is not None and report.overfit.samples == 32
