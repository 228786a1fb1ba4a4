"""`trainlab lab shallow --quick`, run once for the module, checked against the lab's expectations
(issue 3), the summary contract, the JSON Schema and the figures."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import jsonschema
import pytest
import torch

from trainlab.experiments import study as study_mod
from trainlab.experiments.registry import STUDIES, StudyOptions
from trainlab.experiments.shallow import STUDY
from trainlab.experiments.shallow.figures import FIGURES
from trainlab.experiments.shallow.populations import REPORT_VALUES
from trainlab.experiments.shallow.settings import EXACT_SIGMAS, ShallowSettings
from trainlab.experiments.shallow.train import dead_units, run
from trainlab.experiments.study import run_study
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.report.figures import render_figures
from trainlab.report.folder import RunData
from trainlab.runs.schema import load_schema, validate_summary

QUICK_SEEDS = ShallowSettings.quick().seeds
# the study's own fields, and the fields every study's summary shares (experiments.study.finish)
KEYS = {"experiment", "schema_version", "seeds", "sigmas", "picked", "schemes", "data_scaling", "breakers",
        "regime_criteria", "observations", "tables", "figures", "provenance", "seconds", "network",
        "title", "settings", "key_findings", "key_figures", "timing"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("shallow") / "quick"
    summary = run_study(STUDY, out, StudyOptions(quick=True, quiet=True, threads=1, device="cpu"))
    return out, summary


def _sigma(summary: dict, sigma: float) -> dict:
    return next(r for r in summary["sigmas"] if math.isclose(r["sigma"], sigma))


def test_loss_at_init_is_ln2_for_small_sigma(quick):
    _, s = quick
    assert abs(_sigma(s, 0.01)["loss_at_init"]["median"] - math.log(2)) < 0.05
    assert _sigma(s, 10.0)["loss_at_init"]["median"] > 100  # far from the check at large sigma


@pytest.mark.parametrize("sigma,regime", [(1e-3, "stuck"), (0.5, "good"), (10.0, "no_recovery")])
def test_regime_at_sigma(quick, sigma, regime):
    assert _sigma(quick[1], sigma)["regime"] == regime


def test_slow_start_between_005_and_02(quick):
    assert any(r["regime"] == "slow_start" for r in quick[1]["sigmas"] if 0.05 <= r["sigma"] <= 0.2)


def test_summary_keys_and_schema(quick):
    out, s = quick
    assert set(s) == KEYS
    on_disk = json.loads((out / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert on_disk == s
    jsonschema.Draft202012Validator.check_schema(load_schema("shallow.schema.json"))
    validate_summary(on_disk, "shallow.schema.json")
    assert s["experiment"] == "shallow" and s["seeds"] == QUICK_SEEDS
    assert [r["sigma"] for r in s["sigmas"]] == list(EXACT_SIGMAS)
    for r in s["sigmas"]:
        assert {"sigma", "regime", "regime_share", "loss_at_init", "val_acc", "val_loss", "final_train_loss"} <= set(r)
        assert r["val_acc"]["n"] == QUICK_SEEDS and 0 < r["regime_share"] <= 1


def test_schema_rejects_a_broken_summary(quick):
    bad = json.loads(json.dumps(quick[1]))
    bad["sigmas"][0]["regime"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        validate_summary(bad, "shallow.schema.json")


def test_picks_are_ordered_and_labelled(quick):
    s = quick[1]
    p = s["picked"]
    assert p["good"] is not None and _sigma(s, p["good"])["regime"] == "good"
    if p["small"] is not None:
        assert p["small"] < p["good"] and _sigma(s, p["small"])["regime"] == "slow_start"
    if p["large"] is not None:
        assert p["large"] > p["good"] and _sigma(s, p["large"])["regime"] == "no_recovery"


def test_schemes_side_by_side_with_paired_differences(quick):
    schemes = {r["name"]: r for r in quick[1]["schemes"]}
    assert {"xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform"} <= set(schemes)
    he = schemes["kaiming_normal"]
    vs = {p["vs"] for p in he["paired"]}
    assert "xavier_normal" in vs and all(isinstance(p["diff"]["conclusive"], bool) for p in he["paired"])
    assert he["paired"][0]["diff"]["n"] == QUICK_SEEDS


def test_data_scaling(quick):
    rows = quick[1]["data_scaling"]
    lab = [r for r in rows if "factor" in r]
    assert min(r["factor"] for r in lab) == 0.01 and max(r["factor"] for r in lab) == 100
    for r in lab:  # inputs x f == sigma * f^(1/3) at init, on the same seeds
        assert r["init_equivalence_max_rel_diff"] < 1e-4
    names = {r["transform"] for r in rows}
    assert {"centred at (10, 10), raw", "centred at (10, 10), standardized"} <= names
    variant = {r["case"]: r for r in rows if "report_value" in r}
    assert set(variant) == set(REPORT_VALUES)
    for case, r in variant.items():
        assert r["report_value"] == REPORT_VALUES[case] and r["test_acc"]["n"] == QUICK_SEEDS
    assert variant["standardized"]["test_acc"]["median"] > variant["raw"]["test_acc"]["median"]


def test_breakers(quick):
    b = {r["name"]: r for r in quick[1]["breakers"]}
    assert len(b) >= 5 and all(r["note"] for r in b.values())
    assert b["zero init"]["regime"] == "stuck" and b["zero init"]["val_acc"]["median"] == pytest.approx(0.5, abs=0.02)
    assert b["constant init 0.5"]["val_acc_spread"] == 0.0  # symmetry: every seed is the same net
    assert b["lr 10 (100x too high)"]["regime"] == "diverged"


def test_observations_are_computed_strings(quick):
    obs = quick[1]["observations"]
    assert len(obs) >= 5 and all(isinstance(o, str) and o for o in obs)
    assert any("ln 2" in o for o in obs) and any("Picked" in o for o in obs)


def test_figures_written_and_rebuilt_from_the_folder(quick, tmp_path):
    out, s = quick
    assert [f["file"] for f in s["figures"]] == [f.file for f in FIGURES]
    for f in s["figures"]:
        data = (out / f["file"]).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000 and f["caption"]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for f in s["figures"]:
        (copy / f["file"]).unlink()
    figures, notes = render_figures(FIGURES, RunData.load(copy))
    assert figures == s["figures"] and notes == []
    (copy / "curves.npz").unlink()
    figures, notes = render_figures(FIGURES, RunData(copy, s))
    assert "loss_curves.png" not in [f["file"] for f in figures] and any("curves.npz" in n for n in notes)


def test_registered_with_headline(quick):
    study = STUDIES["shallow"]
    assert study.run is run and study.schema == "shallow.schema.json" and study.order == 10
    assert "good" in study.headline(quick[1])


def test_failed_run_leaves_no_folder(tmp_path, monkeypatch):
    def boom(figures, run):
        raise RuntimeError("figure failure")

    monkeypatch.setattr(study_mod, "render_figures", boom)
    out = tmp_path / "study"
    with pytest.raises(RuntimeError, match="figure failure"):
        run_study(STUDY, out, StudyOptions(quick=True, quiet=True, overrides={"shallow": {"seeds": 1}}, threads=1,
                                           device="cpu"))
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bias,scale,expected", [(-10.0, 0.5, 9), (0.0, 0.0, 9), (0.0, 1.0, None)])
def test_dead_units(bias, scale, expected):
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    inits = [MemberInit(s, "normal", scale, "constant", bias) for s in range(4)]
    pop = PopulationMLP.create([2, 6, 3, 2], "relu", inits)
    dead = dead_units(pop, x)
    if expected is None:
        assert (dead < 9).all()
    else:
        assert (dead == expected).all()
