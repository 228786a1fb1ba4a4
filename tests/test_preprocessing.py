"""The preprocessing study: its data's conditioning, the steps-to-target count, a quick run against its
schema, and every verdict rule's sentence flipping with fake summaries."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trainlab.data.transforms import apply_transforms
from trainlab.experiments.preprocessing import STUDY, text
from trainlab.experiments.preprocessing.data import condition, make_conditioned
from trainlab.experiments.preprocessing.summary import CLAIMS, steps_to_target
from trainlab.experiments.preprocessing.train import conditioning
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.study import run_study
from trainlab.report.folder import RunData
from trainlab.runs.schema import validate_summary


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> RunData:
    folder = tmp_path_factory.mktemp("preprocessing") / "run"
    summary = run_study(STUDY, folder, StudyOptions(quick=True, quiet=True, threads=1))
    return RunData(folder, summary)


def test_raw_inputs_have_the_asked_condition_number_and_whitening_removes_it():
    ds = make_conditioned(2000, 100, seed=3, cond=1e3)
    c = conditioning(ds.train.x)
    assert 700 < c["covariance"] < 1400  # sample covariance of 2000 points around the asked 1e3
    assert c["second_moment"] > 3 * c["covariance"]  # the offset inflates what GD on a layer with bias sees
    white = apply_transforms(ds, [{"name": "whiten"}])
    assert conditioning(white.train.x)["covariance"] == pytest.approx(1.0, abs=1e-3)  # fitted on train
    assert condition(np.cov(white.val.x.double().numpy().T)) > 1.0001  # val is transformed, not refitted


def test_steps_to_target_counts_the_first_step_at_or_below_it():
    loss = np.array([[1.0, 1.0, 1.0], [0.5, 0.09, 1.0], [0.1, 0.05, 0.9]])  # rows: after 0, 1, 2 steps
    out = steps_to_target(loss, 0.1)
    assert out[0] == 2 and out[1] == 1 and np.isnan(out[2])


def test_quick_run_writes_a_schema_valid_summary_and_its_figures(quick):
    s = json.loads((quick.folder / "summary.json").read_text())
    validate_summary(s, "preprocessing.schema.json")
    assert [a["name"] for a in s["arms"]] == ["none", "center", "standardize", "pca", "whiten"]
    files = {f["file"] for f in s["figures"]}
    assert {"curves.png", "conditioning.png", "steps_vs_lr.png"} <= files and any(f.startswith("norms") for f in files)
    m, groups = np.load(quick.folder / "metrics.npz"), json.loads((quick.folder / "groups.json").read_text())
    assert list(groups) == [a["label"] for a in s["arms"]]  # one group per transform, at its best lr
    n = len(s["arms"]) * s["task"]["seeds"]
    assert m["weight_norm"].shape == (len(m["steps"]), n, len(s["task"]["sizes"]) - 1)
    assert all((quick.folder / f).stat().st_size > 5000 for f in files)
    assert 3 <= len(s["key_findings"]) <= 5
    assert text.key_findings(RunData.load(quick.folder)) == s["key_findings"]
    by = {a["name"]: a for a in s["arms"]}
    assert by["whiten"]["conditioning"]["covariance"] == pytest.approx(1.0, abs=1e-2)
    assert by["pca"]["conditioning"]["covariance"] == pytest.approx(by["center"]["conditioning"]["covariance"], rel=1e-3)


def _with_claim(summary: dict, cid: str, lo: float, hi: float) -> RunData:
    s = copy.deepcopy(summary)
    claim = next(c for c in s["claims"] if c["id"] == cid)
    claim["difference"] = {"median": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 8}
    return RunData(Path("/nonexistent"), s)


@pytest.mark.parametrize("cid", [c[0] for c in CLAIMS])
@pytest.mark.parametrize("lo,hi,expected", [(-30, -10, "confirmed"), (10, 30, "refuted"), (-10, 10, "inconclusive")])
def test_each_verdict_rule_flips_the_sentence(quick, cid, lo, hi, expected):
    run = _with_claim(quick.summary, cid, lo, hi)
    claim = next(c for c in run.summary["claims"] if c["id"] == cid)
    start = f"\"{claim['claim']}\": {expected} ("
    assert any(line.startswith(start) for line in text.observations(run))
    assert any(line.startswith(start) for line in text.key_findings(run))
    assert [r[3] for r in text.tables(run)[-1]["rows"] if r[0] == claim["claim"]] == [expected]


def _order(summary: dict, steps: dict[str, float]) -> dict:
    s = copy.deepcopy(summary)
    for a in s["arms"]:
        a["rates"][a["best"]]["steps"]["median"] = steps[a["name"]]
    return s


def test_the_conditioning_rule_allows_ties_and_catches_an_inversion(quick):
    ok = _order(quick.summary, {"none": 501, "center": 290, "pca": 280, "standardize": 10, "whiten": 4})
    assert text.follows_conditioning(ok)  # center and PCA: same conditioning, either order
    assert "the order follows" in text.key_findings(RunData(Path("/x"), ok))[0]
    bad = _order(quick.summary, {"none": 501, "center": 290, "pca": 280, "standardize": 10, "whiten": 40})
    assert not text.follows_conditioning(bad)
    assert "the order does not follow" in text.key_findings(RunData(Path("/x"), bad))[0]


def test_members_of_one_seed_share_their_initial_weights_at_every_learning_rate():
    from trainlab.experiments.preprocessing.settings import PreprocessingSettings
    from trainlab.experiments.preprocessing.train import population_config
    from trainlab.members import resolve_members
    from trainlab.runner import build_population

    st = PreprocessingSettings.quick()
    cfg = population_config(st, 3)
    pop = build_population(cfg, resolve_members(cfg), st.dim, 3)
    assert torch.equal(pop.weights[0][0], pop.weights[0][st.seeds])  # seed 0 at the first and the second lr
