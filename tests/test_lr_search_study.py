"""`trainlab lab lr-search`: a quick run against the schema, the staged search carrying each stage's
best into the next, and every sentence rule flipping with the numbers."""
from __future__ import annotations

import copy
import csv
import json
from collections import defaultdict

import numpy as np
import pytest

from claim_cases import CASES, faked
from trainlab.errors import UsageError
from trainlab.experiments.lr_search import STUDY, text
from trainlab.experiments.lr_search.settings import LrSearchSettings
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.study import run_study
from trainlab.report.folder import RunData
from trainlab.runs.schema import validate_summary


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("lr-search") / "study"
    summary = run_study(STUDY, out, StudyOptions(quick=True, quiet=True, threads=1))
    return out, summary


def test_quick_run_validates_and_writes_its_figures(study):
    out, summary = study
    validate_summary(summary, "lr-search.schema.json")
    validate_summary(json.loads((out / "summary.json").read_text()), "lr-search.schema.json")
    assert [d["name"] for d in summary["datasets"]] == ["gaussians5", "moons"]
    files = {f["file"] for f in summary["figures"]}
    assert {"lr_search.png", "stages.png"} <= files and summary["key_figures"] == ["lr_search.png", "stages.png"]
    for f in files:
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 3 <= len(summary["key_findings"]) <= 5
    for d in summary["datasets"]:  # each search is a trainlab sweep folder of its own
        modes = {s: json.loads((out / "sweeps" / d["name"] / s / "sweep.json").read_text())["mode"]
                 for s in ("staged", "coarse-to-fine")}
        assert modes == {"staged": "stages", "coarse-to-fine": "coarse_to_fine"}
        assert [s["name"] for s in d["staged"]["stages"]] == ["stage1", "stage2", "stage3"]
        assert [s["name"] for s in d["coarse_to_fine"]["stages"]] == ["coarse", "fine"]
        assert d["coarse_to_fine"]["stages"][0]["steps"] == summary["setup"]["coarse_steps"]


def _members(folder) -> list[dict]:
    with open(folder / "members.csv", newline="") as f:
        return list(csv.DictReader(f))


def _medians(rows: list[dict], stage: str) -> dict[int, float]:
    by = defaultdict(list)
    for r in rows:
        if r["stage"] == stage:
            by[int(r["config"])].append(float(r["final_val_loss"]))
    return {c: float(np.median(v)) for c, v in by.items()}


def _seeds(rows: list[dict], stage: str, config: int) -> dict[int, float]:
    return {int(r["seed"]): float(r["final_val_loss"]) for r in rows if r["stage"] == stage and int(r["config"]) == config}


def test_staged_winner_carried_is_the_previous_stage_best(study):
    out, summary = study
    for d in summary["datasets"]:
        folder = out / "sweeps" / d["name"] / "staged"
        sweep, rows = json.loads((folder / "summary.json").read_text()), _members(folder)
        stages = sweep["stages"]
        for prev, cur, block in zip(stages, stages[1:], d["staged"]["stages"][1:]):
            med = _medians(rows, prev["name"])
            best = min(med, key=med.get)  # recomputed from the member rows
            assert prev["winner"]["config"] == best
            assert cur["fixed"] == {**prev["fixed"], **prev["winner"]["values"]} == block["fixed"]
            # the carried configuration trained again in this stage gives the previous winner's numbers,
            # seed by seed: the carried values really were the ones trained
            carried = [c for c in _medians(rows, cur["name"])
                       if all(json.loads(r["model.hidden"]) == block["carried"].get("model.hidden")
                              if k == "model.hidden" else r[k] == str(block["carried"][k])
                              for r in rows if r["stage"] == cur["name"] and int(r["config"]) == c
                              for k in block["keys"])]
            assert len(carried) == 1, (d["name"], cur["name"])
            again, before = _seeds(rows, cur["name"], carried[0]), _seeds(rows, prev["name"], best)
            assert again.keys() == before.keys()
            assert all(abs(again[s] - before[s]) <= 1e-6 for s in again)


def test_coarse_to_fine_refines_around_the_coarse_pick(study):
    out, summary = study
    for d in summary["datasets"]:
        coarse, fine = d["coarse_to_fine"]["stages"]
        rows = _members(out / "sweeps" / d["name"] / "coarse-to-fine")
        med = _medians(rows, "coarse")
        assert coarse["winner"]["config"] == min(med, key=med.get)
        lrs = sorted({float(r["optim.lr"]) for r in rows if r["stage"] == "fine"})
        pick = coarse["winner"]["values"]["optim.lr"]
        assert len(lrs) == 12 and lrs[0] < pick * 1.0001 and lrs[-1] > pick * 0.9999
        assert d["coarse_to_fine"]["coarse"]["coarse_lr"] == pick


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["fine_vs_grid", "staged_vs_fine"])
def test_tally_sentences_flip_with_the_intervals(study, kind, case):
    out, summary = study
    fake = copy.deepcopy(summary)
    fake["claims"] = [faked(c, case) if c["id"].endswith("/" + kind) else c for c in fake["claims"]]
    run = RunData(out, fake)
    finding = text.key_findings(run)[3 if kind == "fine_vs_grid" else 4]
    n = len(fake["datasets"])
    assert f"on {n if case == 'confirmed' else 0} of {n} data sets" in finding and f"{n} {case}" in finding
    obs = " ".join(text.observations(run))
    assert all(f"\"{c['claim']}\": {case} (" in obs for c in fake["claims"] if c["id"].endswith("/" + kind))
    assert f"{'staged beats fine' if kind == 'staged_vs_fine' else 'fine beats grid'} " \
           f"{n if case == 'confirmed' else 0}/{n} confirmed" in text.headline(fake)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("moved", [True, False])
def test_stage_sentence_flips_with_moves_and_intervals(study, case, moved):
    out, summary = study
    fake = copy.deepcopy(summary)
    fake["claims"] = [faked(c, case) if c["id"].endswith("/stage2") else c for c in fake["claims"]]
    for d in fake["datasets"]:
        d["staged"]["stages"][1]["moved"] = moved
    s = text.stages_finding(fake)
    n = len(fake["datasets"])
    assert (f"stage 2 (depth and activation) left the configuration carried into it on {n if moved else 0} of {n} "
            f"data sets") in s
    assert f"with a lower validation loss confirmed on {n if case == 'confirmed' else 0}" in s.split("; stage 3")[0]


def test_lr_sentence_says_whether_one_lr_wins_everywhere(study):
    out, summary = study
    fake = copy.deepcopy(summary)
    for d in fake["datasets"]:
        d["staged"]["stages"][0]["winner"]["values"]["optim.lr"] = 0.01
    assert text.lr_finding(fake).startswith("The same lr, 0.01, wins the lr stage on every data set")
    fake["datasets"][0]["staged"]["stages"][0]["winner"]["values"]["optim.lr"] = 0.1
    s = text.lr_finding(fake)
    assert s.startswith("No single lr wins the lr stage everywhere: from 0.01") and "10x apart" in s


def test_coarse_sentence_flips_with_agreement_and_ties(study):
    out, summary = study
    fake = copy.deepcopy(summary)
    recs = [d["coarse_to_fine"]["coarse"] for d in fake["datasets"]]
    for r in recs:
        r.update(same=True, tie_at_full=None, gap_at_full=None)
    n = len(recs)
    assert text.coarse_finding(fake).endswith(f"lr on {n} of {n} data sets.")
    gap = {"median": 0.02, "lo": 0.01, "hi": 0.03, "n": 3}
    recs[0].update(same=False, coarse_lr=0.1, grid_lr=0.01, tie_at_full=False, gap_at_full=gap)
    s = text.coarse_finding(fake)
    assert f"lr on {n - 1} of {n} data sets" in s and "picked 0.1 against 0.01, which at full length is worse" in s
    recs[0]["tie_at_full"] = True
    assert "which at full length ties with the best there" in text.coarse_finding(fake)


def test_words_are_rebuilt_from_the_folder_alone(study):
    out, summary = study
    run = RunData.load(out)
    assert text.key_findings(run) == summary["key_findings"]
    assert text.observations(run) == summary["observations"]
    assert text.tables(run) == summary["tables"]


@pytest.mark.parametrize("overrides, word", [({"lr_low": 0.0}, "lr_low < lr_high"), ({"datasets": "spirals"}, "spirals"),
                                             ({"optimizers": "adam,adam"}, "once"), ({"steps": 5}, "steps")])
def test_bad_settings_are_usage_errors(overrides, word):
    with pytest.raises(UsageError, match=word):
        LrSearchSettings.resolve(False, overrides)


def test_flat_optimum_sentence_counts_the_fine_ties(study):
    out, summary = study
    fake = copy.deepcopy(summary)
    for d in fake["datasets"]:
        d["coarse_to_fine"]["stages"][-1]["ties"] = 0
    n = sum(d["coarse_to_fine"]["stages"][-1]["configs"] - 1 for d in fake["datasets"])
    assert f"Within the fine stages, 0 of {n} lrs tie" in text.key_findings(RunData(out, fake))[3]
    fake["datasets"][0]["coarse_to_fine"]["stages"][-1]["ties"] = 5
    assert f"Within the fine stages, 5 of {n} lrs tie" in text.key_findings(RunData(out, fake))[3]
