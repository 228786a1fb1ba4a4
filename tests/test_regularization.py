"""The regularization study: a quick run against its schema, its figures, and every verdict rule's
sentence flipping with fake summaries on either side of it and across it."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.regularization import STUDY, text
from trainlab.experiments.regularization.settings import ARMS, RegularizationSettings
from trainlab.experiments.regularization.train import configurations
from trainlab.experiments.study import run_study
from trainlab.report.folder import RunData
from trainlab.runs.schema import validate_summary


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> RunData:
    folder = tmp_path_factory.mktemp("regularization") / "run"
    threads = torch.get_num_threads()
    try:
        summary = run_study(STUDY, folder, StudyOptions(quick=True, quiet=True, threads=1))
    finally:
        torch.set_num_threads(threads)
    return RunData(folder, summary)


def test_quick_run_writes_a_schema_valid_summary_and_its_figures(quick):
    s = json.loads((quick.folder / "summary.json").read_text())
    validate_summary(s, "regularization.schema.json")
    assert [a["name"] for a in s["arms"]] == [a.name for a in ARMS]
    files = {f["file"] for f in s["figures"]}
    assert {"sweep_val_loss.png", "boundaries.png", "claims.png", "curves.png", "weights.png", "norms.png"} <= files
    m, groups = np.load(quick.folder / "metrics.npz"), json.loads((quick.folder / "groups.json").read_text())
    assert len(groups) == len(ARMS) + 2  # SGD's and Adam's baselines, and each arm at its best strength
    assert m["weight_norm"].shape == (len(m["steps"]), len(groups) * s["settings"]["seeds"], 3)  # 2-256-256-2
    assert all((quick.folder / f).stat().st_size > 5000 for f in files)
    assert 3 <= len(s["key_findings"]) <= 5 and set(s["key_figures"]) <= files
    assert text.key_findings(RunData.load(quick.folder)) == s["key_findings"]  # words rebuilt from the folder


def test_every_arm_has_at_least_five_strengths_and_shares_seeds_with_its_baseline():
    st = RegularizationSettings()
    for arm in ARMS:
        vals = st.strengths(arm)
        assert len(vals) >= 5 and max(vals) / min(vals) >= 10, arm.name  # a log range: under- to over-regularized
    names = [c.arm for c in configurations(st)]
    assert names.count("none") == 2  # SGD's and Adam's (AdamW at decay 0 is Adam)


def test_max_norm_bound_holds_in_the_study(quick):
    mn = next(a for a in quick.summary["arms"] if a["name"] == "max_norm")
    for i in mn["configs"]:
        c = quick.summary["configs"][i]
        assert c["max_unit_norm"]["hi"] <= c["strength"] * (1 + 1e-5)


def _with(summary: dict, cid: str, lo: float, hi: float) -> RunData:
    s = copy.deepcopy(summary)
    claim = next(c for c in s["claims"] if c["id"] == cid)
    claim["difference"] = {"median": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 8}
    return RunData(Path("/nonexistent"), s)  # the words read the summary only


CASES = {  # claim id -> intervals giving confirmed, refuted, inconclusive
    "overfits": ((0.1, 0.3), (-0.3, -0.1), (-0.1, 0.1)),
    "l1_sparser": ((0.1, 0.3), (-0.3, -0.1), (-0.1, 0.1)),
    "adamw_beats_adam_l2": ((-0.3, -0.1), (0.1, 0.3), (-0.1, 0.1)),
    "sgd_wd_is_l2": ((-1e-6, 1e-6), (5.0, 6.0), (-1e-6, 5.0)),
    **{f"{a.name}_helps": ((-0.3, -0.1), (0.1, 0.3), (-0.1, 0.1)) for a in ARMS},
}


@pytest.mark.parametrize("cid", list(CASES))
@pytest.mark.parametrize("which", [0, 1, 2])
def test_each_verdict_rule_flips_the_sentence(quick, cid, which):
    lo, hi = CASES[cid][which]
    expected = ("confirmed", "refuted", "inconclusive")[which]
    run = _with(quick.summary, cid, lo, hi)
    claim = next(c for c in run.summary["claims"] if c["id"] == cid)
    said = [line for line in text.observations(run) if line.startswith(f"\"{claim['claim']}\"")]
    assert said and said[0].startswith(f"\"{claim['claim']}\": {expected} ("), said
    if cid.endswith("_helps"):
        arm = next(a for a in run.summary["arms"] if f"{a['name']}_helps" == cid)
        assert arm["label"] in text.helped(run.summary)[expected]
        assert any(row[0] == arm["label"] and row[-1] == expected for row in text.tables(run)[0]["rows"])
    elif cid != "overfits":
        assert any(line.startswith(f"\"{claim['claim']}\": {expected}") for line in text.key_findings(run))
    else:
        assert text.key_findings(run)[0].endswith(f"overfitting {expected}.")


def _arm_ends(summary: dict, name: str) -> tuple[dict, dict, dict, dict]:
    arm = next(a for a in summary["arms"] if a["name"] == name)
    cfg = summary["configs"]
    return arm, cfg[arm["configs"][0]], cfg[arm["configs"][-1]], cfg[arm["best"]]


def _stat(median: float, lo: float, hi: float) -> dict:
    return {"median": median, "lo": lo, "hi": hi, "n": 8}


@pytest.mark.parametrize("weak_overlaps,strong_above,words", [
    (True, True, ("(as without regularization)", "underfits")),
    (False, False, ("(already differs)", "still fits")),
])
def test_the_ends_of_an_arm_are_named_by_rule(quick, weak_overlaps, strong_above, words):
    s = copy.deepcopy(quick.summary)
    arm, weak, strong, best = _arm_ends(s, "l2")
    base = s["configs"][arm["baseline"]]
    base["val_loss"] = _stat(0.5, 0.4, 0.6)
    weak["val_loss"] = _stat(0.55, 0.45, 0.65) if weak_overlaps else _stat(0.2, 0.1, 0.3)
    best["val_loss"] = _stat(0.3, 0.25, 0.35)
    strong["val_loss"] = _stat(0.7, 0.6, 0.8)
    strong["train_loss"] = _stat(0.6, 0.5, 0.7) if strong_above else _stat(0.1, 0.05, 0.15)
    line = next(o for o in text.observations(RunData(Path("/x"), s)) if o.startswith(arm["label"] + ": weakest"))
    assert words[0] in line and words[1] in line, line


@pytest.mark.parametrize("top,word", [(0.999, "the bound holds"), (1.2, "above the bound c")])
def test_the_max_norm_sentence_compares_the_largest_unit_norm_with_c(quick, top, word):
    s = copy.deepcopy(quick.summary)
    arm, _, tight, _ = _arm_ends(s, "max_norm")
    tight["strength"] = 1.0
    tight["max_unit_norm"] = _stat(0.9, 0.8, top)
    line = next(o for o in text.observations(RunData(Path("/x"), s)) if o.startswith("max-norm at c=1:"))
    assert line.endswith(word), line
