"""`trainlab lab optimizers` (seed 001): a quick run against the schema, the lr search's choice, the
paired blocks, and every verdict rule (simple and compound) flipping its sentence on fake intervals."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from claim_cases import CASES, faked
from trainlab.experiments.optimizers import STUDY, text
from trainlab.experiments.optimizers.settings import OptimizersSettings
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.study import run_study
from trainlab.norms import NORM_KEYS
from trainlab.report.folder import RunData
from trainlab.runs.schema import validate_summary


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("optimizers") / "study"
    summary = run_study(STUDY, out, StudyOptions(quick=True, quiet=True, threads=1))
    return out, summary


def test_defaults_cover_the_issue():
    st = OptimizersSettings()
    assert st.optimizers == ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
    assert st.datasets == ("gaussians5", "rings", "xor", "moons") and st.seeds == 8
    assert len(st.lr_grid) == 9 and st.search_steps == st.steps // 10 and st.shared_lr == 0.01
    assert OptimizersSettings.quick().seeds == 3


def test_quick_run_validates_and_writes_its_figures(study):
    out, summary = study
    validate_summary(summary, "optimizers.schema.json")
    validate_summary(json.loads((out / "summary.json").read_text()), "optimizers.schema.json")
    files = {f["file"] for f in summary["figures"]}
    assert {"loss_curves.png", "lr_search.png", "xor_loss.png", "depth.png", "init.png", "norms_gaussians5.png",
            "norms_moons.png"} <= files
    for f in files:
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 3 <= len(summary["key_findings"]) <= 5


def test_the_search_chooses_the_lowest_median_and_blocks_are_paired(study):
    out, summary = study
    groups = json.loads((out / "groups.json").read_text())
    for d in summary["datasets"]:
        with np.load(out / f"metrics_{d['name']}.npz") as z:
            assert z["weight_norm"].shape[1:] == (6 * 3 * 3, 3) and all(k in z.files for k in NORM_KEYS)
            w0 = z["weight_norm"][0]
            for o in d["optimizers"]:
                med = [np.inf if s["median"] is None else s["median"] for s in o["search"]["loss"]]
                assert o["chosen_lr"] == o["search"]["lrs"][int(np.argmin(med))]
                g = groups[d["name"]][o["name"]]
                # same seeds and scheme: the same weights at init in every optimizer and block
                assert np.array_equal(w0[g["best_he"]], w0[groups[d["name"]]["sgd"]["best_he"]])
                assert np.array_equal(w0[g["best_he"]], w0[g["shared"]])
                assert not np.array_equal(w0[g["best_he"]], w0[g["best_xavier"]])


SIMPLE = [("adam_faster", 0), ("adam_faster", -1), ("xor_loss", 0), ("xor_loss", 1), ("init", 0), ("depth_gain", None)]


def _tables_text(run: RunData) -> list[list]:
    return [row for t in text.tables(run)[2:] for row in t["rows"]]


@pytest.mark.parametrize("kind,index", SIMPLE)
@pytest.mark.parametrize("case", CASES)
def test_each_simple_verdict_rule_flips_its_sentence(study, kind, index, case):
    out, summary = study
    fake = copy.deepcopy(summary)
    if index is None:
        fake["claims"][kind] = record = faked(fake["claims"][kind], case)
    else:
        fake["claims"][kind][index] = record = faked(fake["claims"][kind][index], case)
    run = RunData(out, fake)
    row = next(r for r in _tables_text(run) if r[0] == record["claim"])
    assert row[-1] == case
    if kind == "xor_loss" and index == 0:
        assert f"\"{record['claim']}\": {case} (" in " ".join(text.key_findings(run))
    if kind == "adam_faster":  # the key finding counts them
        fake["claims"][kind] = [faked(c, case) for c in fake["claims"][kind]]
        words = " ".join(text.key_findings(RunData(out, fake)))
        n = sum(1 for c in fake["claims"][kind] if "/shared/" in c["id"])
        assert f"{n if case == 'confirmed' else 0} of {n} comparisons" in words and f"{n} {case}" in words


@pytest.mark.parametrize("case", CASES)
def test_compound_rules_flip_their_sentences(study, case):
    out, summary = study
    fake = copy.deepcopy(summary)
    fake["claims"]["depth"] = faked(fake["claims"]["depth"], case)
    fake["claims"]["norms"] = [faked(c, case) for c in fake["claims"]["norms"]]
    words = " ".join(text.key_findings(RunData(out, fake)))
    assert f"\"below 80%, then above 90%\" is {case} (" in words
    n = len(fake["claims"]["norms"]) // 2
    assert f"weight norms: {n if case == 'confirmed' else 0} confirmed, {n if case == 'refuted' else 0} refuted" in words


@pytest.mark.parametrize("parts,expected", [
    (("confirmed", "confirmed"), "confirmed"),
    (("confirmed", "refuted"), "refuted"),  # one part against the claim refutes it
    (("confirmed", "inconclusive"), "inconclusive"),
    (("inconclusive", "refuted"), "refuted"),
])
def test_a_compound_claim_needs_every_part(study, parts, expected):
    out, summary = study
    fake = copy.deepcopy(summary)
    rec = fake["claims"]["depth"]
    rec["parts"] = [faked(p, case) for p, case in zip(rec["parts"], parts)]
    assert text.compound_verdict(rec) == expected
    assert f"is {expected} (" in " ".join(text.key_findings(RunData(out, fake)))
