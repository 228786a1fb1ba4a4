"""The deep-initialization study: its claims, its theory, and a quick run against the schema."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from trainlab.experiments.deep import STUDY
from trainlab.experiments.deep.measure import init_population, measure_pairs
from trainlab.experiments.deep.settings import INIT_SCHEMES, STUDY_ACTIVATIONS
from trainlab.experiments.deep.summary import DIAGNOSES, diagnose, same_as
from trainlab.experiments.deep.theory import FIRST_MOMENT, SECOND_MOMENT, predict
from trainlab.experiments.registry import STUDIES, StudyOptions
from trainlab.experiments.study import run_study
from trainlab.runs.schema import validate_summary


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _measure(init: tuple[str, float], activation: str, depth: int, width: int, n: int = 1000, d: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return measure_pairs({"it": init}, activation, [d] + [width] * depth + [10], x, y, run_seed=seed)["it"]


@pytest.mark.parametrize("scheme,seed", [("kaiming_normal", 0), ("kaiming_uniform", 1)])
def test_he_relu_keeps_std_within_factor_two_over_50_layers(scheme, seed):
    pair = _measure((scheme, 1.0), "relu", depth=50, width=512, n=300, d=512, seed=seed)
    first, last = pair["act_std"][0], pair["act_std"][-1]
    assert 0.5 < last / first < 2.0, pair["act_std"]
    assert not {"exploding_activations", "vanishing_activations"} & set(pair["diagnosis"])


def test_normal_one_relu_width_100_explodes_by_orders_of_magnitude():
    pair = _measure(("normal", 1.0), "relu", depth=20, width=100)
    first, last = pair["act_std"][0], pair["act_std"][-1]
    assert last / first > 1e10  # sqrt(100 / 2) ~ 7x per layer
    assert "exploding_activations" in pair["diagnosis"]
    # and the theory saw it coming: within a factor 3 at the last layer, 16 orders of magnitude up
    assert 1 / 3 < pair["ratio"][-1] < 3


def test_normal_one_tanh_saturates():
    pair = _measure(("normal", 1.0), "tanh", depth=20, width=100)
    assert min(pair["act_abs_mean"][2:]) > 0.9  # |tanh| pinned near 1 past the first layers
    assert "saturated" in pair["diagnosis"]


def test_sigmoid_with_small_init_reports_vanishing_gradients():
    pair = _measure(("normal", 0.05), "sigmoid", depth=10, width=100)
    assert pair["grad_std"][0] / pair["grad_std"][-1] < 1e-2
    assert "vanishing_gradients" in pair["diagnosis"]
    healthy = _measure(("xavier_normal", 1.0), "tanh", depth=10, width=100)
    assert "vanishing_gradients" not in healthy["diagnosis"]  # the check can stay silent


def test_overflow_is_null_with_flag_in_the_pair_block():
    pair = _measure(("normal", 1.0), "relu", depth=45, width=256, n=200)
    nulls = [i for i, v in enumerate(pair["act_std"]) if v is None]
    assert nulls, "N(0,1)+ReLU at 45x256 should overflow float32"
    assert all(pair["flags"]["act_std"][i] in ("overflow", "nan") for i in nulls)
    assert len(pair["act_std"]) == 45 and "overflow" in pair["diagnosis"]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "elu", "selu", "gelu", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("q", [0.3, 4.0])
def test_theory_moments_match_monte_carlo(activation, q):
    from trainlab.nn.activations import ACTIVATIONS

    z = torch.randn(2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * math.sqrt(q)
    a = ACTIVATIONS[activation].apply(z, None)
    assert SECOND_MOMENT[activation](np.array([q]))[0] == pytest.approx(float((a * a).mean()), rel=5e-3)
    assert FIRST_MOMENT[activation](np.array([q]))[0] == pytest.approx(float(a.mean()), rel=5e-3, abs=2e-3)


@pytest.mark.parametrize("init,activation", [("xavier_normal", "tanh"), ("kaiming_normal", "relu"),
                                             ("lecun_normal", "selu"), ("xavier_uniform", "sigmoid")])
def test_theory_predicts_measured_preact_variance(init, activation):
    pair = _measure((init, 1.0), activation, depth=15, width=256, n=1000, d=128)
    r = np.array(pair["ratio"])
    assert np.all((r > 0.6) & (r < 1.6)), r


def test_theory_does_not_claim_lsuv():
    assert predict("lsuv", "relu", [4, 8, 8], torch.randn(10, 4)) is None


def test_he_normal_at_gain_one_is_lecun_normal_exactly():
    for act in STUDY_ACTIVATIONS:
        src = same_as("he_normal", act)
        members = [(*INIT_SCHEMES["he_normal"], 3), (*INIT_SCHEMES["lecun_normal"], 3)]
        pop, _ = init_population([4, 16, 16, 2], act, members, torch.randn(8, 4), run_seed=0)
        identical = all(torch.equal(w[0], w[1]) for w in pop.weights)
        assert identical == (src == "lecun_normal"), act


def test_every_diagnosis_code_is_in_the_schema():
    schema = json.loads((__import__("importlib.resources").resources.files("trainlab.runs") / "schemas" / "deep.schema.json").read_text())
    assert set(schema["$defs"]["pair"]["properties"]["diagnosis"]["items"]["enum"]) == set(DIAGNOSES)


def _strict_json(path):
    def refuse(token):
        raise ValueError(f"non-JSON number {token}")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_quick_study_writes_valid_summary_and_figures(tmp_path):
    summary = run_study(STUDY, tmp_path / "deep", StudyOptions(quick=True, quiet=True, threads=1))
    folder = tmp_path / "deep"
    on_disk = _strict_json(folder / "summary.json")
    validate_summary(on_disk, "deep.schema.json")
    assert on_disk["experiment"] == "deep" and summary["setups"] == on_disk["setups"]
    for fig in on_disk["figures"]:
        assert (folder / fig["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(on_disk["figures"]) >= 10
    for setup in on_disk["setups"]:
        assert len(setup["pairs"]) == len(INIT_SCHEMES) * len(STUDY_ACTIVATIONS)
        for pair in setup["pairs"]:
            for key, vals in pair.items():
                if key in ("act_std", "grad_std", "act_grad_std", "preact_var") and None in vals:
                    assert pair["flags"][key][vals.index(None)] in ("overflow", "nan")
            assert (pair["trainable"] is not None) == (setup["name"] == "lab")
    report = on_disk["setups"][1]
    naive = next(p for p in report["pairs"] if p["init"] == "N(0,1)" and p["activation"] == "relu")
    first = naive["act_std"].index(None)  # float32 overflows first (inf), then inf - inf makes NaN
    assert naive["flags"]["act_std"][first] == "overflow" and naive["act_std"][-1] is None
    assert {"overflow", "nan"} >= set(naive["flags"]["act_std"][first:])
    assert any("N(0,1)+relu" in o for o in on_disk["observations"])
    assert on_disk["he_claim"]["verdicts"] and STUDIES["deep"].headline(on_disk)
    assert not list(tmp_path.glob(".deep*"))  # the atomic temporary folder is gone


def test_diagnose_is_silent_on_a_healthy_pair():
    pair = _measure(("kaiming_normal", 1.0), "relu", depth=10, width=128)
    assert diagnose(pair) == []


def _run(init, lr, reached_median, hit, seeds=6):
    return {"init": init, "lr": lr, "seeds": seeds, "reached_acc": {"median": reached_median},
            "steps_to_90": {"n": hit, "median": 50 if hit else None}}


@pytest.mark.parametrize("he_hit,xa_hit,verdict", [(6, 1, "supported"), (6, 6, "not supported: both train"),
                                                   (2, 3, "not supported: neither trains"),
                                                   (1, 5, "reversed: only Xavier trains")])
def test_he_claim_verdict_follows_reaching_the_target_not_the_last_step(he_hit, xa_hit, verdict):
    from trainlab.experiments.deep.summary import verdicts

    # final accuracies that would say the opposite: the verdict must not read them
    runs = [_run("he_normal", 0.01, 0.5, he_hit), _run("xavier_normal", 0.01, 0.95, xa_hit)]
    (v,) = verdicts(runs, (0.01,))
    assert v["verdict"] == verdict and v["xavier_reached_acc"] == 0.95
